/*
 * Signals: the part of NetBSD's kern_sig.c the LWP paths stand on.
 *
 * Models kpsignal2 (posting to a process or to one LWP), sigpost (waking
 * or interrupting the LWP that is to take it), issignal (choosing the next
 * signal at the user boundary, acting on ignored and stop signals there),
 * postsig (running the handler or the default action), sigexit, sigswitch
 * (an LWP stopping itself), proc_stop / proc_stop_done, proc_unstop, and
 * lwp_unstop from kern_lwp.c 1.172.
 *
 * State: p.sig.pend is the process-wide pending set, l.sigpend the
 * per-LWP one (signals sent with _lwp_kill), l.sigmask the LWP's blocked
 * set; p.sig.acts the dispositions.  All of it is covered by p.lock.  An
 * LWP with something it should look at has LW_PENDSIG (l.mutex).
 *
 * A handler is user code: a generator function (sys, sig) run on the
 * target LWP at its return to user mode, with the action's mask (and the
 * signal itself) blocked while it runs.  It may make system calls.  A
 * system call interrupted by a caught signal returns EINTR, or is
 * restarted transparently after the handler when the action has
 * SA_RESTART (sleepq_sigtoerror).
 */
import { call, type Gen } from '../engine/coroutine.ts';
import type { Lwp } from './h/lwp.ts';
import type { Proc } from './h/proc.ts';
import { ERESTART, EINTR } from './errno.ts';
import { lwpLock, lwpUnlock, mutexEnter, mutexExit, mutexOwned } from './mutex.ts';
import { LSIDL, LSONPROC, LSSLEEP, LSSTOP, LSZOMB, LW_PENDSIG, LW_SINTR, PS_WEXIT, SACTIVE, SSTOP, SZOMB } from './param.ts';
import { kassert } from './panic.ts';
import { DONE } from './done.ts';
import { cvBroadcast } from './sleepq.ts';
import { miSwitch, setrunnable } from './synch.ts';
import { lwpNeedUserret } from './lwp.ts';
import { coredump, exit1, userFault } from './exit.ts';
import { kseStopped } from './kse.ts';
import {
  NSIG, SA_NODEFER, SA_RESTART, SIGABRT, SIGBUS, SIGCHLD, SIGCONT, SIGEMT, SIGFPE, SIGILL, SIGINFO, SIGIO,
  SIGKILL, SIGPWR, SIGQUIT, SIGSEGV, SIGSTOP, SIGSYS, SIGTRAP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGWINCH,
  SIGXCPU, SIGXFSZ, type SigSet, sigbit,
} from './h/signal.ts';

/* Signal properties (sigprop). */
const P_KILL = 0x01, P_CORE = 0x02, P_STOP = 0x04, P_TTYSTOP = 0x08, P_IGNORE = 0x10, P_CONT = 0x20, P_CANTMASK = 0x40;
const PROP: number[] = new Array(NSIG).fill(P_KILL);
PROP[0] = 0;
for (const s of [SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGEMT, SIGFPE, SIGBUS, SIGSEGV, SIGSYS, SIGXCPU, SIGXFSZ]) PROP[s] = P_KILL | P_CORE;
PROP[SIGKILL] = P_KILL | P_CANTMASK;
PROP[SIGSTOP] = P_STOP | P_CANTMASK;
for (const s of [SIGTSTP, SIGTTIN, SIGTTOU]) PROP[s] = P_STOP | P_TTYSTOP;
PROP[SIGCONT] = P_IGNORE | P_CONT;
for (const s of [SIGURG, SIGCHLD, SIGIO, SIGWINCH, SIGINFO, SIGPWR]) PROP[s] = P_IGNORE;

export function sigprop(sig: number): number { return PROP[sig]!; }
export function isStopSignal(sig: number): boolean { return (PROP[sig]! & P_STOP) !== 0; }
/** Does the default action of `sig` dump core? */
export function dumpsCore(sig: number): boolean { return (PROP[sig]! & P_CORE) !== 0; }

const CANTMASK = sigbit(SIGKILL) | sigbit(SIGSTOP);
const STOPSIGS = sigbit(SIGSTOP) | sigbit(SIGTSTP) | sigbit(SIGTTIN) | sigbit(SIGTTOU);

/** The lowest signal in a set, or 0 (firstsig). */
export function firstsig(set: SigSet): number {
  if (set === 0n) return 0;
  let sig = 1;
  while ((set & 1n) === 0n) { set >>= 1n; sig++; }
  return sig;
}

export function sigsetFrom(sigs: readonly number[]): SigSet {
  let s = 0n;
  for (const sig of sigs) s |= sigbit(sig);
  return s;
}
export function sigsetToArray(set: SigSet): number[] {
  const out: number[] = [];
  for (let sig = 1; set !== 0n; sig++, set >>= 1n) if ((set & 1n) !== 0n) out.push(sig);
  return out;
}

