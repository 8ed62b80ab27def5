/*
 * The kernel's data structures: what sys/lwp.h, sys/proc.h and sys/cpu.h
 * declare in NetBSD, with the lock that covers each field.  The functions
 * that act on them live one subsystem per file (lwp.ts, synch.ts, ...).
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
import type { Cpu, Engine } from '../engine/engine.ts';
import { burn, type BurnReq, type Gen, type Thread } from '../engine/coroutine.ts';
import { EventRing, type KEvent, type Listener, type StatName } from './events.ts';
import { KernelPanic } from './panic.ts';
import { LSIDL, LSRUN, LSSLEEP, PRI_IDLE, SACTIVE, STAT_NAMES, type LwpStat, type ProcStat } from './param.ts';
import type { Personality } from './personality.ts';
import type { RunQueue } from './runq.ts';
import { SleepTab } from './sleepq.ts';
import { SysctlTree } from './sysctl.ts';
import { LwpSig, ProcSig } from './sig.ts';
import { SingleState } from './single.ts';
import type { CoreDump } from './exit.ts';
import { LW_PENDSIG } from './param.ts';

/** A kernel mutex: spin (spc locks, sleep queue locks) or adaptive (p.lock). */
export class KMutex {
  owner: object | null = null;
  /** How many times an acquirer found it held (lock contention). */
  contended = 0;
  constructor(readonly name: string, readonly spin: boolean) {}
}

/** The owner recorded for locks taken in interrupt context (timer callbacks). */
export const INTR_OWNER = Object.freeze({ name: 'interrupt' });

/** A condition variable is just a named wait channel. */
export class CondVar {
  constructor(readonly wmesg: string) {}
}

/** A user program: a generator function run as an LWP's start routine. */
export type Program<A = any> = (sys: any, arg: A) => Gen<unknown>;

export class Lwp {
  /* Covered by l.mutex. */
  stat: LwpStat = LSIDL;
  flag = 0;
  mutex: KMutex;
  cpu: CpuInfo;
  targetCpu: CpuInfo | null = null;
  wchan: object | null = null;
  wmesg: string | null = null;
  sleepq: import('./sleepq.ts').SleepQueue | null = null;
  priority: number;
  /** Set when an interruptible sleep ended by timeout or interruption (sleepq). */
  slpError = 0;
  sleepTimer: { cancelled: boolean } | null = null;

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
  /** Signal state: pending set and mask (sig.ts); p.lock. */
  readonly sig = new LwpSig();
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
  /** l_affinity: the CPUs the LWP may run on (indexes, sorted), or null for all (l.mutex). */
  affinity: readonly number[] | null = null;
  /** Critical-section nesting (the high bits of the seed's td_pri); only the LWP itself touches it. */
  crit = 0;
  /** td_preempted: the LWP this one preempted, resumed the moment this one blocks (spcMutex). */
  preempted: Lwp | null = null;
  /** TDF_PREEMPT_LOCK: this LWP is being preempted (spcMutex). */
  preemptLock = false;
  /** Serializing tokens this LWP holds, oldest first; owned only while it runs (lwkt.ts). */
  toks: import('./lwkt.ts').TokRef[] | null = null;
  /** The token it asked for and could not get yet: it is not switched in until it can. */
  wantTok: import('./lwkt.ts').TokRef | null = null;
  /** td_wait: the LWKT wait queue it is blocked on (the queue's token). */
  lwktWait: import('./lwkt.ts').LwktWait | null = null;

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

  /* Per-LWP services (park.ts, lwpctl.ts, specific.ts, resource.ts). */
  /** l_private: the thread library's pointer (its TLS base); only the LWP itself sets it. */
  private: unknown = null;
  /** l_lwpctl and l_lcpage: the control block _lwp_ctl handed out, and its page. */
  lwpctl: import('./lwpctl.ts').LwpCtl | null = null;
  lcpage: import('./lwpctl.ts').LcPage | null = null;
  /** l_specdataref: LWP-specific data of kernel subsystems, by key (specific.ts). */
  specdata: unknown[] | null = null;
  /** l_cred: cached credentials, refreshed from p.cred by lwp_update_creds (p.lock). */
  cred: import('./resource.ts').Cred | null = null;
  /** The KSE half of the thread (td_ksegrp, td_kse, td_mailbox, td_standin, flags); null outside KSE mode. */
  kse: import('./h/kse.ts').KseThread | null = null;

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

  /** Ticks this LWP has spent on a CPU. */
  get rtime(): number { return this.td.ticks; }
}

