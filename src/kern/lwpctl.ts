/*
 * LWP control blocks (kern_lwp.c 1.172): a small block of memory shared
 * between the kernel and one LWP, in which the kernel publishes which CPU
 * the LWP is on (lc_curcpu) and how often it was switched in (lc_pctr).
 * libpthread reads the block of a mutex's owner to decide whether to spin
 * (the owner is on a CPU and will soon let go) or to park.
 *
 * Models lwp_ctl_alloc, lwp_ctl_free, lwp_ctl_exit and the updates of the
 * block's fields made by mi_switch, lwp_exit and lwp_exit_switchaway (the
 * calls sit in synch.ts and lwp.ts).
 *
 * Allocation, per process: an area of LWPCTL_UAREA_PAGES pages is reserved
 * (mapped) the first time any LWP asks; pages are added to it one at a
 * time, newest at the head of p.lwpctl.pages; each page holds
 * LWPCTL_PER_PAGE blocks and a bitmap of free ones (a set bit is free),
 * scanned in 32-bit words from a rotor that remembers where the last
 * allocation was.  ENOMEM once every page of the area is in use and full.
 * A block goes back to its page when its LWP is freed (lwp_ctl_free; a page
 * with space moves to the head of the list if the head page is full), and
 * everything goes when the process exits (lwp_ctl_exit, by its last LWP).
 * A block handed out again is the same object: as with shared memory, a
 * program that kept the block of a freed LWP sees the new owner's values.
 * lc_pctr is not reset on reuse (the seed does not clear it either).
 *
 * The geometry follows sys/lwp.h: 4 KiB pages of 8-byte blocks (512 a
 * page, in 16 bitmap words), and an area of round_page(MAX_LWP_PER_PROC *
 * 8) = 16 pages.  setLwpctlGeometry shrinks it for tests (the ENOMEM path
 * would otherwise need 8192 live LWPs).
 *
 * Locks: p.lwpctl.lock (lp_lock) covers the pages, bitmaps and rotors;
 * p.lock covers setting p.lwpctl.  A block's fields are written only by its
 * own LWP's CPU with the LWP on its way on or off it, and read by anyone.
 *
 * EBUSY in a vfork child (PL_PPWAIT) is checked as the seed does, but no
 * process ever has PL_PPWAIT set: the model has no vfork.
 */
import type { Gen } from '../engine/coroutine.ts';
import type { Kernel } from './h/kernel.ts';
import type { Lwp } from './h/lwp.ts';
import { EBUSY, EINVAL, ENOMEM } from './errno.ts';
import { mutexEnter, mutexExit } from './mutex.ts';
import { kassert } from './panic.ts';
import { LWPCTL_CPU_EXITED, LWPCTL_CPU_NONE, PL_PPWAIT } from './param.ts';
import {
  LWPCTL_PER_PAGE, LWPCTL_SIZE, LWPCTL_UAREA_PAGES, LcPage, LcProc, type LwpCtl, type LwpctlGeometry,
  PAGE_SIZE,
} from './h/lwpctl.ts';

/** The geometry kernel k allocates with. */
export function lwpctlGeometry(k: Kernel): LwpctlGeometry {
  return k.lwpctlGeometry ?? { perPage: LWPCTL_PER_PAGE, pages: LWPCTL_UAREA_PAGES };
}

/** Shrink (or grow) the lwpctl area of processes that have not allocated one yet.  For tests. */
export function setLwpctlGeometry(k: Kernel, g: LwpctlGeometry): void {
  if (!Number.isInteger(g.perPage) || g.perPage < 32 || g.perPage % 32 !== 0) throw new RangeError('perPage must be a positive multiple of 32');
  if (!Number.isInteger(g.pages) || g.pages < 1) throw new RangeError('pages must be a positive integer');
  k.lwpctlGeometry = Object.freeze({ ...g });
}

/** Where the model "maps" lwpctl areas: a made-up user address, the same for every process. */
const LWPCTL_UVA = 0x7f7ff0000000;

/** The result of lwp_ctl_alloc: an errno and, on success, the block and its user address. */
export interface CtlAlloc {
  error: number;
  ctl: LwpCtl | null;
  uaddr: number;
}

/**
 * lwp_ctl_alloc: give curlwp l its control block, allocating one the first
 * time.  Called with nothing locked.  Returns EBUSY in a vfork child,
 * ENOMEM when the process's area is full, else the block (the same one on
 * every later call) with curcpu set to the CPU l runs on.
 */