/** A deliverable signal for l: pending for it or its process, and not blocked. */
function deliverable(l: Lwp): SigSet {
  return (l.sigpend | l.proc.sig.pend) & ~l.sigmask;
}

/** Is the signal's action to discard it?  (ignored, or default-ignore) */
function discarded(p: Proc, sig: number): boolean {
  const a = p.sig.acts[sig]!;
  return a.handler === 'ignore' || (a.handler === 'default' && (PROP[sig]! & P_IGNORE) !== 0);
}

/**
 * kpsignal2: post `sig` to process p, or to its LWP `lid` (_lwp_kill).
 * Called with p.lock held; returns with it held.
 */
export function* kpsignal(p: Proc, sig: number, lid = 0): Gen<void> {
  const k = p.k;
  kassert(mutexOwned(k, p.lock), 'kpsignal: p.lock not held');
  kassert(sig > 0 && sig < NSIG, () => `kpsignal: bad signal ${sig}`);
  if (p.stat === SZOMB || p === k.proc0) return;
  const prop = PROP[sig]!;
  if (k.tracing) {
    k.emitFor(k.curlwp(), { type: 'signal', what: 'post', sig, targetPid: p.pid, targetLid: lid });
  }

  // A continue signal cancels pending stops, and continues a stopped
  // process whatever its disposition; a stop signal cancels pending SIGCONT.
  if ((prop & P_CONT) !== 0) {
    clearPending(p, STOPSIGS);
    if (p.stat === SSTOP || p.sig.stopping) yield* procUnstop(p, sig);
  }
  if ((prop & P_STOP) !== 0) clearPending(p, sigbit(SIGCONT));
  if (sig === SIGKILL && (p.stat === SSTOP || p.sig.stopping)) yield* procUnstop(p, sig);

  if (discarded(p, sig)) return;

  // A stop with the default action stops the process now: interruptible
  // sleepers stop where they sleep, the others at their next boundary.
  if ((prop & P_STOP) !== 0 && p.sig.acts[sig]!.handler === 'default') {
    if (p.stat === SACTIVE && !p.sig.stopping) yield* procStop(p, sig);
    return;
  }

  let target: Lwp | null = null;
  if (lid !== 0) {
    target = p.lidMap.get(lid) ?? null;
    if (target === null || target.stat === LSIDL || target.stat === LSZOMB) return;
    target.sigpend |= sigbit(sig);
  } else p.sig.pend |= sigbit(sig);

  // Tell an LWP that can take it; stops and kills go to every LWP.
  const toall = (prop & P_STOP) !== 0 || sig === SIGKILL;
  if (target !== null) {
    yield* sigpost(target, sig);
    return;
  }
  for (const l of p.eachLwp()) {
    if ((yield* sigpost(l, sig)) && !toall) break;
  }
}

function clearPending(p: Proc, set: SigSet): void {
  p.sig.pend &= ~set;
  for (const l of p.eachLwp()) l.sigpend &= ~set;
}

/**
 * sigpost: tell LWP l a signal is pending for it.  Called with p.lock
 * held.  Returns false if l cannot take it (masked, not alive).
 */
function* sigpost(l: Lwp, sig: number): Gen<boolean> {
  if (l.stat === LSIDL || l.stat === LSZOMB || l.refcnt === 0) return false;
  if ((l.sigmask & sigbit(sig)) !== 0n) return false;
  yield* lwpLock(l);
  l.flag |= LW_PENDSIG;
  if (l.stat === LSSLEEP && (l.flag & LW_SINTR) !== 0) {
    yield* setrunnable(l); // interrupt the sleep; releases the LWP lock
    return true;
  }
  if (l.stat === LSONPROC) lwpNeedUserret(l);
  lwpUnlock(l);
  return true;
}

/** sigispending: does l have a signal it should act on now? */
export function sigispending(l: Lwp): boolean {
  return deliverable(l) !== 0n || l.proc.sig.stopping;
}

/**
 * issignal: the next signal l must act on, or 0.  Called with p.lock held.
 * Ignored signals are discarded; a stop signal stops the process (and l
 * with it) here; a process that is stopping stops l.  The signal returned
 * stays pending until postsig takes it.
 */
