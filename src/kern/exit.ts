/*
 * Process exit and reaping (kern_exit.c): exit1, exit_lwps, the parent's
 * wait (find_stopped_child + proc_free), and the fault path that kills a
 * process whose program threw.
 *
 * exit1 runs in the exiting LWP with p.lock held.  It marks the process
 * PS_WEXIT, makes every other LWP exit and collects them (exit_lwps), then
 * the process goes SDYING -> SDEAD -> SZOMB with one LSZOMB LWP left, which
 * the parent frees when it reaps the process.  Processes spawned by the
 * machine itself have no parent process: they stay SZOMB for inspection.
 */
import type { Gen } from '../engine/coroutine.ts';
import type { Lwp, Proc } from './kernel.ts';
import { ECHILD } from './errno.ts';
import { lwpLock, lwpUnlock, mutexEnter, mutexExit, mutexOwned } from './mutex.ts';
import {
  LPR_DETACHED, LSSLEEP, LSSTOP, LSSUSPENDED, LSZOMB, LW_SINTR, LW_WEXIT, LWPWAIT_EXITCONTROL,
  PS_WEXIT, SDEAD, SDYING, SIGSEGV, SZOMB,
} from './param.ts';
import { kassert } from './panic.ts';
import { cvBroadcast, cvWaitSig } from './sleepq.ts';
import { lwpDrainrefs, lwpExit, lwpFree, lwpNeedUserret, lwpWait1 } from './lwp.ts';
import { lwpExitSwitchaway, setrunnable } from './synch.ts';
import { EDEADLK } from './errno.ts';

/**
 * exit1: end the process.  Called by curlwp with p.lock held; never
 * returns.  `code` is the exit status, `sig` the signal that killed it (0
 * for a normal exit).
 */
export function* exit1(l: Lwp, code: number, sig: number): Gen<never> {
  const k = l.k;
  const p = l.proc;
  kassert(mutexOwned(k, p.lock), 'exit1: p.lock not held');
  kassert(p !== k.proc0, 'exit1: proc0');

  // Another LWP is already exiting the process: just go.
  if ((p.sflag & PS_WEXIT) !== 0) {
    mutexExit(k, p.lock);
    return yield* lwpExit(l);
  }
  p.sflag |= PS_WEXIT;
  if (k.tracing) k.emit({ type: 'proc', what: 'exit', detail: sig !== 0 ? `signal ${sig}` : `status ${code}`, ...k.ev(l) });

  // Make every other LWP exit before tearing the process down.
  if (p.nlwps > 1) yield* exitLwps(l);
  kassert(p.nlwps === 1, () => `exit1: ${p.nlwps} lwps left after exit_lwps`);

  p.stat = SDYING;
  p.xstat = code & 0xff;
  p.termsig = sig;
  // Drain references to the last LWP now, before proc_lock is held (the
  // seed does this under proc_lock; the model never sleeps holding it).
  yield* lwpDrainrefs(l);
  mutexExit(k, p.lock);

  yield* mutexEnter(k, k.procLock);
  // Orphans go to init (the machine).
  for (const c of p.children) c.pptr = null;
  p.children.clear();
  p.stat = SDEAD;

  yield* mutexEnter(k, p.lock);
  l.prflag &= ~LPR_DETACHED;
  yield* lwpLock(l);
  k.setStat(l, LSZOMB, 'exit');
  lwpUnlock(l);
  p.stat = SZOMB;
  p.nrlwps--;
  p.nzlwps++;
  p.ndlwps = 0;
  p.lastlwp = l;
  mutexExit(k, p.lock);

  if (p.pptr !== null) yield* cvBroadcast(k, p.pptr.waitcv);
  mutexExit(k, k.procLock);
  if (k.tracing) k.emit({ type: 'proc', what: 'zombie', detail: sig !== 0 ? `signal ${sig}` : `status ${code & 0xff}`, ...k.ev(l) });
  return yield* lwpExitSwitchaway(l);
}

/**
 * exit_lwps (NetBSD 6): tell every other LWP to exit, wake the ones that
 * are stopped, suspended or asleep interruptibly, and collect them all.
 * Called with p.lock held; returns with it held and only l left.
 *
 * As in NetBSD 6, an LWP running in user mode is only flagged, not kicked:
 * it exits at its next trip through lwp_userret.
 */
