/*
 * The LWP system calls (NetBSD 6 sys_lwp.c): _lwp_create, _lwp_exit,
 * _lwp_self, _lwp_wait, _lwp_suspend, _lwp_continue, _lwp_detach.
 *
 * Each takes the calling LWP and its arguments, returns an errno (0 on
 * success) and passes results back through `rv`, as the C does.  Argument
 * checks come first: a value C could not even express (a lid that is not
 * an integer, a start routine that is not a generator function) is EINVAL.
 */
import type { Gen } from '../engine/coroutine.ts';
import type { Lwp, Program } from '../kern/h/lwp.ts';
import { EDEADLK, EINVAL, ERESTART, ESRCH } from '../kern/errno.ts';
import { lwpLock, lwpUnlock, lwpUnlockTo, mutexEnter, mutexExit } from '../kern/mutex.ts';
import { lwpContinue, lwpCreate, lwpExit, lwpFind, lwpFree, lwpSuspend, lwpWait1 } from '../kern/lwp.ts';
import { cvBroadcast, cvWaitSig } from '../kern/sleepq.ts';
import { schedEnqueueRunnable } from '../kern/synch.ts';
import { lwpCacheCreds, lwpCreateLimits } from '../kern/resource.ts';
import {
  LPR_DETACHED, LSIDL, LSRUN, LSSTOP, LSSUSPENDED, LSZOMB, LW_WCORE, LW_WEXIT, LW_WREBOOT, LW_WSUSPEND,
  LWP_DETACHED, LWP_SUSPENDED, SSTOP,
} from '../kern/param.ts';

/** The result slot of a system call (retval). */
export interface Retval<T> { value: T; detail?: string }

/** Longest LWP name kept (MAXCOMLEN - 1). */
export const LWP_NAME_MAX = 15;

const GeneratorFunction = Object.getPrototypeOf(function* () {}).constructor as FunctionConstructor;

export function isGeneratorFunction(fn: unknown): fn is Program {
  return fn instanceof GeneratorFunction;
}

export function isLid(x: unknown): x is number {
  return Number.isInteger(x) && (x as number) >= -0x80000000 && (x as number) <= 0x7fffffff;
}

/**
 * Look up live LWP `lid` of the caller's process for a system call:
 * returns it with p.lock held (the LWP itself unlocked), or null with
 * p.lock released (the caller returns ESRCH).
 */
export function* lookupLwp(l: Lwp, lid: number): Gen<Lwp | null> {
  const k = l.k;
  const p = l.proc;
  yield* mutexEnter(k, p.lock);
  const t = lwpFind(p, lid);
  if (t === null) mutexExit(k, p.lock);
  return t;
}

export interface CreateOptions {
  flags?: number;
  name?: string;
  /** The new LWP's private pointer (what _lwp_getprivate returns in it); default null. */
  private?: unknown;
}

/**
 * _lwp_create: a new LWP in the caller's process running fn(sys, arg).
 * Unknown flag bits are ignored, as NetBSD 6 does.  The new LWP starts
 * runnable, or suspended (LWP_SUSPENDED, or the creator is being suspended
 * or is exiting), or stopped if the process is stopping.
 */
export function* sysLwpCreate(l: Lwp, fn: unknown, arg: unknown, opts: CreateOptions | undefined, rv: Retval<number>): Gen<number> {
  if (!isGeneratorFunction(fn)) {
    rv.detail = 'the start routine must be a generator function (function*)';
    return EINVAL;
  }
  const flags = opts?.flags ?? 0;
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) {
    rv.detail = `flags must be an unsigned integer, got ${String(flags)}`;
    return EINVAL;
  }
  let name: string | null = null;
  if (opts?.name !== undefined) {
    if (typeof opts.name !== 'string') {
      rv.detail = 'name must be a string';
      return EINVAL;
    }
    name = opts.name.slice(0, LWP_NAME_MAX);
  }
  const k = l.k;
  const p = l.proc;
  // lwp_create's limits (kern.maxlwp, FreeBSD's per-process cap, RLIMIT_NTHR).
  yield* lwpCacheCreds(l);
  const limit = lwpCreateLimits(l, p);
  if (limit !== 0) return limit;
  const l2 = yield* lwpCreate(l, p, flags & LWP_DETACHED, { fn, arg }, name);
  rv.value = l2.lid;
  if (opts?.private !== undefined) l2.private = opts.private;

  yield* mutexEnter(k, p.lock);
  yield* lwpLock(l2);
  const counted = k.personality.createCountsNrlwps;
  if ((flags & LWP_SUSPENDED) === 0 && (l.flag & (LW_WREBOOT | LW_WSUSPEND | LW_WEXIT)) === 0) {
    if (p.stat === SSTOP || p.sig.stopping) { // SSTOP or PS_STOPPING
      k.setStat(l2, LSSTOP, 'create');
      if (counted) p.nrlwps--;
      lwpUnlockTo(l2, l2.cpu.spcLwplock);
    } else {
      if (!counted) p.nrlwps++;
      k.setStat(l2, LSRUN, 'create');
      schedEnqueueRunnable(l2);
      lwpUnlock(l2);
    }
  } else {
    k.setStat(l2, LSSUSPENDED, 'create');
    if (counted) p.nrlwps--;
    lwpUnlockTo(l2, l2.cpu.spcLwplock);
  }
  mutexExit(k, p.lock);
  return 0;
}