export function* issignal(l: Lwp): Gen<number> {
  const p = l.proc;
  for (;;) {
    if (p.sig.stopping || p.stat === SSTOP) {
      yield* sigswitch(l);
      continue;
    }
    const set = deliverable(l);
    const sig = firstsig(set);
    if (sig === 0) {
      l.flag &= ~LW_PENDSIG;
      return 0;
    }
    const a = p.sig.acts[sig]!;
    if (discarded(p, sig)) {
      takeSignal(l, sig);
      continue;
    }
    if (a.handler === 'default' && (PROP[sig]! & P_STOP) !== 0) {
      takeSignal(l, sig);
      yield* procStop(p, sig);
      continue;
    }
    return sig;
  }
}

/** Remove sig from the pending sets l sees (its own first). */
function takeSignal(l: Lwp, sig: number): void {
  const b = sigbit(sig);
  if ((l.sigpend & b) !== 0n) l.sigpend &= ~b;
  else l.proc.sig.pend &= ~b;
}

/**
 * The issignal/postsig loop of lwp_userret: deliver every pending signal.
 * Called by curlwp with nothing locked.  Handlers run here, as user code;
 * a default action that kills never returns.
 */
export function* postsigs(l: Lwp): Gen<void> {
  const k = l.k;
  const p = l.proc;
  for (;;) {
    yield* mutexEnter(k, p.lock);
    const sig = yield* issignal(l);
    if (sig === 0) {
      mutexExit(k, p.lock);
      return;
    }
    takeSignal(l, sig);
    const a = p.sig.acts[sig]!;
    mutexExit(k, p.lock);
    if (k.tracing) k.emitFor(l, { type: 'signal', what: 'deliver', sig, targetPid: p.pid, targetLid: l.lid });
    if (a.handler === 'default' || a.handler === 'ignore') {
      yield* sigexit(l, sig);
      return;
    }
    // The handler runs with the action's mask, and the signal itself, blocked.
    const saved = l.sigmask;
    l.sigmask |= (a.mask | ((a.flags & SA_NODEFER) !== 0 ? 0n : sigbit(sig))) & ~CANTMASK;
    let fault: { e: unknown } | null = null;
    try {
      yield* call(a.handler(l.sys, sig) as Gen<unknown>);
    } catch (e) {
      fault = { e };
    }
    if (fault !== null) return yield* userFault(l, fault.e);
    // sigreturn: the old mask is back; anything it unblocks is noticed.
    yield* mutexEnter(k, p.lock);
    l.sigmask = saved;
    if (deliverable(l) !== 0n) l.flag |= LW_PENDSIG;
    mutexExit(k, p.lock);
  }
}

/**
 * sigexit: l takes a signal whose action kills the process.  Called with
 * nothing locked; never returns.  Core-dumping signals dump core first.
 */
export function* sigexit(l: Lwp, sig: number): Gen<never> {
  const k = l.k;
  yield* mutexEnter(k, l.proc.lock);
  if (dumpsCore(sig)) return yield* coredump(l, sig);
  return yield* exit1(l, 0, sig);
}

/**
 * The error an interruptible sleep returns when a signal is pending
 * (sleepq_block's check): the process may stop here; a caught signal
 * gives ERESTART if its action has SA_RESTART, else EINTR.  Called by
 * curlwp with nothing locked.
 */
export function* sigsleepError(l: Lwp): Gen<number> {
  const k = l.k;
  const p = l.proc;
  yield* mutexEnter(k, p.lock);
  const sig = yield* issignal(l);
  const error = sig === 0 ? 0 : (p.sig.acts[sig]!.flags & SA_RESTART) !== 0 ? ERESTART : EINTR;
  mutexExit(k, p.lock);
  return error;
}

/**
 * proc_stop: start stopping process p with signal `sig`.  Called with
 * p.lock held.  LWPs asleep interruptibly stop where they sleep; the
 * others are told to stop at their next user boundary.  The last LWP to
 * stop finishes the job (proc_stop_done).
 */
export function* procStop(p: Proc, sig: number): Gen<void> {
  const k = p.k;
  kassert(mutexOwned(k, p.lock), 'proc_stop: p.lock not held');
  p.sig.stopping = true;
  p.sig.xsig = sig;
  for (const l of p.eachLwp()) {
    yield* lwpLock(l);
    if (l.stat === LSSLEEP && (l.flag & LW_SINTR) !== 0) {
      k.setStat(l, LSSTOP, 'stop');
      p.nrlwps--;
      if (l.kse !== null) kseStopped(l);
    }
    lwpUnlock(l);
  }
  if (p.nrlwps === 0) {
    yield* procStopDone(p);
    return;
  }
  // Everyone else stops at its next boundary, or at its next interruptible
  // sleep (sleepq_block sees the pending stop and stops there).
  for (const l of p.eachLwp()) {
    if (l.stat === LSIDL || l.stat === LSZOMB || l.stat === LSSTOP) continue;
    yield* lwpLock(l);
    l.flag |= LW_PENDSIG;
    if (l.stat === LSONPROC) lwpNeedUserret(l);
    lwpUnlock(l);
  }
}