function* exitLwps(l: Lwp): Gen<void> {
  const k = l.k;
  const p = l.proc;
  retry: for (;;) {
    kassert(mutexOwned(k, p.lock), 'exit_lwps: p.lock not held');
    for (const l2 of p.eachLwp()) {
      if (l2 === l) continue;
      yield* lwpLock(l2);
      l2.flag |= LW_WEXIT;
      if ((l2.stat === LSSLEEP && (l2.flag & LW_SINTR) !== 0) || l2.stat === LSSUSPENDED || l2.stat === LSSTOP) {
        yield* setrunnable(l2);
        continue;
      }
      lwpUnlock(l2);
    }
    while (p.nlwps > 1) {
      const r = yield* lwpWait1(l, 0, LWPWAIT_EXITCONTROL);
      if (p.nlwps === 1) break;
      if (r.error === EDEADLK) continue retry;
      kassert(r.error === 0, () => `exit_lwps: lwp_wait1 failed with error ${r.error}`);
    }
    return;
  }
}

/**
 * A start routine threw: the LWP faulted.  Like a fatal signal (sigexit),
 * every other LWP is told to exit and kicked to the kernel boundary, and
 * the process dies with SIGSEGV and the reason recorded.  Called by curlwp
 * with nothing locked; never returns.
 */
export function* userFault(l: Lwp, error: unknown): Gen<never> {
  const k = l.k;
  const p = l.proc;
  const reason = `lwp ${l.lid} threw ${describeError(error)}`;
  if (k.tracing) k.emit({ type: 'proc', what: 'fault', detail: reason, ...k.ev(l) });
  yield* mutexEnter(k, p.lock);
  if ((p.sflag & PS_WEXIT) !== 0) {
    mutexExit(k, p.lock);
    return yield* lwpExit(l);
  }
  if (p.fault === null) p.fault = reason;
  for (const l2 of p.eachLwp()) {
    if (l2 === l) continue;
    yield* lwpLock(l2);
    l2.flag |= LW_WEXIT;
    lwpNeedUserret(l2);
    lwpUnlock(l2);
  }
  return yield* exit1(l, 0, SIGSEGV);
}

export function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  try { return `a non-Error value: ${JSON.stringify(e) ?? String(e)}`; } catch { return `a non-Error value: ${String(e)}`; }
}

/** What the parent learns about a child it reaps. */
export interface ChildStatus {
  error: number;
  pid: number;
  status: number;
  signal: number;
}

/**
 * wait for a child (find_stopped_child + proc_free): pid > 0 for that child,
 * -1 for any.  Sleeps interruptibly until one is a zombie; ECHILD if there
 * is no such child.  Called by curlwp with nothing locked.
 */
export function* procWait(l: Lwp, pid: number): Gen<ChildStatus> {
  const k = l.k;
  const p = l.proc;
  yield* mutexEnter(k, k.procLock);
  for (;;) {
    let found = false;
    for (const c of p.children) {
      if (pid !== -1 && c.pid !== pid) continue;
      found = true;
      if (c.stat === SZOMB) {
        const st: ChildStatus = { error: 0, pid: c.pid, status: c.xstat, signal: c.termsig };
        yield* procFree(c); // releases procLock
        return st;
      }
    }
    if (!found) {
      mutexExit(k, k.procLock);
      return { error: ECHILD, pid: 0, status: 0, signal: 0 };
    }
    const error = yield* cvWaitSig(l, p.waitcv, k.procLock);
    if (error !== 0) {
      mutexExit(k, k.procLock);
      return { error, pid: 0, status: 0, signal: 0 };
    }
  }
}

/**
 * proc_free: the parent collects a zombie.  Called with procLock held,
 * which it releases.  The last LWP is freed once it is off its CPU.
 */
function* procFree(c: Proc): Gen<void> {
  const k = c.k;
  const parent = c.pptr!;
  kassert(c.stat === SZOMB && c.nlwps === 1 && c.nzlwps === 1 && c.nrlwps === 0, 'proc_free: not a clean zombie');
  parent.children.delete(c);
  parent.rtime += c.rtime;
  c.reaped = true;
  mutexExit(k, k.procLock);
  const last = c.lastlwp!;
  yield* lwpFree(last, false, true);
  c.rtime += last.rtime;
  if (k.tracing) k.emit({ type: 'proc', what: 'reap', detail: `pid ${c.pid}`, ...k.ev(k.curlwp()!) });
}
