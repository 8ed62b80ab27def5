/*
 * Parking: the kernel half of libpthread's mutexes and condition variables
 * (NetBSD 6 sys_lwp.c: lwp_park, lwp_unpark, and the loop of
 * sys__lwp_unpark_all; the wakeup of sys__lwp_wakeup sits beside them in
 * src/sys/sys_lwp2.ts).
 *
 * Models lwp_park_wchan, lwp_park, lwp_unpark and lwp_unpark_all.
 *
 * An LWP parks on a wait channel made of its process and a "hint" (any
 * value, usually the address of the user-level object it waits for; here
 * the object itself), and sleeps there interruptibly, with wmesg "parked".
 * Unparking a target looks on the channel of the same hint first, which
 * finds it at once in the common case.  A target that is not there is
 * looked up by lid: if it is parked under another hint it is woken anyway;
 * otherwise (it has not parked yet, or it sleeps on something else) the
 * unpark is left pending in LW_UNPARKED, and its next park returns EALREADY
 * at once and clears it.  Several pending unparks collapse into one.  That
 * mark, and LW_CANCELLED which _lwp_wakeup sets, are what keep a wakeup from
 * being lost in the window between a thread deciding to park and parking.
 *
 * Locks: the channel's sleep queue lock, then the LWP lock (lwp_park, as
 * sleepq_enter does), or p.lock then the LWP lock (the lookup by lid).
 * Channels are hashed into the kernel's one sleep table (NetBSD keeps a
 * separate lwp_park_tab; only the hashing differs).
 */
import type { Gen } from '../engine/coroutine.ts';
import type { Lwp } from './h/lwp.ts';
import type { Proc } from './h/proc.ts';
import { EALREADY, EINTR, EINVAL, ERESTART, ESRCH, ETIMEDOUT, EWOULDBLOCK } from './errno.ts';
import { lwpLock, lwpUnlock, lwpUnlockTo, mutexEnter, mutexExit } from './mutex.ts';
import { LW_CANCELLED, LW_UNPARKED } from './param.ts';
import { kassert } from './panic.ts';
import { lwpUnsleep, sleepqBlock, sleepqEnqueue, sleeptabLookup } from './sleepq.ts';
import type { SleepQueue } from './h/sleepq.ts';
import { lwpFind } from './lwp.ts';
import { ParkChan } from './h/park.ts';

/** lwp_park_wchan: the channel of (p, hint).  undefined and null are the same (no hint). */
export function lwpParkWchan(p: Proc, hint: unknown): ParkChan {
  const h = hint === undefined ? null : hint;
  let cs = p.park;
  if (cs === null) p.park = cs = { objs: new WeakMap(), vals: new Map() };
  const isObj = (typeof h === 'object' && h !== null) || typeof h === 'function';
  let c = isObj ? cs.objs.get(h as object) : cs.vals.get(h);
  if (c === undefined) {
    c = new ParkChan(p, h);
    if (isObj) cs.objs.set(h as object, c);
    else cs.vals.set(h, c);
  }
  return c;
}

/** Is l asleep on (or stopped or suspended while still on) a park channel?  (l_syncobj == &lwp_park_sobj) */
export function isParked(l: Lwp): boolean {
  return l.wchan instanceof ParkChan;
}

/**
 * abstimeout2timo's errors, for a timeout in ticks: ETIMEDOUT for a
 * deadline already passed, then EINVAL for a malformed one, else 0 (and
 * lwp_park sleeps `timeout` ticks, or without a timeout if there is none).
 */
export function parkTimoError(timeout: number | undefined): number {
  if (timeout === undefined) return 0;
  if (timeout <= 0) return ETIMEDOUT;
  if (!Number.isSafeInteger(timeout)) return EINVAL;
  return 0;
}

/**
 * lwp_park: park curlwp l on (its process, hint) until unparked, woken,
 * signalled or timed out.  Called with nothing locked.  `timeout` is in
 * ticks (NetBSD 6 takes an absolute CLOCK_REALTIME timespec; a deadline
 * already passed, here a timeout <= 0, is ETIMEDOUT; a malformed one, here
 * one that is not an integer, EINVAL); both are checked before the pending
 * marks, so such a park leaves a pending unpark in place.  Returns 0 when
 * unparked (or woken for some other reason, such as a suspension: callers
 * re-check their condition), EALREADY if an unpark or wakeup was pending
 * (clearing it), ETIMEDOUT, or EINTR (a signal, _lwp_wakeup, or the process
 * exiting; never restarted).
 */
