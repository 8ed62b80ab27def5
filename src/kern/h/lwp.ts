/*
 * struct lwp (sys/lwp.h): an LWP's fields, grouped by the lock that covers
 * each.  The functions on it are in lwp.ts (and synch.ts, sleepq.ts, ...).
 *
 * Locking, as in kern_lwp.c 1.172:
 *   l.mutex   points at the lock that covers the LWP's state: the CPU's
 *             spcMutex for LSIDL/LSRUN, its spcLwplock for LSONPROC/LSZOMB,
 *             the sleep queue's lock for LSSLEEP, and for LSSTOP/LSSUSPENDED
 *             the sleep queue's lock if l.wchan is set, else spcLwplock.
 *   p.lock    covers the process's counters (nlwps, nrlwps, nzlwps, ndlwps,
 *             nlwpwait), its LWP list, l.prflag, l.refcnt, l.waiter and
 *             l.waitingfor.  It must be held to move an LWP into or out of
 *             LSIDL, LSZOMB, LSSTOP and LSSUSPENDED.
 *   lock order: a sleep queue's lock is taken before the LWP's own lock
 *             (sleepq_enter, as NetBSD's cv_wait and _lwp_park do), and
 *             the run queue lock (spcMutex) last: sleep queue lock ->
 *             LWP lock (spcLwplock) -> spcMutex.
 */
import type { Gen, Thread } from '../../engine/coroutine.ts';
import { LSIDL, type LwpStat } from '../param.ts';
import type { CpuInfo } from './cpu.ts';
import type { Kernel } from './kernel.ts';
import type { LcPage, LwpCtl } from './lwpctl.ts';
import type { LwktWait, TokRef } from './lwkt.ts';
import type { KMutex } from './mutex.ts';
import type { Proc } from './proc.ts';
import type { Cred } from './resource.ts';
import type { RunQueue } from './runq.ts';
import type { SigSet } from './signal.ts';
import type { SleepQueue } from './sleepq.ts';
import type { KseThread } from './kse.ts';

/** A user program: a generator function run as an LWP's start routine. */
export type Program<A = any> = (sys: any, arg: A) => Gen<unknown>;

/** The start routine an LWP runs, and its argument. */
export interface LwpStart {
  fn: Program;
  arg: unknown;
}

/** An interrupt thread's count of interrupts not yet handled (lwktInterrupt). */
export interface IntrState {
  pending: number;
}

/**
 * The fields most LWPs never set: migration, timed sleeps, affinity, LWKT
 * preemption and tokens, exec, interrupt threads, and the per-LWP services
 * (private pointer, lwpctl, specific data).  Lwp makes one on the first
 * write of anything but the default, so an LWP that uses none of them
 * carries one null instead of these 14 fields; its accessors read through.
 */
export class LwpRare {
  /** l_target_cpu: where a pending migration goes (l.mutex). */
  targetCpu: CpuInfo | null = null;
  /** The timeout of a timed sleep (sleepq.ts; the sleep queue lock). */
  sleepTimer: { cancelled: boolean } | null = null;
  /** l_affinity: the CPUs the LWP may run on (indexes, sorted), or null for all (l.mutex). */
  affinity: readonly number[] | null = null;
  /** td_preempted: the LWP this one preempted, resumed the moment this one blocks (spcMutex). */
  preempted: Lwp | null = null;
  /** TDF_PREEMPT_LOCK: this LWP is being preempted (spcMutex). */
  preemptLock = false;
  /** Serializing tokens this LWP holds, oldest first; owned only while it runs (lwkt.ts). */
  toks: TokRef[] | null = null;
  /** The token it asked for and could not get yet: it is not switched in until it can. */
  wantTok: TokRef | null = null;
  /** td_wait: the LWKT wait queue it is blocked on (the queue's token). */
  lwktWait: LwktWait | null = null;
  /** The image exec() left to run once the old one's frames are unwound (lwp.ts). */
  execImage: LwpStart | null = null;
  /** Interrupt threads only: interrupts that arrived and are not yet handled (lwkt.ts). */
  intr: IntrState | null = null;
  /** l_private: the thread library's pointer (its TLS base); only the LWP itself sets it. */
  private: unknown = null;
  /** l_lwpctl and l_lcpage: the control block _lwp_ctl handed out, and its page. */
  lwpctl: LwpCtl | null = null;
  lcpage: LcPage | null = null;
  /** l_specdataref: LWP-specific data of kernel subsystems, by key (specific.ts). */
  specdata: unknown[] | null = null;
}

export class Lwp {
  /* Covered by l.mutex. */
  stat: LwpStat = LSIDL;
  flag = 0;
  mutex: KMutex;
  cpu: CpuInfo;
  wchan: object | null = null;
  wmesg: string | null = null;
  sleepq: SleepQueue | null = null;
  priority: number;
  /** Set when an interruptible sleep ended by timeout or interruption (sleepq). */
  slpError = 0;

  /* Covered by p.lock. */
  prflag = 0;
  refcnt = 1;
  waiter = 0;
  waitingfor = 0;
  sibNext: Lwp | null = null;
  sibPrev: Lwp | null = null;
  /**
   * Model-only: counted in p.nzlwps by lwpExit but not yet LSZOMB.  The
   * seed counts an exiting LWP as a zombie early; this lets the checker
   * derive p.nzlwps from the LWP list.
   */
  exiting = false;
  /** Model-only: inside lwp_wait1 (counted in p.nlwpwait). */
  inWait = false;
  /** l_sigpend: signals sent to this LWP alone (_lwp_kill), not yet taken (sig.ts); p.lock. */
  sigpend: SigSet = 0n;
  /** l_sigmask: the signals it blocks; p.lock. */
  sigmask: SigSet = 0n;
  /** Parked at the boundary by single-threading (single.ts); p.lock. */
  stParked = false;