/**
 * The check of proc_stop_callout (NetBSD's kern_sig.c), made where an LWP
 * leaves p_nrlwps by a path other than stopping (lwp_exit): if it was the
 * last one running while the process is stopping, the stop is done.  The
 * seed's callout finds this a tick later; nothing else would.  Called with
 * p.lock held.
 */
export function procStopCheck(p: Proc): Gen<void> {
  kassert(mutexOwned(p.k, p.lock), 'proc_stop_callout: p.lock not held');
  if (p.sig.stopping && p.nrlwps === 0 && (p.sflag & PS_WEXIT) === 0) return procStopDone(p);
  return DONE; // no stop in progress, or not done yet: no generator
}

/**
 * proc_stop_done: every LWP has stopped.  The process is SSTOP and its
 * parent is told (a waitpid that asks for stops returns, and SIGCHLD).
 * Called with p.lock held.
 */
function* procStopDone(p: Proc): Gen<void> {
  const k = p.k;
  p.sig.stopping = false;
  p.stat = SSTOP;
  p.sig.waited = false;
  if (k.tracing) {
    k.emitAt(p.pid, k.curlwp()?.lid ?? -1, { type: 'proc', what: 'stop', detail: `signal ${p.sig.xsig}` });
  }
  yield* notifyParent(p);
}

/** Wake the parent's waitpid and post it SIGCHLD.  Called with p.lock held. */
export function* notifyParent(p: Proc): Gen<void> {
  const parent = p.pptr;
  if (parent === null) return;
  const k = p.k;
  yield* cvBroadcast(k, parent.waitcv);
  // The parent's own lock, after ours: the order child -> parent is the one
  // every caller here uses, so it cannot deadlock against another.
  yield* mutexEnter(k, parent.lock);
  yield* kpsignal(parent, SIGCHLD);
  mutexExit(k, parent.lock);
}

/**
 * sigswitch: l stops itself because its process is stopping or stopped.
 * Called with p.lock held; returns with it held once continued.
 */
function* sigswitch(l: Lwp): Gen<void> {
  const k = l.k;
  const p = l.proc;
  kassert(l.stat === LSONPROC, 'sigswitch: not running');
  p.nrlwps--;
  if (p.sig.stopping && p.nrlwps === 0) yield* procStopDone(p);
  yield* lwpLock(l);
  k.setStat(l, LSSTOP, 'stop');
  lwpUnlock(l);
  mutexExit(k, p.lock);
  yield* lwpLock(l);
  yield* miSwitch(l);
  yield* mutexEnter(k, p.lock);
}

/**
 * proc_unstop: SIGCONT (or SIGKILL) continues a stopped or stopping
 * process.  Called with p.lock held.  p_xstat is what lwp_unstop looks
 * at: a continue clears it, so LWPs stopped asleep go back to their sleep;
 * SIGKILL keeps a signal there, so interruptible sleepers wake to take it.
 */
export function* procUnstop(p: Proc, sig: number): Gen<void> {
  const k = p.k;
  kassert(mutexOwned(k, p.lock), 'proc_unstop: p.lock not held');
  if (k.tracing) {
    k.emitAt(p.pid, k.curlwp()?.lid ?? -1, { type: 'proc', what: 'continue', detail: `pid ${p.pid}` });
  }
  p.stat = SACTIVE;
  p.sig.stopping = false;
  p.sig.xsig = sig === SIGKILL ? SIGKILL : 0;
  for (const l of p.eachLwp()) yield* lwpUnstop(l);
  p.sig.xsig = 0;
}

/**
 * lwp_unstop: restart a stopped LWP.  Called with p.lock held and the LWP
 * unlocked; returns with it unlocked.  Three cases (1.172): not asleep
 * underneath -> runnable; asleep interruptibly with a stop signal to take
 * -> runnable, to take it; otherwise back to sleep where it was.
 */
export function* lwpUnstop(l: Lwp): Gen<void> {
  const k = l.k;
  const p = l.proc;
  kassert(mutexOwned(k, p.lock), 'lwp_unstop: p.lock not held');
  yield* lwpLock(l);
  if (l.stat !== LSSTOP) {
    lwpUnlock(l);
    return;
  }
  p.stat = SACTIVE;
  p.sig.stopping = false;
  if (l.wchan === null) {
    yield* setrunnable(l);
  } else if (p.sig.xsig !== 0 && (l.flag & LW_SINTR) !== 0) {
    yield* setrunnable(l);
  } else {
    k.setStat(l, LSSLEEP, 'continue');
    p.nrlwps++;
    lwpUnlock(l);
  }
}
