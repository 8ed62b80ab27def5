/*
 * Sleep queues (kern_sleepq.c): LWPs blocked on a wait channel.
 *
 * Models sleeptab_lookup, sleepq_enter, sleepq_enqueue, sleepq_block,
 * sleepq_remove, sleepq_unsleep, sleepq_timeout and sleepq_wake.
 *
 * Wait channels hash into SLEEPTAB_HASH_SIZE queues, each with its own
 * spin lock.  A sleeping LWP's l.mutex is its queue's lock, and that lock
 * covers l.wchan, l.wmesg and the queue's membership.  Within one channel
 * waiters are woken first come, first served.
 */
import { spin, type Gen } from '../engine/coroutine.ts';
import { CondVar, type KMutex } from './h/mutex.ts';
import type { CpuInfo } from './h/cpu.ts';
import type { Kernel } from './h/kernel.ts';
import type { Lwp } from './h/lwp.ts';
import { lwpLock, lwpLocked, lwpSetlock, lwpUnlockTo, mutexEnter, mutexExit, mutexTryEnter } from './mutex.ts';
import { EINTR, EWOULDBLOCK } from './errno.ts';
import { LP_RUNNING, LSONPROC, LSRUN, LSSLEEP, LW_CANCELLED, LW_PENDSIG, LW_SINTR, LW_WCORE, LW_WEXIT } from './param.ts';
import { kassert } from './panic.ts';
import { DONE, doneWith } from './done.ts';
import { miSwitch, placeOn, schedEnqueueRunnable, schedTakecpu } from './synch.ts';
import { kseSleepUpcall } from './kse.ts';
import { stSleepError } from './single.ts';
import { sigispending, sigsleepError } from './sig.ts';
import type { SleepQueue } from './h/sleepq.ts';

/* Assertion messages, built only when one fails. */
const unsleepMsg = (l: Lwp): string => `lwp_unsleep: ${l.proc.pid}.${l.lid} not locked asleep`;
const wakeMsg = (sq: SleepQueue): string => `sleepq_wake: ${sq.lock.name} not held`;
const cvWaitMsg = (mtx: KMutex): string => `cv_wait: ${mtx.name} not held`;

/** A wait channel's name for ps and traces. */
export function wchanName(w: object | null, wmesg: string | null): string {
  if (wmesg !== null) return wmesg;
  if (w instanceof CondVar) return w.wmesg;
  return w === null ? '' : '?';
}

/** sleeptab_lookup: find and lock the queue for `wchan`. */
export function sleeptabLookup(k: Kernel, wchan: object): Gen<SleepQueue> {
  const sq = k.sleeptab.queueOf(wchan);
  const lock = mutexEnter(k, sq.lock);
  return lock === DONE ? doneWith(sq) : lookupWait(lock, sq); // taken at once: no generator
}

function* lookupWait(lock: Gen<void>, sq: SleepQueue): Gen<SleepQueue> {
  yield* lock;
  return sq;
}

/**
 * sleepq_enter: called with sq locked and l = curlwp, unlocked; returns with
 * l's lock handed over to the queue's lock (still held).
 */
export function sleepqEnter(sq: SleepQueue, l: Lwp): Gen<void> {
  const lock = lwpLock(l);
  if (lock !== DONE) return enterWait(lock, sq, l);
  lwpUnlockTo(l, sq.lock);
  return DONE; // l's lock was free: no generator
}

function* enterWait(lock: Gen<void>, sq: SleepQueue, l: Lwp): Gen<void> {
  yield* lock;
  lwpUnlockTo(l, sq.lock);
}