export function* lwpPark(l: Lwp, timeout: number | undefined, hint: unknown): Gen<number> {
  const k = l.k;
  kassert(l === k.curlwp(), 'lwp_park: not curlwp');
  const error = parkTimoError(timeout);
  if (error !== 0) return error;

  const wchan = lwpParkWchan(l.proc, hint);
  const sq = yield* sleeptabLookup(k, wchan);
  // An unpark (or a wakeup) that came before we got here: do not sleep.
  yield* lwpLock(l);
  if ((l.flag & (LW_CANCELLED | LW_UNPARKED)) !== 0) {
    l.flag &= ~(LW_CANCELLED | LW_UNPARKED);
    lwpUnlock(l);
    mutexExit(k, sq.lock);
    return EALREADY;
  }
  lwpUnlockTo(l, sq.lock);
  sleepqEnqueue(sq, wchan, 'parked', l);
  return parkError(yield* sleepqBlock(l, timeout ?? 0, true));
}

/** What lwp_park returns for sleepq_block's error. */
function parkError(error: number): number {
  if (error === EWOULDBLOCK) return ETIMEDOUT;
  if (error === ERESTART) return EINTR;
  return error;
}

/** The LWP of p with lid `target` parked on `wchan`, if any.  sq locked. */
function parkedOn(sq: SleepQueue, wchan: ParkChan, target: number): Lwp | null {
  const set = sq.waiters.get(wchan);
  if (set === undefined) return null;
  for (const t of set) if (t.lid === target) return t;
  return null;
}

/**
 * The slow half of an unpark: target is not parked on the caller's
 * channel.  Called with nothing locked.  Wakes it if it is parked under
 * another hint, else leaves the unpark pending.  Returns 0 or ESRCH (no
 * such LWP, or a zombie).
 */
function* unparkSlow(l: Lwp, target: number): Gen<number> {
  const k = l.k;
  const p = l.proc;
  yield* mutexEnter(k, p.lock);
  const t = lwpFind(p, target);
  if (t === null) {
    mutexExit(k, p.lock);
    return ESRCH;
  }
  yield* lwpLock(t);
  if (isParked(t)) {
    // Parked with a different hint: wake it there (releases its lock).
    mutexExit(k, p.lock);
    yield* lwpUnsleep(t, true);
  } else {
    t.flag |= LW_UNPARKED;
    lwpUnlock(t);
    mutexExit(k, p.lock);
  }
  return 0;
}

/**
 * lwp_unpark: unpark LWP `target` of curlwp l's process, expected to be
 * parked on `hint`.  Called with nothing locked.  Returns 0 (woken, or the
 * unpark left pending) or ESRCH (no such LWP, or a zombie).
 */
export function* lwpUnpark(l: Lwp, target: number, hint: unknown): Gen<number> {
  const k = l.k;
  const wchan = lwpParkWchan(l.proc, hint);
  const sq = yield* sleeptabLookup(k, wchan);
  const t = parkedOn(sq, wchan, target);
  if (t !== null) {
    yield* lwpUnsleep(t, true); // releases sq
    return 0;
  }
  mutexExit(k, sq.lock);
  return yield* unparkSlow(l, target);
}

/**
 * The loop of sys__lwp_unpark_all: unpark each of `targets` (already
 * checked: 1..LWP_UNPARK_MAX lids), expected on `hint`.  Targets that do
 * not exist are skipped silently, as NetBSD 6 does.  Called with nothing
 * locked; the channel's queue stays locked across the fast cases and is
 * dropped around each slow one.
 */
export function* lwpUnparkAll(l: Lwp, targets: readonly number[], hint: unknown): Gen<void> {
  const k = l.k;
  const wchan = lwpParkWchan(l.proc, hint);
  const sq = yield* sleeptabLookup(k, wchan);
  for (const target of targets) {
    const t = parkedOn(sq, wchan, target);
    if (t !== null) {
      yield* lwpUnsleep(t, false); // sq stays held
      continue;
    }
    mutexExit(k, sq.lock);
    yield* unparkSlow(l, target); // ESRCH: skipped
    yield* mutexEnter(k, sq.lock);
  }
  mutexExit(k, sq.lock);
}
