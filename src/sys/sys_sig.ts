/*
 * Signal and image system calls (NetBSD sys_sig.c, kern_exec.c reduced):
 * kill, sigaction, sigprocmask, and exec.
 *
 * Signal sets cross the user boundary as arrays of signal numbers.
 * SIGKILL and SIGSTOP can be neither caught, ignored nor blocked.
 */
import { unwind, type Gen } from '../engine/coroutine.ts';
import type { Lwp } from '../kern/h/lwp.ts';
import type { Proc } from '../kern/h/proc.ts';
import { EINVAL, ENOEXEC, EPERM, ESRCH } from '../kern/errno.ts';
import { mutexEnter, mutexExit, lwpLock, lwpUnlock } from '../kern/mutex.ts';
import { execSingle } from '../kern/exit.ts';
import { setExecImage } from '../kern/lwp.ts';
import { LW_PENDSIG, SACTIVE, SSTOP } from '../kern/param.ts';
import { kpsignal, sigprop, sigsetFrom, sigsetToArray } from '../kern/sig.ts';
import {
  NSIG, SA_NODEFER, SA_RESTART, SIG_BLOCK, SIG_SETMASK, SIG_UNBLOCK, SIGKILL, SIGSTOP, sigbit, type SigAction,
  type SigHandler,
} from '../kern/h/signal.ts';
import { isGeneratorFunction, type Retval } from './sys_lwp.ts';

const UNCATCHABLE = sigbit(SIGKILL) | sigbit(SIGSTOP);

function validSig(sig: unknown, zeroOk: boolean): sig is number {
  return Number.isInteger(sig) && (sig as number) >= (zeroOk ? 0 : 1) && (sig as number) < NSIG;
}

function validSet(set: unknown): set is number[] {
  return Array.isArray(set) && set.every((s) => validSig(s, false));
}

/** May the caller signal process t?  Root, or the same uid (kauth's rule, reduced). */
function maySignal(l: Lwp, t: Proc): boolean {
  const uid = l.proc.uid;
  return uid === 0 || uid === t.uid;
}

/** kill: post `sig` to process `pid` (0: only check that it exists and may be signalled). */
export function* sysKill(l: Lwp, pid: unknown, sig: unknown, rv: Retval<void>): Gen<number> {
  if (!validSig(sig, true)) return EINVAL;
  if (!Number.isInteger(pid) || (pid as number) <= 0) {
    rv.detail = 'pid must be a process id (process groups are not modeled)';
    return EINVAL;
  }
  const k = l.k;
  yield* mutexEnter(k, k.procLock);
  const t = k.procs.get(pid as number);
  if (t === undefined || t === k.proc0 || (t.stat !== SACTIVE && t.stat !== SSTOP)) {
    mutexExit(k, k.procLock);
    return ESRCH;
  }
  if (!maySignal(l, t)) {
    mutexExit(k, k.procLock);
    return EPERM;
  }
  yield* mutexEnter(k, t.lock);
  mutexExit(k, k.procLock);
  if (sig !== 0) yield* kpsignal(t, sig);
  mutexExit(k, t.lock);
  return 0;
}

export interface SigactionOptions { restart?: boolean; mask?: number[]; nodefer?: boolean }
export interface SigactionResult { handler: 'default' | 'ignore' | SigHandler; restart: boolean; mask: number[] }

/**
 * sigaction: set what `sig` does; returns what it did.  `handler` undefined
 * only reads.  Setting 'ignore' (or 'default' for a signal whose default
 * is to ignore) discards it where pending.
 */