/** sleepq_enqueue: called with l locked by sq's lock, on CPU; l becomes LSSLEEP. */
export function sleepqEnqueue(sq: SleepQueue, wchan: object, wmesg: string, l: Lwp): void {
  kassert(lwpLocked(l, sq.lock), 'sleepq_enqueue: lwp not locked by its sleep queue');
  kassert(l.wchan === null && l.stat === LSONPROC, 'sleepq_enqueue: lwp already asleep');
  l.wchan = wchan;
  l.wmesg = wmesg;
  l.sleepq = sq;
  l.slpError = 0;
  let set = sq.waiters.get(wchan);
  if (set === undefined) sq.waiters.set(wchan, (set = new Set()));
  set.add(l);
  l.k.setStat(l, LSSLEEP, 'sleep');
}

/**
 * sleepq_block: called with l asleep and locked by its queue; switches away
 * and returns with nothing locked once woken.  Returns 0, EWOULDBLOCK on
 * timeout, or (interruptible sleeps) EINTR when the LWP is cancelled,
 * exiting or dumping core, or what a pending signal says (sigsleepError).
 * The checks are plain functions: an LWP asleep here keeps a small frame.
 */
export function* sleepqBlock(l: Lwp, timo: number, catchSig: boolean): Gen<number> {
  const early = catchSig ? sleepqEarly(l) : -1;
  let error = 0;
  if (early >= 0) {
    error = early;
    yield* lwpUnsleep(l, true);
  } else {
    if (timo > 0) sleepqArm(l, timo);
    if (l.kse !== null) kseSleepUpcall(l);
    yield* miSwitch(l);
    error = sleepqDisarm(l);
  }
  if (catchSig && error === 0) error = yield* sleepqCatch(l);
  return error;
}

/**
 * An interruptible sleep about to block: -1 to go to sleep, else the error
 * to leave with at once (0: a signal is pending; sleepqCatch says which).
 */
function sleepqEarly(l: Lwp): number {
  l.flag |= LW_SINTR;
  if ((l.flag & (LW_CANCELLED | LW_WEXIT | LW_WCORE)) !== 0) {
    l.flag &= ~LW_CANCELLED;
    return EINTR;
  }
  const error = stSleepError(l);
  if (error !== 0) return error;
  if ((l.flag & LW_PENDSIG) !== 0 && sigispending(l)) return 0;
  return -1;
}

/** Arm the timeout of a timed sleep (sleepq_timeout runs when it fires). */
function sleepqArm(l: Lwp, timo: number): void {
  const timer = l.k.engine.timeout(timo, () => sleepqTimeout(l, timer));
  l.sleepTimer = timer;
}

/** Woken: cancel the timeout, if any; EWOULDBLOCK if it is what woke us. */
function sleepqDisarm(l: Lwp): number {
  if (l.sleepTimer !== null) {
    l.sleepTimer.cancelled = true;
    l.sleepTimer = null;
  }
  return l.slpError === EWOULDBLOCK ? EWOULDBLOCK : 0;
}

const DONE_0 = doneWith(0);
const DONE_EINTR = doneWith(EINTR);

/** An interruptible sleep that ended quietly: EINTR, single-threading's error, or a signal's (sigsleepError). */
function sleepqCatch(l: Lwp): Gen<number> {
  if ((l.flag & (LW_CANCELLED | LW_WEXIT | LW_WCORE)) !== 0) return DONE_EINTR;
  const error = stSleepError(l); // single-threading: unwind to the boundary
  if (error !== 0) return doneWith(error);
  if ((l.flag & LW_PENDSIG) !== 0) return sigsleepError(l);
  return DONE_0;
}

/**
 * sleepq_remove: called with l locked by its queue and, when the LWP will
 * go onto a run queue, that CPU's spcMutex held by the caller (`ci`).
 * Takes l off the queue and makes it runnable (or leaves it stopped or
 * suspended, or LSONPROC if it never left its CPU).  The queue lock stays
 * held and stays l's lock only while l remains asleep elsewhere.
 */