export class Proc {
  stat: ProcStat = SACTIVE;
  sflag = 0;
  readonly lock: KMutex;
  /** LWPs, newest first (the seed inserts at the head of p_lwps). */
  lwps: Lwp | null = null;
  readonly lidMap = new Map<number, Lwp>();
  nlwps = 0;
  nrlwps = 0;
  nzlwps = 0;
  ndlwps = 0;
  nlwpwait = 0;
  nlwpid = 0;
  zomblwp: Lwp | null = null;
  readonly lwpcv = new CondVar('lwpwait');
  /** Children's exits are broadcast here (p_waitcv). */
  readonly waitcv = new CondVar('wait');
  readonly children = new Set<Proc>();
  /** Exit status (p_xstat) and how the process ended. */
  xstat = 0;
  termsig = 0;
  fault: string | null = null;
  /** Run time and switch counts folded in from freed LWPs. */
  rtime = 0;
  nvcsw = 0;
  nivcsw = 0;
  /** The last LWP, kept for the parent to free at reap time. */
  lastlwp: Lwp | null = null;
  /** Collected by its parent (proc_free ran); only this record is left. */
  reaped = false;
  /** Signal dispositions, pending set, stop state (sig.ts); p.lock. */
  readonly sig = new ProcSig();
  /** Single-threading (single.ts); p.lock. */
  readonly st = new SingleState();
  /** p_cred: the credentials (p.lock); LWPs cache them in l.cred. */
  cred: import('./resource.ts').Cred;
  /** p_limit: resource limits, shared with the parent until changed; null = limit0 (resource.ts). */
  rlimit: readonly import('./resource.ts').Rlimit[] | null;
  /** p_lwpctl: the process's lwpctl area, once an LWP called _lwp_ctl (lwpctl.ts). */
  lwpctl: import('./lwpctl.ts').LcProc | null = null;
  /** p_lflag.  PL_PPWAIT (a vfork parent waits) is never set: there is no vfork here. */
  lflag = 0;
  /** P_KSES and the ksegrps (h/kse.ts); null until the first kse_create. */
  kse: import('./h/kse.ts').KseProc | null = null;

  constructor(
    readonly k: Kernel,
    readonly pid: number,
    public name: string,
    public uid: number,
    public pptr: Proc | null,
    readonly system = false,
  ) {
    this.lock = new KMutex(`proc${pid}.p_lock`, false);
    this.cred = Object.freeze({ uid });
    this.rlimit = pptr === null ? null : pptr.rlimit;
  }

  /** Iterate the LWP list in the seed's order (newest first). */
  *eachLwp(): IterableIterator<Lwp> {
    for (let l = this.lwps; l !== null; l = l.sibNext) yield l;
  }
}

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
  readonly ipiq: import('./lwkt.ts').IpiMsg[] = [];
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
    this.spcMutex = new KMutex(`cpu${index}.spc_mutex`, true);
    this.spcLwplock = new KMutex(`cpu${index}.spc_lwplock`, true);
  }
}

export interface KernelOptions {
  personality: Personality;
  /** Ticks a system call costs on entry (so that a loop of calls moves the clock). */
  syscallCost: number;
  /** Record events for panic reports and run the kernel's own assertions. */
  checking: boolean;
  /** Preempt kernel code at choice points outside critical sections (off by default). */
  kpreempt?: boolean;
}

export class Kernel {
  readonly cpus: CpuInfo[] = [];
  readonly procs = new Map<number, Proc>();
  /** Every LWP not yet freed, in creation order (alllwp). */
  readonly alllwp = new Set<Lwp>();
  proc0!: Proc;
  nextpid = 1;
  readonly personality: Personality;
  readonly syscallCost: number;
  readonly checking: boolean;
  /** The request a system call makes on entry (cached: it never changes). */
  readonly syscallBurn: BurnReq;
  /** True when events must be built: someone listens, or checking is on. */
  tracing: boolean;
  private readonly listeners: Listener[] = [];
  readonly recent = new EventRing(50);
  /** The global process lock (proc_lock). */
  readonly procLock = new KMutex('proc_lock', false);
  /** Builds the `sys` object a program receives; installed by the system-call layer. */
  makeSys: (l: Lwp) => unknown = () => null;
  /** Called for every state change while tracing: the transition check hangs here. */
  onStat: ((l: Lwp, from: LwpStat, to: LwpStat, why: string) => void) | null = null;
  readonly sleeptab = new SleepTab();
  readonly sysctl = new SysctlTree();
  /** Core dumps written so far (coredump in exit.ts). */
  readonly cores: CoreDump[] = [];
  /** The seed's counters (lwkt.switch_count & co) and the untimely_switch tunable. */
  readonly lwkt = { switchCount: 0, preemptHit: 0, preemptMiss: 0, preemptWeird: 0, untimelySwitch: 0 };
  /** Kernel preemption at choice points (the machine option). */
  readonly kpreempt: boolean;
  /** How many CPUs' idle LWPs are halted (ci.halted): zero means nobody to kick for stealing. */
  nhalted = 0;

