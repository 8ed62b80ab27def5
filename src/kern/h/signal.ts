/* Signal numbers, sets and the per-process and per-LWP signal state (sys/signal.h, sys/signalvar.h); sig.ts acts on them. */
import type { Gen } from '../../engine/coroutine.ts';
import { NSIG } from '../param.ts';

/* Signal numbers (NetBSD sys/signal.h). */
export const SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGEMT = 7,
  SIGFPE = 8, SIGKILL = 9, SIGBUS = 10, SIGSEGV = 11, SIGSYS = 12, SIGPIPE = 13, SIGALRM = 14,
  SIGTERM = 15, SIGURG = 16, SIGSTOP = 17, SIGTSTP = 18, SIGCONT = 19, SIGCHLD = 20, SIGTTIN = 21,
  SIGTTOU = 22, SIGIO = 23, SIGXCPU = 24, SIGXFSZ = 25, SIGVTALRM = 26, SIGPROF = 27, SIGWINCH = 28,
  SIGINFO = 29, SIGUSR1 = 30, SIGUSR2 = 31, SIGPWR = 32;
export { NSIG };

export const SIGNAL_NAMES: Readonly<Record<string, number>> = Object.freeze({
  SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGEMT, SIGFPE, SIGKILL, SIGBUS, SIGSEGV, SIGSYS,
  SIGPIPE, SIGALRM, SIGTERM, SIGURG, SIGSTOP, SIGTSTP, SIGCONT, SIGCHLD, SIGTTIN, SIGTTOU, SIGIO,
  SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGINFO, SIGUSR1, SIGUSR2, SIGPWR,
});

/* sigaction flags. */
export const SA_RESTART = 0x0002;
export const SA_NODEFER = 0x0010;

/* sigprocmask how. */
export const SIG_BLOCK = 1, SIG_UNBLOCK = 2, SIG_SETMASK = 3;

export type SigSet = bigint;
export function sigbit(sig: number): SigSet { return 1n << BigInt(sig - 1); }

/** A handler: user code run on the LWP that takes the signal. */
export type SigHandler = (sys: any, sig: number) => Gen<unknown>;

export interface SigAction {
  handler: 'default' | 'ignore' | SigHandler;
  flags: number;
  mask: SigSet;
}

const SIG_DFL: SigAction = Object.freeze({ handler: 'default', flags: 0, mask: 0n });

/** Per-process signal state (p_sigacts, p_sigpend, p_xstat...); p.lock. */
export class ProcSig {
  acts: SigAction[] = new Array(NSIG).fill(SIG_DFL);
  pend: SigSet = 0n;
  /** The signal that stopped the process (p_xstat while stopped). */
  xsig = 0;
  /** The parent has been told about the current stop (p_waited). */
  waited = true;
  /** PS_STOPPING: a stop is in progress. */
  stopping = false;
  /** Exited with a core dump. */
  core = false;
  /** Inherit dispositions (fork). */
  copyFrom(parent: ProcSig): void { this.acts = parent.acts.slice(); }
}

/* The per-LWP state (l_sigpend, l_sigmask) is in struct lwp itself (h/lwp.ts). */
