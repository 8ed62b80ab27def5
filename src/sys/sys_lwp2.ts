/*
 * The per-LWP service system calls (NetBSD 6 sys_lwp.c, and what the model
 * needs of kern_prot.c and kern_resource.c): ___lwp_park50, _lwp_unpark,
 * _lwp_unpark_all, _lwp_wakeup, _lwp_kill, _lwp_ctl, _lwp_setprivate,
 * _lwp_getprivate, _lwp_setname, _lwp_getname, lwp_pctr, setuid, getuid,
 * setrlimit and getrlimit.
 *
 * Each takes the calling LWP and its arguments, returns an errno (0 on
 * success) and passes results back through `rv`, as the C does.  Arguments
 * C could not even express (a lid that is not an integer, a name that is not
 * a string) are EINVAL before anything else happens.  Each starts with
 * LWP_CACHE_CREDS, as every NetBSD system call does on entry.
 *
 * Where NetBSD 6's code and its manual pages disagree, these follow the
 * code (the doc comment of each call says where).
 */
import { doneWith } from '../kern/done.ts';
import type { Gen } from '../engine/coroutine.ts';
import type { Lwp } from '../kern/h/lwp.ts';
import { EINVAL, ENAMETOOLONG, ENODEV, EBUSY, ESRCH } from '../kern/errno.ts';
import { lwpLock, lwpUnlock, mutexEnter, mutexExit } from '../kern/mutex.ts';
import { lwpFind } from '../kern/lwp.ts';
import { lwpUnsleep } from '../kern/sleepq.ts';
import { kpsignal } from '../kern/sig.ts';
import { lwpPark, lwpUnpark, lwpUnparkAll } from '../kern/park.ts';
import { lwpCtlAlloc } from '../kern/lwpctl.ts';
import type { LwpCtl } from '../kern/h/lwpctl.ts';
import { dosetrlimit, getrlimit, isRlimValue, procSetuid, credOf } from '../kern/resource.ts';
import type { Rlimit } from '../kern/h/resource.ts';
import {
  LSSLEEP, LW_CANCELLED, LW_SINTR, LW_UNPARKED, LWP_UNPARK_MAX, LWPCTL_FEATURE_CURCPU, LWPCTL_FEATURE_PCTR,
  MAXCOMLEN, NSIG, RLIM_NLIMITS,
} from '../kern/param.ts';
import { isLid, lookupLwp, type Retval } from './sys_lwp.ts';

/** What lwpPark takes: all optional. */
export interface ParkOptions {
  /** Give up after this many ticks (ETIMEDOUT).  <= 0: ETIMEDOUT at once; not an integer: EINVAL. */
  timeout?: number;
  /** Unpark this LWP first (0 or absent: nobody). */
  unpark?: number;
  /** What we wait for (any value): the channel an unpark looks on first. */
  hint?: unknown;
  /** The hint the `unpark` target parked with. */
  unparkHint?: unknown;
}

/**
 * ___lwp_park50: unpark `unpark` if given (ESRCH, without parking, if it
 * does not exist), then park (see lwp_park in park.ts for the results).
 * As in NetBSD 6, the unpark happens before the timeout is even looked at,
 * so a park with a bad timeout still unparks its target.
 */
export function sysLwpPark(l: Lwp, opts: unknown, rv: Retval<void>): Gen<number> {
  if (opts !== undefined && opts !== null && typeof opts !== 'object') {
    rv.detail = 'the options must be an object';
    return doneWith(EINVAL);
  }
  const o = (opts ?? {}) as ParkOptions;
  if (o.timeout !== undefined && typeof o.timeout !== 'number') {
    rv.detail = 'timeout must be a number of ticks';
    return doneWith(EINVAL);
  }
  const unpark = o.unpark ?? 0;
  if (!isLid(unpark)) {
    rv.detail = 'unpark must be a lid';
    return doneWith(EINVAL);
  }
  // Plain park: lwp_park's generator is the call's frame (one generator fewer per parked LWP).
  if (unpark === 0) return lwpPark(l, o.timeout, o.hint);
  return unparkThenPark(l, unpark, o);
}

function* unparkThenPark(l: Lwp, unpark: number, o: ParkOptions): Gen<number> {
  const error = yield* lwpUnpark(l, unpark, o.unparkHint);
  if (error !== 0) return error;
  return yield* lwpPark(l, o.timeout, o.hint);
}