  /*
   * Hooks for the signal subsystem (kern_sig.c).  Until it is installed no
   * signal is ever pending, and these are the answers of a kernel without
   * one.
   */
  /** sigispending: does l have a deliverable signal? */
  sigispending: (l: Lwp) => boolean = () => false;
  /** The error an interruptible sleep returns for a pending signal (sleepq_sigtoerror). */
  sigsleepError: (l: Lwp) => Gen<number> = function* () { return 0; };
  /** issignal/postsig loop of lwp_userret.  Without signals: nothing to post. */
  postsigs: (l: Lwp) => Gen<void> = function* (l) { l.flag &= ~LW_PENDSIG; };
  /** Is the process on its way to a job-control stop (PS_STOPPING)? */
  procStopping: (p: Proc) => boolean = () => false;
  /** firstsig(&p->p_sigpend): is a process-wide signal pending? */
  procSigPending: (p: Proc) => boolean = () => false;
  /** Per-LWP teardown run early in lwp_exit (specificdata, lwpctl, creds). */
  lwpExitHooks: (l: Lwp) => void = () => {};
  /**
   * _lwp_kill's delivery of a real signal to LWP t (kpsignal2 with the
   * target lid set).  Called with proc_lock and t's p.lock held, t alive
   * (not LSIDL or LSZOMB), 1 <= sig < NSIG.  Until the signal subsystem
   * installs it, the signal is accepted and dropped.  A generator so that
   * the installed version may take locks; a plain function may return
   * nothing.
   */
  postLwpSignal: (t: Lwp, sig: number) => Gen<void> | void = () => {};

  constructor(readonly engine: Engine, opts: KernelOptions) {
    this.personality = opts.personality;
    this.syscallCost = opts.syscallCost;
    this.syscallBurn = burn(opts.syscallCost);
    this.checking = opts.checking;
    this.tracing = opts.checking;
    this.kpreempt = opts.kpreempt === true;
  }

  get now(): number { return this.engine.now; }

  /** The CPU executing kernel code right now, or null in interrupt context. */
  curcpu(): CpuInfo | null {
    const c = this.engine.cur;
    return c === null ? null : this.cpus[c.index]!;
  }

  curlwp(): Lwp | null {
    const c = this.engine.cur;
    return c === null ? null : this.cpus[c.index]!.curlwp;
  }

  on(fn: Listener): () => void {
    this.listeners.push(fn);
    this.tracing = true;
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
      this.tracing = this.checking || this.listeners.length > 0;
    };
  }

  /** Deliver an event.  Callers build it only when `tracing` is true. */
  emit(e: KEvent): void {
    this.recent.push(e);
    for (const fn of this.listeners) fn(e);
  }

  /** Fields every event starts with, for LWP l. */
  ev(l: Lwp): { t: number; cpu: number; pid: number; lid: number } {
    const c = this.engine.cur;
    return { t: this.engine.now, cpu: c === null ? -1 : c.index, pid: l.proc.pid, lid: l.lid };
  }

  /** Change l's state: every transition goes through here (events and checks). */
  setStat(l: Lwp, to: LwpStat, why: string): void {
    const from = l.stat;
    l.stat = to;
    if (this.tracing) {
      if (this.onStat !== null) this.onStat(l, from, to, why);
      if (this.isIdleLwp(l)) return;
      // One literal, spread last: building events must stay cheap (the bench measures it).
      const e: KEvent & { type: 'state' } = { type: 'state', from: STAT_NAMES[from] as StatName, to: STAT_NAMES[to] as StatName, why, ...this.ev(l) };
      if (to === LSSLEEP && l.wmesg !== null) e.wchan = l.wmesg;
      else if (to === LSRUN) e.runqCpu = l.cpu.index;
      this.emit(e);
    }
  }

  /** Idle LWPs' own state flips are noise in the event stream. */
  private isIdleLwp(l: Lwp): boolean {
    return l.proc === this.proc0 && l === l.cpu.idlelwp;
  }

  panic(msg: string): never {
    throw new KernelPanic(msg);
  }
}
