/*
 * Constants of the model, with NetBSD 6's names and values
 * (sys/lwp.h, sys/proc.h, sys/param.h, sys/errno.h).
 */

/* LWP states (l.stat). */
export const LSIDL = 1;       // created, not yet run; or an idle LWP off CPU
export const LSRUN = 2;       // on a run queue
export const LSSLEEP = 3;     // on a sleep queue
export const LSSTOP = 4;      // stopped by job control
export const LSZOMB = 5;      // dead, waiting to be collected
export const LSONPROC = 7;    // running on a CPU
export const LSSUSPENDED = 8; // suspended by _lwp_suspend
export type LwpStat = 1 | 2 | 3 | 4 | 5 | 7 | 8;

export const STAT_NAMES: Record<LwpStat, string> = {
  [LSIDL]: 'IDL', [LSRUN]: 'RUN', [LSSLEEP]: 'SLEEP', [LSSTOP]: 'STOP',
  [LSZOMB]: 'ZOMB', [LSONPROC]: 'ONPROC', [LSSUSPENDED]: 'SUSPENDED',
};

/* Process states (p.stat). */
export const SIDL = 1;    // being created
export const SACTIVE = 2; // has live LWPs
export const SDYING = 3;  // exit1 is tearing it down
export const SSTOP = 4;   // stopped by job control
export const SZOMB = 5;   // exited, waiting for its parent
export const SDEAD = 6;   // almost a zombie: its LWPs are gone, the parent not yet told
export type ProcStat = 1 | 2 | 3 | 4 | 5 | 6;
export const PSTAT_NAMES: Record<ProcStat, string> = {
  [SIDL]: 'SIDL', [SACTIVE]: 'SACTIVE', [SDYING]: 'SDYING', [SSTOP]: 'SSTOP', [SZOMB]: 'SZOMB', [SDEAD]: 'SDEAD',
};

/* l.flag: covered by the LWP's lock (l.mutex). */
export const LW_IDLE = 0x00000001;     // an idle LWP
export const LW_LWPCTL = 0x00000002;   // update lwpctl in userret
export const LW_SINTR = 0x00000080;    // sleep is interruptible
export const LW_SYSTEM = 0x00000200;   // kernel thread
export const LW_WSUSPEND = 0x00020000; // suspend before return to user
export const LW_WCORE = 0x00080000;    // stop for core dump on return to user
export const LW_WEXIT = 0x00100000;    // exit before return to user
export const LW_PENDSIG = 0x01000000;  // pending signal for us
export const LW_CANCELLED = 0x02000000;// next interruptible sleep returns EINTR at once
export const LW_UNPARKED = 0x10000000; // an unpark arrived while not parked: the next park returns EALREADY
export const LW_WREBOOT = 0x08000000;  // system is rebooting, please suspend
/** Model-only (FreeBSD single-threading): park or exit at the boundary (single.ts). */
export const LW_WSINGLE = 0x00000400;
export const LW_USERRET = LW_WEXIT | LW_PENDSIG | LW_WREBOOT | LW_WSUSPEND | LW_WCORE | LW_LWPCTL | LW_WSINGLE;

/* l.pflag: covered by nothing (only the LWP itself touches it) or the CPU's locks. */
export const LP_MPSAFE = 0x00000020;
export const LP_PREEMPTING = 0x00000040; // the current switch is involuntary
export const LP_RUNNING = 0x20000000;    // the LWP's state is tied to a CPU

/* l.prflag: covered by p.lock. */
export const LPR_DETACHED = 0x00800000;
export const LPR_CRMOD = 0x00000100;    // the process's credentials changed: refresh l.cred (LWP_CACHE_CREDS)

/* p.sflag: covered by p.lock. */
export const PS_WCORE = 0x00080000; // process is dumping core
export const PS_WEXIT = 0x00100000; // process is exiting

/* _lwp_create flags. */
export const LWP_DETACHED = 0x00000040;
export const LWP_SUSPENDED = 0x00000080;

/* lwp_wait1 flags. */
export const LWPWAIT_EXITCONTROL = 0x00000001;

/*
 * Priorities: NetBSD's single 0..223 range, higher runs first.
 * User LWPs live in PRI_USER..PRI_USER+NPRI_USER-1; kernel threads above.
 */
