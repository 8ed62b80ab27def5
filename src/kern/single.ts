/*
 * Single-threading: FreeBSD kern_thread.c's thread_single,
 * thread_suspend_check, thread_suspend_one, thread_unsuspend_one,
 * thread_unsuspend and thread_single_end, on NetBSD LWPs.
 *
 * One LWP (p.st.thread) makes every other LWP of its process leave user
 * mode.  The mode says what they do at the user boundary:
 *   ST_EXIT      exit (exit1; exec once it has succeeded)
 *   ST_BOUNDARY  park there until single-threading ends (exec)
 *   ST_NO_EXIT   park there, even if asleep in the kernel now (core dump)
 * Parking is NetBSD's LSSUSPENDED, taken in lwp_userret (where 1.172 says
 * that state may be set), marked with l.stParked and counted in
 * p.st.suspcount.  Interruptible sleepers are woken and their system calls
 * return EINTR (EXIT) or ERESTART (the others: restarted transparently once
 * single-threading ends): the contract of modern FreeBSD's
 * thread_suspend_check(return_instead), where the 2002 seed returned 1 for
 * any stop.  Running LWPs get an AST.
 *
 * The single-threader sleeps on p.lwpcv and re-scans the process on every
 * wakeup, so an LWP that is created, suspended or put to sleep behind its
 * back is still brought to the boundary.  A second LWP asking to
 * single-thread while one is in charge backs off (thread_single returns 1).
 *
 * Covered by p.lock: p.st and l.stParked.
 */
import type { Gen } from '../engine/coroutine.ts';
import type { Lwp } from './h/lwp.ts';
import type { Proc } from './h/proc.ts';
import { EINTR, ERESTART } from './errno.ts';
import { lwpLock, lwpUnlock, mutexEnter, mutexExit, mutexOwned } from './mutex.ts';
import {
  LSONPROC, LSSLEEP, LSSTOP, LSSUSPENDED, LSZOMB, LW_SINTR, LW_WEXIT, LW_WSINGLE, LW_WSUSPEND,
} from './param.ts';
import { kassert } from './panic.ts';
import { cvBroadcast, cvWait } from './sleepq.ts';
import { miSwitch, setrunnable } from './synch.ts';
import { lwpExit, lwpNeedUserret } from './lwp.ts';
import { ST_EXIT, ST_NO_EXIT, type StMode } from './h/single.ts';

/**
 * Is l out of user mode for good, as far as single-threading in `mode` is
 * concerned?  In EXIT mode only a zombie is.  Otherwise an LWP parked or
 * suspended at the boundary, or stopped, is; and for NO_EXIT so is an
 * uninterruptible sleeper (the seed suspends sleeping threads in place):
 * each of them parks at the boundary (LW_WSINGLE) before it could run user
 * code again.
 */
function settled(l: Lwp, mode: StMode): boolean {
  if (l.stat === LSZOMB) return true;
  if (mode === ST_EXIT) return false;
  if (l.stat === LSSUSPENDED && l.wchan === null) return true;
  if (l.stat === LSSTOP) return true;
  return mode === ST_NO_EXIT && l.stat === LSSLEEP && (l.flag & LW_SINTR) === 0;
}

/**
 * thread_single: make l the only LWP of its process in user mode.  Called
 * with p.lock held; returns with it held.  Returns 0 when done, 1 if
 * another LWP is single-threading (the caller must back off).  The same
 * LWP may call again to change the mode (BOUNDARY -> EXIT after exec).
 */
export function* threadSingle(l: Lwp, mode: StMode): Gen<number> {
  const k = l.k;
  const p = l.proc;
  kassert(mutexOwned(k, p.lock), 'thread_single: p.lock not held');
  if (p.st.thread !== null && p.st.thread !== l) return 1;
  p.st.thread = l;
  p.st.mode = mode;
  p.st.proceeded = false;
  for (;;) {
    let remaining = 0;
    for (const l2 of p.eachLwp()) {
      if (l2 === l || l2.stat === LSZOMB) continue;
      // Every other LWP is flagged, settled or not: a settled one may still
      // wake in the kernel later, and must then park or exit on its way out.
      yield* lwpLock(l2);
      l2.flag |= LW_WSINGLE;
      if (mode === ST_EXIT) l2.flag |= LW_WEXIT;
      if (settled(l2, mode)) {
        lwpUnlock(l2);
        continue;
      }
      remaining++;
      if (l2.stat === LSSUSPENDED && mode === ST_EXIT) {
        // Parked or suspended: let it run to its exit.
        if (l2.stParked) unpark(p, l2);
        yield* setrunnable(l2);
      } else if (l2.stat === LSSTOP && mode === ST_EXIT) {
        yield* setrunnable(l2);
      } else if (l2.stat === LSSLEEP && (l2.flag & LW_SINTR) !== 0) {
        yield* setrunnable(l2); // the sleep returns EINTR or ERESTART
      } else {
        if (l2.stat === LSONPROC) lwpNeedUserret(l2);
        lwpUnlock(l2);
      }
    }
    if (remaining === 0) break;
    // Woken whenever an LWP parks, exits or is created.
    yield* cvWait(l, p.lwpcv, p.lock);
  }
  p.st.proceeded = true;
  return 0;
}