function sleepqRemoveLocked(sq: SleepQueue, l: Lwp, ci: CpuInfo | null): void {
  const set = sq.waiters.get(l.wchan!)!;
  set.delete(l);
  if (set.size === 0) sq.waiters.delete(l.wchan!);
  l.wchan = null;
  l.wmesg = null;
  l.sleepq = null;
  l.flag &= ~LW_SINTR;
  const k = l.k;
  if (l.stat !== LSSLEEP) {
    // Stopped or suspended while asleep: whoever resumes it runs it.
    lwpSetlock(l, l.cpu.spcLwplock);
    return;
  }
  if ((l.pflag & LP_RUNNING) !== 0) {
    // Still on its CPU on the way to mi_switch: it will notice.
    lwpSetlock(l, l.cpu.spcLwplock);
    k.setStat(l, LSONPROC, 'wakeup');
    return;
  }
  kassert(ci !== null, 'sleepq_remove: no run queue locked');
  placeOn(l, ci);
  lwpSetlock(l, ci.spcMutex);
  k.setStat(l, LSRUN, 'wakeup');
  schedEnqueueRunnable(l);
}

/** Does removing l from its sleep queue need a run queue lock? */
function needsRunq(l: Lwp): boolean {
  return l.stat === LSSLEEP && (l.pflag & LP_RUNNING) === 0;
}

/**
 * Remove l from its queue, taking the run queue lock of the CPU it will run
 * on.  Called with l locked by sq; returns with sq still held.
 */
function sleepqRemove(sq: SleepQueue, l: Lwp): Gen<void> {
  if (!needsRunq(l)) {
    sleepqRemoveLocked(sq, l, null);
    return DONE;
  }
  const ci = schedTakecpu(l);
  const lock = mutexEnter(l.k, ci.spcMutex);
  if (lock !== DONE) return removeWait(lock, sq, l, ci);
  sleepqRemoveRunq(sq, l, ci);
  return DONE; // the run queue lock was free: no generator
}

function* removeWait(lock: Gen<void>, sq: SleepQueue, l: Lwp, ci: CpuInfo): Gen<void> {
  yield* lock;
  sleepqRemoveRunq(sq, l, ci);
}

/** sleepq_remove onto ci's run queue, whose spcMutex we just took; released again. */
function sleepqRemoveRunq(sq: SleepQueue, l: Lwp, ci: CpuInfo): void {
  sleepqRemoveLocked(sq, l, ci);
  mutexExit(l.k, ci.spcMutex);
}

/**
 * sleepq_unsleep / lwp_unsleep: called with l locked by its sleep queue;
 * takes it off the queue.  With `cleanup`, releases the queue lock.
 */
export function* lwpUnsleep(l: Lwp, cleanup: boolean): Gen<void> {
  const sq = l.sleepq;
  kassert(sq !== null && lwpLocked(l, sq.lock), unsleepMsg, l);
  if (l.k.tracing) wakeupEvent(l);
  yield* sleepqRemove(sq, l);
  if (cleanup) mutexExit(l.k, sq.lock);
}

/**
 * sleepq_wake: called with sq locked; wakes up to `expected` LWPs waiting
 * on `wchan` and returns how many it woke, with sq still locked (the
 * caller releases it).
 */
export function* sleepqWake(sq: SleepQueue, wchan: object, expected: number): Gen<number> {
  kassert(sq.lock.owner !== null, wakeMsg, sq);
  let n = 0;
  const set = sq.waiters.get(wchan);
  if (set !== undefined) {
    for (const l of [...set]) {
      if (n >= expected) break;
      if (l.k.tracing) wakeupEvent(l);
      yield* sleepqRemove(sq, l);
      n++;
    }
  }
  return n;
}

function wakeupEvent(l: Lwp): void {
  const k = l.k;
  const w = k.curlwp();
  k.emitFor(l, { type: 'wakeup', wakerPid: w === null ? -1 : w.proc.pid, wakerLid: w === null ? -1 : w.lid });
}

/**
 * sleepq_timeout: the callout of a timed sleep, run in interrupt context
 * between steps.  If the locks it needs are held by kernel code that is
 * mid-path on some CPU, it tries again a tick later, as a callout would
 * spin on them.
 */