export function* lwpCtlAlloc(l: Lwp): Gen<CtlAlloc> {
  const k = l.k;
  const p = l.proc;
  kassert(l === k.curlwp(), 'lwp_ctl_alloc: not curlwp');
  if ((p.lflag & PL_PPWAIT) !== 0) return { error: EBUSY, ctl: null, uaddr: 0 };
  if (l.lcpage !== null) {
    // Asked again: 1.172 hands back the same block; 1.69.2.6 said EINVAL.
    if (!k.personality.lwpctlAllocAgainOk) return { error: EINVAL, ctl: null, uaddr: 0 };
    return { error: 0, ctl: l.lwpctl, uaddr: uaddrOf(l.lcpage, l.lwpctl!) };
  }

  // First time in this process: set up the header, racing our siblings for it.
  if (p.lwpctl === null) {
    const fresh = new LcProc(p);
    yield* mutexEnter(k, p.lock);
    if (p.lwpctl === null) p.lwpctl = fresh;
    mutexExit(k, p.lock);
  }
  const lp = p.lwpctl!;

  yield* mutexEnter(k, lp.lock);
  if (lp.uva === 0) {
    // Reserve the area in the process's address space (uao_create + uvm_map).
    const geo = lwpctlGeometry(k);
    lp.uva = LWPCTL_UVA;
    lp.cur = 0;
    lp.max = geo.pages * PAGE_SIZE;
    lp.perPage = geo.perPage;
  }
  let lcp = lp.pages.find((pg) => pg.nfree !== 0);
  if (lcp === undefined) {
    // Nothing free: wire the next page of the area, if there is one.
    if (lp.cur === lp.max) {
      mutexExit(k, lp.lock);
      return { error: ENOMEM, ctl: null, uaddr: 0 };
    }
    lcp = new LcPage(lp.uva + lp.cur, lp.perPage);
    lp.cur += PAGE_SIZE;
    lp.pages.unshift(lcp);
  }
  // Scan from the rotor for a word with a free block; nfree != 0 guarantees one.
  const nwords = lcp.bitmap.length;
  let i = lcp.rotor;
  while (lcp.bitmap[i] === 0) if (++i >= nwords) i = 0;
  const word = lcp.bitmap[i]!;
  const bit = 31 - Math.clz32(word & -word); // ffs - 1
  lcp.bitmap[i] = word ^ (1 << bit);
  lcp.rotor = i;
  lcp.nfree--;
  const offset = (i << 5) + bit;
  l.lcpage = lcp;
  l.lwpctl = lcp.blocks[offset]!;
  mutexExit(k, lp.lock);

  l.lwpctl.curcpu = k.curcpu()!.index;
  return { error: 0, ctl: l.lwpctl, uaddr: uaddrOf(lcp, l.lwpctl) };
}

function uaddrOf(lcp: LcPage, ctl: LwpCtl): number {
  return lcp.uaddr + lcp.blocks.indexOf(ctl) * LWPCTL_SIZE;
}

/**
 * lwp_ctl_free: give dead LWP l's block back to its page.  Called from
 * lwp_free with nothing locked, once l is off its CPU.  In a vfork child the
 * block was borrowed from the parent and is only forgotten.
 */
export function* lwpCtlFree(l: Lwp): Gen<void> {
  const k = l.k;
  const p = l.proc;
  kassert(l.lwpctl !== null && l.lcpage !== null, 'lwp_ctl_free: no lwpctl');
  if ((p.lflag & PL_PPWAIT) !== 0) {
    l.lwpctl = null;
    return;
  }
  const lp = p.lwpctl;
  kassert(lp !== null, 'lwp_ctl_free: process has no lwpctl area');
  const lcp = l.lcpage;
  const offset = lcp.blocks.indexOf(l.lwpctl);
  kassert(offset >= 0 && offset < lcp.perPage, 'lwp_ctl_free: block not on its page');

  yield* mutexEnter(k, lp.lock);
  lcp.nfree++;
  const map = offset >>> 5;
  lcp.bitmap[map] = lcp.bitmap[map]! | (1 << (offset & 31));
  if (lcp.bitmap[lcp.rotor] === 0) lcp.rotor = map;
  // If the page we allocate from first is full, allocate from this one next.
  if (lp.pages[0]!.nfree === 0) {
    lp.pages.splice(lp.pages.indexOf(lcp), 1);
    lp.pages.unshift(lcp);
  }
  mutexExit(k, lp.lock);
  l.lwpctl = null;
  l.lcpage = null;
}

/**
 * lwp_ctl_exit: the process is exiting; tear its whole area down.  Called
 * by its last LWP l (curlwp) in exit1, with nothing locked.  l's own block
 * goes with the area, so l's last switch publishes nothing.
 */
export function lwpCtlExit(l: Lwp): void {
  const p = l.proc;
  kassert(l === l.k.curlwp(), 'lwp_ctl_exit: not curlwp');
  kassert(p.lwpctl !== null, 'lwp_ctl_exit: no lwpctl area');
  kassert(p.nlwps === 1, () => `lwp_ctl_exit: ${p.nlwps} lwps left`);
  l.lwpctl = null;
  l.lcpage = null;
  const lp = p.lwpctl;
  lp.pages = [];
  lp.uva = lp.cur = lp.max = 0;
  p.lwpctl = null;
}

/* The kernel's updates of a block (mi_switch, lwp_exit, lwp_exit_switchaway). */

/** l is leaving its CPU in mi_switch: it is no longer on one. */
export function lwpctlSwitchOut(l: Lwp): void {
  if (l.lwpctl !== null) l.lwpctl.curcpu = LWPCTL_CPU_NONE;
}

/** l was just switched back in, on CPU `cpu`, at the end of mi_switch. */
export function lwpctlSwitchIn(l: Lwp, cpu: number): void {
  if (l.lwpctl !== null) {
    l.lwpctl.curcpu = cpu;
    l.lwpctl.pctr++;
  }
}

/** l has exited (lwp_exit, and again in lwp_exit_switchaway). */
export function lwpctlExited(l: Lwp): void {
  if (l.lwpctl !== null) l.lwpctl.curcpu = LWPCTL_CPU_EXITED;
}