export function* sysSigaction(l: Lwp, sig: unknown, handler: unknown, opts: SigactionOptions | undefined, rv: Retval<SigactionResult>): Gen<number> {
  if (!validSig(sig, false)) return EINVAL;
  const isHandler = isGeneratorFunction(handler);
  if (handler !== undefined && handler !== 'default' && handler !== 'ignore' && !isHandler) {
    rv.detail = "the handler must be a generator function, 'default' or 'ignore'";
    return EINVAL;
  }
  if (handler !== undefined && handler !== 'default' && (UNCATCHABLE & sigbit(sig)) !== 0n) {
    rv.detail = 'SIGKILL and SIGSTOP cannot be caught or ignored';
    return EINVAL;
  }
  if (opts?.mask !== undefined && !validSet(opts.mask)) return EINVAL;
  const k = l.k;
  const p = l.proc;
  yield* mutexEnter(k, p.lock);
  const old = p.sig.acts[sig]!;
  rv.value = { handler: old.handler, restart: (old.flags & SA_RESTART) !== 0, mask: sigsetToArray(old.mask) };
  if (handler !== undefined) {
    const act: SigAction = {
      handler: handler as SigAction['handler'],
      flags: (opts?.restart ? SA_RESTART : 0) | (opts?.nodefer ? SA_NODEFER : 0),
      mask: opts?.mask ? sigsetFrom(opts.mask) : 0n,
    };
    p.sig.acts[sig] = act;
    if (handler === 'ignore' || (handler === 'default' && (sigprop(sig) & 0x10) !== 0)) {
      p.sig.pend &= ~sigbit(sig);
      for (const l2 of p.eachLwp()) l2.sigpend &= ~sigbit(sig);
    }
  }
  mutexExit(k, p.lock);
  return 0;
}

export type SigprocmaskHow = 'block' | 'unblock' | 'setmask';
const HOW: Record<SigprocmaskHow, number> = { block: SIG_BLOCK, unblock: SIG_UNBLOCK, setmask: SIG_SETMASK };

/** sigprocmask: change this LWP's blocked set; returns the old one.  `set` null only reads. */
export function* sysSigprocmask(l: Lwp, how: unknown, set: unknown, rv: Retval<number[]>): Gen<number> {
  if (set !== null && set !== undefined && !validSet(set)) return EINVAL;
  const h = HOW[how as SigprocmaskHow];
  if (set !== null && set !== undefined && h === undefined) return EINVAL;
  const k = l.k;
  const p = l.proc;
  yield* mutexEnter(k, p.lock);
  rv.value = sigsetToArray(l.sigmask);
  if (set !== null && set !== undefined) {
    const s = sigsetFrom(set);
    if (h === SIG_BLOCK) l.sigmask |= s;
    else if (h === SIG_UNBLOCK) l.sigmask &= ~s;
    else l.sigmask = s;
    l.sigmask &= ~UNCATCHABLE;
    // Something pending just became deliverable: take it on the way out.
    if (((l.sigpend | p.sig.pend) & ~l.sigmask) !== 0n) {
      yield* lwpLock(l);
      l.flag |= LW_PENDSIG;
      lwpUnlock(l);
    }
  }
  mutexExit(k, p.lock);
  return 0;
}

/**
 * exec: replace the process's image with program(sys, arg).  Every other
 * LWP is parked at the boundary, then made to exit; caught signals go back
 * to their default (ignored ones stay ignored); the caller's old frames are
 * dropped and it starts the new program.  Does not return on success.
 */
export function* sysExec(l: Lwp, program: unknown, arg: unknown, rv: Retval<never>): Gen<number> {
  if (!isGeneratorFunction(program)) {
    rv.detail = 'the program must be a generator function (function*)';
    return ENOEXEC;
  }
  const k = l.k;
  const p = l.proc;
  yield* mutexEnter(k, p.lock);
  const error = yield* execSingle(l);
  if (error !== 0) {
    mutexExit(k, p.lock);
    return error;
  }
  p.sig.acts = p.sig.acts.map((a) => (typeof a.handler === 'function' ? { handler: 'default', flags: 0, mask: 0n } : a));
  if (program.name) p.name = program.name;
  mutexExit(k, p.lock);
  if (k.tracing) k.emitFor(l, { type: 'proc', what: 'exec', detail: p.name });
  setExecImage(l, { fn: program, arg });
  yield unwind(1);
  return k.panic('exec: the old image came back');
}