function unpark(p: Proc, l: Lwp): void {
  l.stParked = false;
  p.st.suspcount--;
}

/**
 * thread_suspend_check: called by curlwp with p.lock held at a point where
 * it could park or exit.  If single-threading is in force and l is not the
 * single-threader: with `returnInstead`, returns EINTR (EXIT mode) or
 * ERESTART (others) so that the caller unwinds to the user boundary;
 * otherwise exits (EXIT mode; never returns) or parks until
 * single-threading ends.  Returns 0 when l may go on.
 */
export function* threadSuspendCheck(l: Lwp, returnInstead: boolean): Gen<number> {
  const k = l.k;
  const p = l.proc;
  kassert(mutexOwned(k, p.lock), 'thread_suspend_check: p.lock not held');
  while (p.st.thread !== null && p.st.thread !== l) {
    if (returnInstead) return p.st.mode === ST_EXIT ? EINTR : ERESTART;
    if (p.st.mode === ST_EXIT) {
      mutexExit(k, p.lock);
      return yield* lwpExit(l);
    }
    yield* threadSuspendOne(l);
  }
  l.flag &= ~LW_WSINGLE;
  return 0;
}

/**
 * thread_suspend_one: park l (curlwp) at the boundary.  Called with p.lock
 * held; returns with it held once unparked.
 */
function* threadSuspendOne(l: Lwp): Gen<void> {
  const k = l.k;
  const p = l.proc;
  kassert(l === k.curlwp() && mutexOwned(k, p.lock), 'thread_suspend_one: not curlwp, or p.lock not held');
  l.stParked = true;
  p.st.suspcount++;
  p.nrlwps--;
  yield* cvBroadcast(k, p.lwpcv); // the single-threader re-counts
  yield* lwpLock(l);
  k.setStat(l, LSSUSPENDED, 'single');
  lwpUnlock(l);
  mutexExit(k, p.lock);
  yield* lwpLock(l);
  yield* miSwitch(l);
  yield* mutexEnter(k, p.lock);
  // Unparked by thread_unsuspend, or woken by something else (SIGKILL's
  // unstop, say): either way not parked now; the caller decides again.
  if (l.stParked) unpark(p, l);
  kassert(mutexOwned(k, p.lock), 'thread_suspend_one: returns without p.lock');
}

/**
 * thread_suspend_check(1) as sleepq_block asks it, without p.lock: the
 * error an interruptible sleep of l returns because another LWP is
 * single-threading (LW_WSINGLE, covered by l.mutex, is what is checked;
 * the mode is read unlocked, as the seed reads p_flag).  0 if none.
 */
export function stSleepError(l: Lwp): number {
  const st = l.proc.st;
  if ((l.flag & LW_WSINGLE) === 0 || st.thread === null || st.thread === l) return 0;
  return st.mode === ST_EXIT ? EINTR : ERESTART;
}

/**
 * thread_single_end: single-threading is over.  Called by the
 * single-threader with p.lock held.  Parked LWPs run on (a pending
 * _lwp_suspend stays pending).
 */
export function* threadSingleEnd(l: Lwp): Gen<void> {
  const p = l.proc;
  kassert(mutexOwned(l.k, p.lock) && p.st.thread === l, 'thread_single_end: not the single-threader');
  p.st.thread = null;
  p.st.mode = 0;
  p.st.proceeded = false;
  yield* threadUnsuspend(p);
}

/** thread_unsuspend: unpark every LWP parked by single-threading.  p.lock held. */
export function* threadUnsuspend(p: Proc): Gen<void> {
  for (const l2 of p.eachLwp()) {
    if (l2.stat === LSZOMB) continue;
    yield* lwpLock(l2);
    l2.flag &= ~LW_WSINGLE;
    if (l2.stParked && l2.stat === LSSUSPENDED) {
      unpark(p, l2);
      const pending = l2.flag & LW_WSUSPEND;
      yield* setrunnable(l2); // clears LW_WSUSPEND: put a pending one back
      if (pending !== 0) {
        yield* lwpLock(l2);
        l2.flag |= pending;
        lwpUnlock(l2);
      }
    } else lwpUnlock(l2);
  }
}