/** _lwp_exit: never returns. */
export function* sysLwpExit(l: Lwp): Gen<number> {
  return yield* lwpExit(l);
}

/** _lwp_wait: collect LWP `lid` (0: any undetached one). */
export function* sysLwpWait(l: Lwp, lid: unknown, rv: Retval<number>): Gen<number> {
  if (!isLid(lid)) return EINVAL;
  const k = l.k;
  yield* mutexEnter(k, l.proc.lock);
  const r = yield* lwpWait1(l, lid, 0);
  mutexExit(k, l.proc.lock);
  rv.value = r.departed;
  return r.error;
}

/**
 * _lwp_suspend: suspend LWP `lid` and wait until it really is suspended,
 * or no longer needs to be.  As in NetBSD 6 the wait comes first and the
 * checks after each wakeup; suspending oneself sleeps here until continued.
 */
export function* sysLwpSuspend(l: Lwp, lid: unknown): Gen<number> {
  if (!isLid(lid)) return EINVAL;
  const k = l.k;
  const p = l.proc;
  const t = yield* lookupLwp(l, lid);
  if (t === null) return ESRCH;
  yield* lwpLock(t);
  // Deadlock is only possible when suspending ourselves with nobody else
  // left to continue us (a short race on p.nrlwps, as the seed admits).
  if ((t === l && p.nrlwps === 1) || (l.flag & (LW_WCORE | LW_WEXIT)) !== 0) {
    lwpUnlock(t);
    mutexExit(k, p.lock);
    return EDEADLK;
  }
  let error = yield* lwpSuspend(l, t);
  if (error !== 0) {
    mutexExit(k, p.lock);
    return error;
  }
  for (;;) {
    error = yield* cvWaitSig(l, p.lwpcv, p.lock);
    if (error !== 0) {
      error = ERESTART;
      break;
    }
    if (lwpFind(p, lid) === null) {
      error = ESRCH;
      break;
    }
    if (((l.flag | t.flag) & (LW_WCORE | LW_WEXIT)) !== 0) {
      error = ERESTART;
      break;
    }
    if (t.stat === LSSUSPENDED || (t.flag & LW_WSUSPEND) === 0) break;
  }
  mutexExit(k, p.lock);
  return error;
}

/** _lwp_continue: resume LWP `lid`, or cancel its pending suspension. */
export function* sysLwpContinue(l: Lwp, lid: unknown): Gen<number> {
  if (!isLid(lid)) return EINVAL;
  const t = yield* lookupLwp(l, lid);
  if (t === null) return ESRCH;
  yield* lwpLock(t);
  yield* lwpContinue(t);
  mutexExit(l.k, l.proc.lock);
  return 0;
}

/**
 * _lwp_detach: make LWP `lid` detached (nobody will wait for it).  A zombie
 * is freed at once; EINVAL if already detached.  Zombies are found too, so
 * this does not use lwp_find.
 */
export function* sysLwpDetach(l: Lwp, lid: unknown): Gen<number> {
  if (!isLid(lid)) return EINVAL;
  const k = l.k;
  const p = l.proc;
  yield* mutexEnter(k, p.lock);
  const t = lid === l.lid ? l : (p.lidMap.get(lid) ?? null);
  let error: number;
  if (t !== null && t.stat !== LSIDL) {
    if ((t.prflag & LPR_DETACHED) === 0) {
      p.ndlwps++;
      t.prflag |= LPR_DETACHED;
      if (t.stat === LSZOMB) {
        yield* lwpFree(t, false, false); // releases p.lock
        return 0;
      }
      error = 0;
      // Waiters in lwp_wait1 re-check for deadlock.
      yield* cvBroadcast(k, p.lwpcv);
    } else error = EINVAL;
  } else error = ESRCH;
  mutexExit(k, p.lock);
  return error;
}
