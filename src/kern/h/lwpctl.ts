/* LWP control blocks (sys/lwpctl.h): the blocks, their pages and a process's area; lwpctl.ts acts on them. */
import { LWPCTL_CPU_NONE } from '../param.ts';
import { KMutex } from './mutex.ts';
import type { Proc } from './proc.ts';

/** lwpctl_t: what the LWP reads.  curcpu is a CPU index, LWPCTL_CPU_NONE or LWPCTL_CPU_EXITED. */
export interface LwpCtl {
  curcpu: number;
  pctr: number;
}

export const PAGE_SIZE = 4096;
/** sizeof(lwpctl_t). */
export const LWPCTL_SIZE = 8;
/** Blocks in a page, and pages in a process's area (sys/lwp.h). */
export const LWPCTL_PER_PAGE = (PAGE_SIZE / LWPCTL_SIZE) & ~31;
export const LWPCTL_UAREA_PAGES = Math.ceil((8000 * LWPCTL_SIZE) / PAGE_SIZE);

/** The area's shape: blocks per page (a multiple of 32) and pages. */
export interface LwpctlGeometry {
  readonly perPage: number;
  readonly pages: number;
}

/** lcpage_t: one page of blocks. */
export class LcPage {
  /** Set bit = free block; 32 blocks a word. */
  readonly bitmap: Uint32Array;
  readonly blocks: LwpCtl[] = [];
  nfree: number;
  rotor = 0;
  constructor(readonly uaddr: number, readonly perPage: number) {
    this.bitmap = new Uint32Array(perPage >>> 5).fill(0xffffffff);
    this.nfree = perPage;
    for (let i = 0; i < perPage; i++) this.blocks.push({ curcpu: LWPCTL_CPU_NONE, pctr: 0 });
  }
}

/** lcproc_t: a process's lwpctl area. */
export class LcProc {
  readonly lock: KMutex;
  /** Pages in use, the one to allocate from first at the head. */
  pages: LcPage[] = [];
  /** Base of the area in the process's address space, once mapped (lp_uva; 0: not yet). */
  uva = 0;
  /** Bytes of the area handed out to pages so far (lp_cur), and its size (lp_max). */
  cur = 0;
  max = 0;
  /** Blocks a page, fixed when the area is set up. */
  perPage = LWPCTL_PER_PAGE;
  constructor(p: Proc) {
    this.lock = new KMutex(`proc${p.pid}.lp_lock`, false);
  }
}