function sleepqTimeout(l: Lwp, timer: { cancelled: boolean }): void {
  const k = l.k;
  if (timer.cancelled || l.sleepTimer !== timer || l.wchan === null) return;
  const sq = l.sleepq!;
  const retry = (): void => { k.engine.timeout(1, () => sleepqTimeout(l, timer)); };
  if (!mutexTryEnter(k, sq.lock)) return retry();
  let ci: CpuInfo | null = null;
  if (needsRunq(l)) {
    ci = schedTakecpu(l);
    if (!mutexTryEnter(k, ci.spcMutex)) {
      mutexExit(k, sq.lock);
      return retry();
    }
  }
  l.slpError = EWOULDBLOCK;
  if (k.tracing) wakeupEvent(l);
  sleepqRemoveLocked(sq, l, ci);
  if (ci !== null) mutexExit(k, ci.spcMutex);
  mutexExit(k, sq.lock);
}

/* Condition variables (kern_condvar.c): cv_wait, cv_wait_sig, cv_timedwait(_sig), cv_signal, cv_broadcast. */

/**
 * cv_wait family: called with `mtx` held; sleeps on cv, releasing mtx, and
 * returns with mtx held again.  Returns sleepq_block's error.
 */
export function* cvWaitCommon(l: Lwp, cv: CondVar, mtx: KMutex, timo: number, catchSig: boolean): Gen<number> {
  const k = l.k;
  kassert(mtx.owner === l, cvWaitMsg, mtx);
  const sq = yield* sleeptabLookup(k, cv);
  yield* sleepqEnter(sq, l);
  sleepqEnqueue(sq, cv, cv.wmesg, l);
  mutexExit(k, mtx);
  const error = yield* sleepqBlock(l, timo, catchSig);
  yield* mutexEnter(k, mtx);
  return error;
}

export function cvWait(l: Lwp, cv: CondVar, mtx: KMutex): Gen<number> {
  return cvWaitCommon(l, cv, mtx, 0, false);
}
export function cvWaitSig(l: Lwp, cv: CondVar, mtx: KMutex): Gen<number> {
  return cvWaitCommon(l, cv, mtx, 0, true);
}
export function cvTimedwaitSig(l: Lwp, cv: CondVar, mtx: KMutex, timo: number): Gen<number> {
  return cvWaitCommon(l, cv, mtx, timo, true);
}

/** cv_broadcast: wake every waiter.  The caller normally holds the interlock. */
export function cvBroadcast(k: Kernel, cv: CondVar): Gen<void> {
  const sq = k.sleeptab.queueOf(cv);
  if (!sq.waiters.has(cv)) return DONE; // cv_has_waiters: nobody to wake, no lock taken, no generator
  return cvWake(k, sq, cv, Infinity);
}

/** cv_signal: wake one waiter. */
export function cvSignal(k: Kernel, cv: CondVar): Gen<void> {
  const sq = k.sleeptab.queueOf(cv);
  if (!sq.waiters.has(cv)) return DONE;
  return cvWake(k, sq, cv, 1);
}

function* cvWake(k: Kernel, sq: SleepQueue, cv: CondVar, n: number): Gen<void> {
  yield* mutexEnter(k, sq.lock);
  yield* sleepqWake(sq, cv, n);
  mutexExit(k, sq.lock);
}

/** Wait until no CPU still runs l (the spin at the end of lwp_free). */
export function waitOffCpu(l: Lwp): Gen<void> {
  if ((l.pflag & LP_RUNNING) !== 0 || l.cpu.curlwp === l) return spinOffCpu(l);
  return DONE; // already off: no generator
}

function* spinOffCpu(l: Lwp): Gen<void> {
  yield spin(() => (l.pflag & LP_RUNNING) === 0 && l.cpu.curlwp !== l, `lwp ${l.proc.pid}.${l.lid} off cpu`);
}