/** _lwp_unpark: unpark LWP `lid` (expected on `hint`); ESRCH for an unknown or zombie LWP. */
export function* sysLwpUnpark(l: Lwp, lid: unknown, hint: unknown): Gen<number> {
  if (!isLid(lid)) return EINVAL;
  return yield* lwpUnpark(l, lid, hint);
}

/**
 * _lwp_unpark_all: unpark every LWP in `lids`.  null returns the largest
 * batch accepted (LWP_UNPARK_MAX); an empty or larger batch is EINVAL.
 * LWPs that do not exist are skipped (NetBSD 6 returns 0 regardless).
 */
export function* sysLwpUnparkAll(l: Lwp, lids: unknown, hint: unknown, rv: Retval<number>): Gen<number> {
  if (lids === null) {
    rv.value = LWP_UNPARK_MAX;
    return 0;
  }
  if (!Array.isArray(lids)) {
    rv.detail = 'lids must be an array of lids, or null';
    return EINVAL;
  }
  if (lids.length === 0 || lids.length > LWP_UNPARK_MAX) {
    rv.detail = `between 1 and ${LWP_UNPARK_MAX} lids, got ${lids.length}`;
    return EINVAL;
  }
  if (!lids.every(isLid)) {
    rv.detail = 'every target must be a lid';
    return EINVAL;
  }
  yield* lwpUnparkAll(l, lids.slice(), hint);
  rv.value = 0;
  return 0;
}

/**
 * _lwp_wakeup: make LWP `lid`'s interruptible sleep return EINTR.  ESRCH if
 * there is no such live LWP, ENODEV if it is not asleep, EBUSY if its sleep
 * cannot be interrupted.  As in NetBSD's code, it marks the target
 * LW_CANCELLED and LW_UNPARKED first, whatever happens next: after ENODEV or
 * EBUSY its next park returns EALREADY, or its next interruptible sleep
 * EINTR at once.
 */
export function* sysLwpWakeup(l: Lwp, lid: unknown): Gen<number> {
  if (!isLid(lid)) return EINVAL;
  const k = l.k;
  const p = l.proc;
  const t = yield* lookupLwp(l, lid);
  if (t === null) return ESRCH;
  yield* lwpLock(t);
  t.flag |= LW_CANCELLED | LW_UNPARKED;
  let error: number;
  if (t.stat !== LSSLEEP) {
    lwpUnlock(t);
    error = ENODEV;
  } else if ((t.flag & LW_SINTR) === 0) {
    lwpUnlock(t);
    error = EBUSY;
  } else {
    yield* lwpUnsleep(t, true); // releases t's lock
    error = 0;
  }
  mutexExit(k, p.lock);
  return error;
}

/**
 * _lwp_kill: send signal `sig` to LWP `lid` of our process.  A bad signal
 * number is EINVAL before any lookup; an unknown or zombie LWP ESRCH;
 * signal 0 only checks that the LWP exists.  A real signal goes to the
 * kernel's postLwpSignal hook (the signal subsystem's kpsignal2).
 */
export function* sysLwpKill(l: Lwp, lid: unknown, sig: unknown): Gen<number> {
  if (!Number.isInteger(sig) || (sig as number) < 0 || (sig as number) >= NSIG) return EINVAL;
  if (!isLid(lid)) return EINVAL;
  const k = l.k;
  const p = l.proc;
  yield* mutexEnter(k, k.procLock);
  yield* mutexEnter(k, p.lock);
  const t = lwpFind(p, lid);
  if (t !== null && sig !== 0) {
    yield* kpsignal(t.proc, sig as number, t.lid);
  }
  mutexExit(k, p.lock);
  mutexExit(k, k.procLock);
  return t === null ? ESRCH : 0;
}

/**
 * _lwp_ctl: the caller's control block (the same object on every call).
 * ENODEV for feature bits other than LWPCTL_FEATURE_CURCPU and
 * LWPCTL_FEATURE_PCTR; EBUSY in a vfork child (never, here); ENOMEM when
 * the process's lwpctl area is full.
 */
export function* sysLwpCtl(l: Lwp, features: unknown, rv: Retval<LwpCtl>): Gen<number> {
  if (!Number.isInteger(features) || (features as number) < -0x80000000 || (features as number) > 0x7fffffff) {
    rv.detail = 'features must be an int';
    return EINVAL;
  }
  if (((features as number) & ~(LWPCTL_FEATURE_CURCPU | LWPCTL_FEATURE_PCTR)) !== 0) return ENODEV;
  const r = yield* lwpCtlAlloc(l);
  if (r.error !== 0) return r.error;
  rv.value = r.ctl!;
  return 0;
}

