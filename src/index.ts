/*
 * lwpkit: the BSD LWP kernel subsystem as an executable, deterministic
 * multiprocessor model.  The public API.
 */
export { Machine } from './machine.ts';
export type { MachineOptions, RunOptions, RunResult, Outcome, PsRow, ProcInfo, BlockedLwp, StatName } from './machine.ts';
export { Sys } from './sys/sys.ts';
export type { ProgramFn } from './sys/sys.ts';
export type { WaitStatus } from './sys/sys_proc.ts';
export type { CreateOptions } from './sys/sys_lwp.ts';
export { SyscallError } from './sys/errors.ts';
export { KernelPanic } from './kern/panic.ts';
export type { KEvent, KEventType, Listener } from './kern/events.ts';
export { formatEvent } from './kern/events.ts';
export { LWP_DETACHED, LWP_SUSPENDED } from './kern/param.ts';
export {
  SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGEMT, SIGFPE, SIGKILL, SIGBUS, SIGSEGV, SIGSYS,
  SIGPIPE, SIGALRM, SIGTERM, SIGURG, SIGSTOP, SIGTSTP, SIGCONT, SIGCHLD, SIGTTIN, SIGTTOU, SIGIO,
  SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGINFO, SIGUSR1, SIGUSR2, SIGPWR, SIGNAL_NAMES,
} from './kern/h/signal.ts';
export type { CoreDump } from './kern/h/proc.ts';
export type { SigactionOptions, SigactionResult, SigprocmaskHow } from './sys/sys_sig.ts';
export { NETBSD_4, NETBSD_6, PERSONALITIES } from './kern/personality.ts';
export type { Personality } from './kern/personality.ts';
export { SeededChooser, RecordingChooser, ReplayChooser } from './engine/chooser.ts';
export type { Chooser, ChoiceKind } from './engine/chooser.ts';
export { toChromeTrace } from './trace/chrome.ts';
export { checkTrace } from './trace/checkTrace.ts';
export { toFtrace } from './trace/ftrace.ts';
export { toKtrace } from './trace/ktrace.ts';
export { namesFromMachine } from './trace/common.ts';
// Per-LWP services: park/unpark, lwpctl, names, private data, credentials, limits; and the thread library on them.
export {
  LWPCTL_CPU_EXITED, LWPCTL_CPU_NONE, LWPCTL_FEATURE_CURCPU, LWPCTL_FEATURE_PCTR, LWP_UNPARK_MAX, NSIG,
  RLIMIT_NTHR, RLIM_INFINITY,
} from './kern/param.ts';
export type { ParkOptions } from './sys/sys_lwp2.ts';
export type { LwpCtl } from './kern/h/lwpctl.ts';
export type { Cred, Rlimit } from './kern/h/resource.ts';
export {
  lwpSpecificKeyCreate, lwpSpecificKeyDelete, lwpGetspecific, lwpGetspecificByLwp, lwpSetspecific,
} from './kern/specific.ts';
export * as pthread from './lib/pthread.ts';
// The dispatcher: scheduling policies and the scheduler's system calls.
export { PRI_NONE, SCHED_FIFO, SCHED_OTHER, SCHED_PRI_MAX, SCHED_PRI_MIN, SCHED_RR } from './kern/param.ts';
export type { SchedParam } from './sys/sys_sched.ts';
