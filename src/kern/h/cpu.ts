/* struct cpu_info (sys/cpu.h) with its schedstate (spc_*) and DragonFly globaldata (gd_*) fields. */
import type { Cpu } from '../../engine/engine.ts';
import type { Thread } from '../../engine/coroutine.ts';
import { PRI_IDLE } from '../param.ts';
import type { Kernel } from './kernel.ts';
import type { IpiMsg } from './lwkt.ts';
import type { Lwp } from './lwp.ts';
import { KMutex } from './mutex.ts';
import type { RunQueue } from './runq.ts';

export class CpuInfo {
  readonly spcMutex: KMutex;
  readonly spcLwplock: KMutex;
  curlwp!: Lwp;
  idlelwp!: Lwp;
  wantResched = false;
  curpriority = PRI_IDLE;
  /** Context switches on this CPU (cpu_nswtch). */
  nswtch = 0;
  /** The stack of the LWP that last died here, for the next thread to free (thread_stash). */
  zombieTd: Thread | null = null;
  /** The run queue level of curlwp (-1: idle), what preemption compares against. */
  curlevel = -1;
  /** gd_reqpri: the best level of work deferred by a critical section (-1: none). */
  reqpri = -1;
  /** IPI messages and interrupts that arrived inside a critical section, run at its outermost exit. */
  readonly ipiq: IpiMsg[] = [];
  /** A preemption (AST) was aimed here inside a critical section. */
  astDeferred = false;
  /** spc_migrating: an LWP that switched away with a target CPU, for the idle LWP to move. */
  migrating: Lwp | null = null;
  /** gd_tdfreeq: freed kernel-thread structures kept for reuse (at most CACHE_NTHREADS). */
  readonly tdfreeq: Lwp[] = [];
  /** The idle LWP halted with nothing to run or steal (a kick target for stealing). */
  halted = false;
  /** lwkt_preempt's target: the next switch here goes to it (spcMutex). */
  handoff: Lwp | null = null;
  /** An interrupt thread asked to preempt whatever runs here (taken at the next AST or kernel preemption point). */
  preemptReq: Lwp | null = null;
  hw!: Cpu;
  constructor(readonly k: Kernel, readonly index: number, readonly runq: RunQueue) {
    this.spcMutex = new KMutex(`cpu${index}.spc_mutex`, true, this);
    this.spcLwplock = new KMutex(`cpu${index}.spc_lwplock`, true, this);
  }
}