  /* Covered by the run queue's spcMutex. */
  rq: RunQueue | null = null;
  rqNext: Lwp | null = null;
  rqPrev: Lwp | null = null;
  /** The level the LWP was queued at (runq.ts). */
  rqLevel = 0;

  /* The dispatcher (lwkt.ts, sched.ts). */
  /** l_class: SCHED_OTHER, SCHED_FIFO or SCHED_RR (l.mutex). */
  class = 0;
  /** Critical-section nesting (the high bits of the seed's td_pri); only the LWP itself touches it. */
  crit = 0;

  /* Touched only by the LWP itself (or its CPU with the switch locks held). */
  pflag = 0;
  name: string | null;
  ncsw = 0;
  nivcsw = 0;
  /** Kernel locks this LWP holds (checked at user boundaries). */
  locks = 0;
  td: Thread;
  /** The system-call object handed to the program. */
  sys: unknown = null;
  /** The start routine, until lwp_startup's trip to user mode takes it (lwp.ts). */
  start: LwpStart | null = null;

  /* Per-LWP services (park.ts, lwpctl.ts, specific.ts, resource.ts). */
  /** l_cred: cached credentials, refreshed from p.cred by lwp_update_creds (p.lock). */
  cred: Cred | null = null;
  /** The KSE half of the thread (td_ksegrp, td_kse, td_mailbox, td_standin, flags); null outside KSE mode. */
  kse: KseThread | null = null;
  /** The rarely set fields, or null while none is set (see LwpRare). */
  private rare: LwpRare | null = null;

  constructor(
    readonly k: Kernel,
    public proc: Proc,
    public lid: number,
    cpu: CpuInfo,
    priority: number,
    name: string | null,
    td: (l: Lwp) => Thread,
  ) {
    this.cpu = cpu;
    this.mutex = cpu.spcMutex;
    this.priority = priority;
    this.name = name;
    this.td = td(this);
  }

  /* The rarely set fields (LwpRare): read as plain fields, made on first use. */
  get targetCpu(): CpuInfo | null { return this.rare === null ? null : this.rare.targetCpu; }
  set targetCpu(v: CpuInfo | null) { if (v !== null || this.rare !== null) (this.rare ??= new LwpRare()).targetCpu = v; }
  get sleepTimer(): { cancelled: boolean } | null { return this.rare === null ? null : this.rare.sleepTimer; }
  set sleepTimer(v: { cancelled: boolean } | null) { if (v !== null || this.rare !== null) (this.rare ??= new LwpRare()).sleepTimer = v; }
  get affinity(): readonly number[] | null { return this.rare === null ? null : this.rare.affinity; }
  set affinity(v: readonly number[] | null) { if (v !== null || this.rare !== null) (this.rare ??= new LwpRare()).affinity = v; }
  get preempted(): Lwp | null { return this.rare === null ? null : this.rare.preempted; }
  set preempted(v: Lwp | null) { if (v !== null || this.rare !== null) (this.rare ??= new LwpRare()).preempted = v; }
  get preemptLock(): boolean { return this.rare === null ? false : this.rare.preemptLock; }
  set preemptLock(v: boolean) { if (v || this.rare !== null) (this.rare ??= new LwpRare()).preemptLock = v; }
  get toks(): TokRef[] | null { return this.rare === null ? null : this.rare.toks; }
  set toks(v: TokRef[] | null) { if (v !== null || this.rare !== null) (this.rare ??= new LwpRare()).toks = v; }
  get wantTok(): TokRef | null { return this.rare === null ? null : this.rare.wantTok; }
  set wantTok(v: TokRef | null) { if (v !== null || this.rare !== null) (this.rare ??= new LwpRare()).wantTok = v; }
  get lwktWait(): LwktWait | null { return this.rare === null ? null : this.rare.lwktWait; }
  set lwktWait(v: LwktWait | null) { if (v !== null || this.rare !== null) (this.rare ??= new LwpRare()).lwktWait = v; }
  get execImage(): LwpStart | null { return this.rare === null ? null : this.rare.execImage; }
  set execImage(v: LwpStart | null) { if (v !== null || this.rare !== null) (this.rare ??= new LwpRare()).execImage = v; }
  get intr(): IntrState | null { return this.rare === null ? null : this.rare.intr; }
  set intr(v: IntrState | null) { if (v !== null || this.rare !== null) (this.rare ??= new LwpRare()).intr = v; }
  get private(): unknown { return this.rare === null ? null : this.rare.private; }
  set private(v: unknown) { if (v !== null || this.rare !== null) (this.rare ??= new LwpRare()).private = v; }
  get lwpctl(): LwpCtl | null { return this.rare === null ? null : this.rare.lwpctl; }
  set lwpctl(v: LwpCtl | null) { if (v !== null || this.rare !== null) (this.rare ??= new LwpRare()).lwpctl = v; }
  get lcpage(): LcPage | null { return this.rare === null ? null : this.rare.lcpage; }
  set lcpage(v: LcPage | null) { if (v !== null || this.rare !== null) (this.rare ??= new LwpRare()).lcpage = v; }
  get specdata(): unknown[] | null { return this.rare === null ? null : this.rare.specdata; }
  set specdata(v: unknown[] | null) { if (v !== null || this.rare !== null) (this.rare ??= new LwpRare()).specdata = v; }

  /** Ticks this LWP has spent on a CPU. */
  get rtime(): number { return this.td.ticks; }
}