export const PRI_COUNT = 224;
export const MAXPRI = PRI_COUNT - 1;
export const PRI_USER = 0;
export const NPRI_USER = 64;
export const PRI_KERNEL = 64;
export const PRI_KTHREAD = 128;
export const PRI_KERNEL_RT = 192;
export const PRI_IDLE = -1;
/** Where a new top-level process's first LWP starts (lwp0's priority in NetBSD). */
export const PRI_USER_DEFAULT = PRI_USER + NPRI_USER - 1;

/*
 * Per-LWP services (park.ts, lwpctl.ts, specific.ts, resource.ts): the
 * constants of sys/lwpctl.h, sys/lwp.h, sys/resource.h and sys/signal.h.
 */
/* lwpctl_t.lc_curcpu values, and _lwp_ctl feature bits. */
export const LWPCTL_CPU_NONE = -1;    // off CPU
export const LWPCTL_CPU_EXITED = -2;  // the LWP has exited
export const LWPCTL_FEATURE_CURCPU = 0x00000001;
export const LWPCTL_FEATURE_PCTR = 0x00000002;
/* p.lflag: a vfork parent waits for this child (never set: there is no vfork here). */
export const PL_PPWAIT = 0x00000010;
/* Most targets one _lwp_unpark_all call takes. */
export const LWP_UNPARK_MAX = 1024;
/* Number of signals: valid signal numbers are 1..NSIG-1 (0 only probes). */
export const NSIG = 64;
/* MAXCOMLEN: an LWP name keeps MAXCOMLEN - 1 characters. */
export const MAXCOMLEN = 16;
/* Resource limits (only RLIMIT_NTHR has an effect in the model). */
export const RLIMIT_NTHR = 11;
export const RLIM_NLIMITS = 12;
export const RLIM_INFINITY = Infinity;
/* cpu_maxlwp(): the most LWPs the machine supports (MAXLWP), and the default kern.maxlwp. */
export const MAXLWP = 2048;
/* maxuprc (CHILD_MAX): caps the default soft RLIMIT_NTHR. */
export const MAXUPRC = 160;

/*
 * The dispatcher (runq.ts, lwkt.ts, sched.ts): DragonFly's 32 run queue
 * levels and the NetBSD priorities that map onto them (see priLevel in
 * runq.ts), the real-time band of NetBSD's scheduler system calls, and
 * the LWKT knobs.
 */
/** Real-time user LWPs (SCHED_FIFO, SCHED_RR): PRI_USER_RT + sched_priority. */
export const PRI_USER_RT = 128;
/** Interrupt-priority kernel threads: above every NetBSD priority (levels 28..31). */
export const PRI_INTR = 224;
/** The highest priority a kernel thread may have. */
export const PRI_INTR_MAX = 255;
/** No priority (sched_setparam: leave it). */
export const PRI_NONE = -1;
/* Scheduling policies (sys/sched.h). */
export const SCHED_OTHER = 0;
export const SCHED_FIFO = 1;
export const SCHED_RR = 2;
/* The range of sched_priority for SCHED_FIFO and SCHED_RR. */
export const SCHED_PRI_MIN = 0;
export const SCHED_PRI_MAX = 63;
/* Run queue levels (DragonFly's TDPRI_*, 0..31). */
export const NQS = 32;
export const TDPRI_IDLE_THREAD = 0;
export const TDPRI_USER_NORM = 7;     // where PRI_USER_DEFAULT lands
export const TDPRI_KERN_DAEMON = 16;  // PRI_KTHREAD
export const TDPRI_SOFT_NORM = 24;    // PRI_KERNEL_RT
export const TDPRI_INT_LOW = 28;      // PRI_INTR
export const TDPRI_INT_HIGH = 31;     // PRI_INTR_MAX
/** l.pflag: bound to its CPU (LWKT threads): never placed, stolen or migrated elsewhere. */
export const LP_BOUND = 0x80000000;
/** Freed kernel-thread structures each CPU keeps for reuse (lwkt_free_thread). */
export const CACHE_NTHREADS = 6;
/** Ticks an IPI message takes to reach its CPU. */
export const IPI_LATENCY = 2;
