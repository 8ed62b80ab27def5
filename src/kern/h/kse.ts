/*
 * The KSE structures of the FreeBSD seed (freebsd-kern_thread.c-kse.txt,
 * with sys/proc.h and sys/kse.h of the same era): ksegrps, KSEs, the KSE
 * half of a thread, P_KSES, and the two mailboxes user space owns.
 *
 * A process has none of this until its first kse_create: Proc.kse and
 * Lwp.kse stay null, and no KSE code runs for it.  proc_linkup (kse.ts)
 * then builds one ksegrp, and one KSE per live LWP, bound to it.
 *
 * Locking: the seed covers all of it with sched_lock.  Here every change
 * to these lists is made in one stretch of code without a yield, which no
 * other CPU can interleave with (the engine's atomicity), so the model
 * needs no lock object for it; the checker looks at it between steps.
 */
import type { Context, Gen } from '../../engine/coroutine.ts';
import type { Lwp } from './lwp.ts';

/* td_flags (the KSE ones) and the LOAN inhibitor, kept in KseThread.flags. */
/** The thread entered the kernel carrying a user thread (km_curthread was set). */
export const TDF_UNBOUND = 0x1;
/** The thread is an upcall: on its way to user space it starts the UTS. */
export const TDF_UPCALLING = 0x2;
/** msleep is scheduling an upcall for this thread (no nested upcall). */
export const TDF_INMSLEEP = 0x4;
/** TDI_LOAN: the thread owns a KSE it has lent out; it cannot run until it comes back. */
export const TDI_LOAN = 0x8;

/* ke_flags */
/** Destroy this KSE when its thread exits (kse_exit, or exit during SINGLE_EXIT). */
export const KEF_EXIT = 0x1;
/** A signal was pending when the KSE was made (never acted on: signal_upcall is disabled). */
export const KEF_ASTPENDING = 0x2;

/* ke_state */
/** Attached to a thread that is not queued: running, or blocked while bound. */
export const KES_UNQUEUED = 0;
/** On kg_iq with no thread. */
export const KES_IDLE = 1;
/** Its thread waits on a CPU run queue. */
export const KES_ONRUNQ = 2;
export const KES_NAMES = ['UNQUEUED', 'IDLE', 'ONRUNQ'] as const;
export type KseState = typeof KES_UNQUEUED | typeof KES_IDLE | typeof KES_ONRUNQ;

/** km_func: the UTS entry an upcall runs, `function* (sys, mbx)`. */
export type UpcallFn = (sys: any, mbx: KseMailbox) => Gen<unknown>;

/** struct kse_thr_mailbox: one per user thread, in user memory. */
export interface KseThrMailbox {
  /** tm_context: the user context the kernel saved when the thread completed a kernel entry. */
  context: Context | null;
  /** tm_next: link in a completed list. */
  next: KseThrMailbox | null;
  flags: number;
  udata: unknown;
  /** tm_uticks, tm_sticks: user and system ticks charged while this thread was carried. */
  uticks: number;
  sticks: number;
}

/** struct kse_mailbox: one per KSE, in user memory. */
export interface KseMailbox {
  /** km_curthread: the user thread the KSE runs now; null (or -1) while the UTS itself runs. */
  curthread: KseThrMailbox | null | -1;
  /** km_completed: where an upcall hands over the completed list. */
  completed: KseThrMailbox | null;
  /** km_func: the upcall entry. */
  func: UpcallFn;
  /** km_stack: the UTS stack (kept, not used: a generator brings its own). */
  stack: unknown;
  flags: number;
  udata: unknown;
  sigscaught: number[];
}

/** struct kse: a virtual CPU of a ksegrp. */
export class Kse {
  state: KseState = KES_UNQUEUED;
  /** ke_thread: the thread using it now (null: idle, or lent with no borrower yet). */
  thread: Lwp | null = null;
  /** ke_bound: the thread that owns it and has lent it out (TDI_LOAN set on it). */
  bound: Lwp | null = null;
  /** ke_mailbox, ke_upcall, ke_stack (copied in by kse_create). */
  mailbox: KseMailbox | null = null;
  upcall: UpcallFn | null = null;
  stack: unknown = null;
  /** ke_tdspare: the last thread that died on this KSE (its struct parked for reuse). */
  tdspare: Lwp | null = null;
  flags = 0;
  constructor(readonly id: number, readonly ksegrp: Ksegrp) {}
}

/** struct ksegrp: a scheduling group of threads and KSEs. */
export class Ksegrp {
  /** kg_threads: every thread of the group. */
  readonly threads: Lwp[] = [];
  /** kg_runq: its runnable unbound threads, best priority first, FIFO among equals. */
  readonly runq: Lwp[] = [];
  /** kg_kseq, kg_iq (idle), kg_lq (lent). */
  readonly kseq: Kse[] = [];
  readonly iq: Kse[] = [];
  readonly lq: Kse[] = [];
  /** kg_last_assigned: the last thread of kg_runq that holds a KSE. */
  lastAssigned: Lwp | null = null;
  /** kg_completed: user thread mailboxes completed since the last upcall (a user-space list). */
  completed: KseThrMailbox | null = null;
  numthreads = 0;
  kses = 0;
  idleKses = 0;
  /** kg_runnable: its threads that are runnable (queued, with or without a KSE). */
  runnable = 0;
  loanKses = 0;
  /** kg_runq_kses: its KSEs whose thread is on a CPU run queue. */
  runqKses = 0;
  constructor(readonly id: number) {}
}

/** The KSE half of a thread (struct thread's td_ksegrp, td_kse, ... ). */
export class KseThread {
  /** td_kse: the KSE it holds, or null. */
  kse: Kse | null = null;
  /** td_mailbox: the user thread it carries on this kernel entry (unbound only). */
  mailbox: KseThrMailbox | null = null;
  /** td_standin: a spare thread struct, turned into the upcall if this thread blocks. */
  standin: Lwp | null = null;
  /** TDF_UNBOUND, TDF_UPCALLING, TDF_INMSLEEP, TDI_LOAN. */
  flags = 0;
  /** Model-only: frame depth of the user code at the last kernel entry (its context is below). */
  userDepth = 0;
  constructor(public ksegrp: Ksegrp) {}
}

/** The KSE half of a process: P_KSES and p_ksegrps. */
export class KseProc {
  /** P_KSES: set by kse_create; the process is in KSE mode. */
  kses = true;
  /** p_ksegrps, newest first; p_numksegrps is its length. */
  readonly ksegrps: Ksegrp[] = [];
  numksegrps = 0;
  nextKseId = 0;
  nextKgId = 0;
  /** kse_stash/ksegrp_stash: how many were freed. */
  freedKses = 0;
  freedKsegrps = 0;
}