/** _lwp_setprivate: set the caller's private pointer (lwp_setprivate). */
export function* sysLwpSetprivate(l: Lwp, ptr: unknown): Gen<number> {
  l.private = ptr;
  return 0;
}

/** _lwp_getprivate: the caller's private pointer. */
export function* sysLwpGetprivate(l: Lwp, rv: Retval<unknown>): Gen<number> {
  rv.value = l.private;
  return 0;
}

/**
 * _lwp_setname: name LWP `lid` (0: the caller).  A name longer than
 * MAXCOMLEN - 1 = 15 characters is cut to 15 (copyinstr's ENAMETOOLONG is
 * swallowed, as the code does); ESRCH for an unknown or zombie LWP.
 */
export function* sysLwpSetname(l: Lwp, lid: unknown, name: unknown): Gen<number> {
  if (!isLid(lid)) return EINVAL;
  if (typeof name !== 'string') return EINVAL;
  const target = lid === 0 ? l.lid : lid;
  const k = l.k;
  const p = l.proc;
  const t = yield* lookupLwp(l, target);
  if (t === null) return ESRCH;
  yield* lwpLock(t);
  t.name = name.slice(0, MAXCOMLEN - 1);
  lwpUnlock(t);
  mutexExit(k, p.lock);
  return 0;
}

/**
 * _lwp_getname: LWP `lid`'s name (0: the caller's), "" when it has none.
 * ESRCH for an unknown or zombie LWP; ENAMETOOLONG when the name and its NUL
 * do not fit in `len` bytes (copyoutstr), checked after the lookup.
 */
export function* sysLwpGetname(l: Lwp, lid: unknown, len: unknown, rv: Retval<string>): Gen<number> {
  if (!isLid(lid)) return EINVAL;
  if (!Number.isSafeInteger(len) || (len as number) < 0) {
    rv.detail = 'len must be a non-negative integer';
    return EINVAL;
  }
  const target = lid === 0 ? l.lid : lid;
  const k = l.k;
  const p = l.proc;
  const t = yield* lookupLwp(l, target);
  if (t === null) return ESRCH;
  yield* lwpLock(t);
  const name = t.name ?? '';
  lwpUnlock(t);
  mutexExit(k, p.lock);
  if (name.length + 1 > (len as number)) return ENAMETOOLONG;
  rv.value = name;
  return 0;
}

/** lwp_pctr: the caller's count of context switches (l_ncsw). */
export function* sysLwpPctr(l: Lwp, rv: Retval<number>): Gen<number> {
  rv.value = l.ncsw;
  return 0;
}

/** Is x a uid_t other than (uid_t)-1? */
function isUid(x: unknown): x is number {
  return Number.isInteger(x) && (x as number) >= 0 && (x as number) < 0xffffffff;
}

/** setuid: root may take any uid, anyone else only its own (EPERM). */
export function* sysSetuid(l: Lwp, uid: unknown): Gen<number> {
  if (!isUid(uid)) return EINVAL;
  return yield* procSetuid(l, uid);
}

/** getuid: the uid the caller acts with (its cached credentials, refreshed on entry). */
export function* sysGetuid(l: Lwp, rv: Retval<number>): Gen<number> {
  rv.value = credOf(l).uid;
  return 0;
}

function isResource(x: unknown): x is number {
  return Number.isInteger(x) && (x as number) >= 0 && (x as number) < RLIM_NLIMITS;
}

/**
 * setrlimit: EINVAL for an unknown resource, a value that is not a limit
 * (a non-negative integer or RLIM_INFINITY), or cur > max; EPERM to raise
 * the hard limit unless root.  RLIMIT_NTHR is clamped to kern.maxlwp.
 */
export function* sysSetrlimit(l: Lwp, which: unknown, lim: unknown): Gen<number> {
  if (!isResource(which)) return EINVAL;
  if (typeof lim !== 'object' || lim === null) return EINVAL;
  const { cur, max } = lim as Partial<Rlimit>;
  if (!isRlimValue(cur) || !isRlimValue(max)) return EINVAL;
  return yield* dosetrlimit(l, which, { cur, max });
}

/** getrlimit: { cur, max } of a resource; EINVAL for an unknown one. */
export function* sysGetrlimit(l: Lwp, which: unknown, rv: Retval<Rlimit>): Gen<number> {
  if (!isResource(which)) return EINVAL;
  rv.value = getrlimit(l, which);
  return 0;
}
