/*
 * A small POSIX-threads library, built the way NetBSD's libpthread is and
 * only on the system calls a program has (sys.*): threads are LWPs, a
 * thread finds its own record through the LWP's private pointer, mutexes
 * spin while their owner is on a CPU and park otherwise, and every wakeup
 * is an _lwp_unpark that a pending-unpark mark keeps from being lost.
 *
 *   const { thread } = yield* pthread.create(sys, worker, arg);
 *   yield* pthread.mutexLock(sys, m); ... yield* pthread.mutexUnlock(sys, m);
 *   const { value } = yield* pthread.join(sys, thread!);
 *
 * Every function takes the caller's `sys` first.  As in POSIX, most return
 * an errno number (0 on success) rather than throwing; create and join
 * return { error, ... }.  Code between two system calls is atomic in the
 * model, which stands in for the compare-and-swap instructions libpthread
 * uses: a lock's fast path is "if nobody owns it, take it", in one step.
 *
 * Threads (pthread_create/exit/join/detach/self): a thread is an LWP
 * created with its record as its private pointer (read once with
 * _lwp_getprivate, then kept with the thread's `sys` handle, the model's
 * TLS register, so that pthread_self is free); it takes its lwpctl block
 * (_lwp_ctl) before running its start routine.  Returning from the start
 * routine is pthread_exit: thread-specific destructors run (up to
 * PTHREAD_DESTRUCTOR_ITERATIONS rounds), then _lwp_exit.  join is
 * _lwp_wait (retried on EINTR); detach is _lwp_detach.  A process's first
 * thread gets its record the first time it calls into the library.
 *
 * Mutexes (error-checking: relocking is EDEADLK, unlocking a mutex one does
 * not own EPERM): a contended lock spins, with growing pauses of user time,
 * for as long as the owner's lwpctl block says it is on a CPU; then it adds
 * itself to the waiters, marks itself waiting and parks on the mutex until
 * an unlock clears the mark.  Unlock releases the lock, clears the marks of
 * all waiters and unparks them all (_lwp_unpark for one, _lwp_unpark_all in
 * batches for several), as NetBSD 6's pthread__mutex_wakeup does; they race
 * for the lock again.  A waiter that has not parked yet when the unpark
 * comes finds it pending: its park returns EALREADY and it re-checks.
 * Unlike libpthread, which spins while lc_curcpu != LWPCTL_CPU_NONE, this
 * also stops spinning on LWPCTL_CPU_EXITED (an owner that died holding the
 * lock would otherwise be spun on forever).  A thread that could not get an
 * lwpctl block (ENOMEM) is treated as never on a CPU, so nobody spins on it.
 *
 * Condition variables: a waiter queues itself and marks itself waiting
 * before it releases the mutex, then parks on the condition until a
 * signal or broadcast clears its mark, and takes the mutex again.  A
 * signal or broadcast clears the marks first and unparks after, so a
 * wakeup that comes between the waiter's unlock and its park is kept as a
 * pending unpark, never lost.  Spurious returns of the park (EALREADY,
 * EINTR, a suspension) just go round the loop.
 *
 * Thread-specific data: keys per process (PTHREAD_KEYS_MAX), values per
 * thread.  keyDelete runs no destructor (POSIX pthread_key_delete) and
 * forgets the key's values in every thread, so that a reused key starts
 * out unset everywhere.
 */
import type { Gen } from '../engine/coroutine.ts';
import type { Sys } from '../sys/sys.ts';
import { SyscallError } from '../sys/errors.ts';
import { EAGAIN, EBUSY, EDEADLK, EINTR, EINVAL, EPERM, ETIMEDOUT } from '../kern/errno.ts';
import { LWP_DETACHED, LWPCTL_CPU_NONE, LWPCTL_FEATURE_CURCPU } from '../kern/param.ts';
import type { LwpCtl } from '../kern/h/lwpctl.ts';

export const PTHREAD_KEYS_MAX = 256;
export const PTHREAD_DESTRUCTOR_ITERATIONS = 4;
/** The longest pause (ticks of user time) between two looks at a running owner. */
export const SPIN_PAUSE_MAX = 16;

/** The block of a thread without one of its own: never on a CPU. */
const NO_CTL: LwpCtl = Object.freeze({ curcpu: LWPCTL_CPU_NONE, pctr: 0 }) as LwpCtl;

/** A thread-specific data destructor. */
export type KeyDtor = (value: unknown) => void;

/** What the library keeps per process. */
class Lib {
  /** Allocated keys and their destructors (null: a free slot). */
  readonly keys: ({ dtor: KeyDtor | null } | null)[] = [];
  /** Threads not yet exited. */
  readonly threads = new Set<Pthread>();
  /** _lwp_unpark_all's batch limit, asked once. */
  unparkMax = 0;
}

/** A thread (struct __pthread_st): what the LWP's private pointer points at. */
export class Pthread {
  /** The LWP's lid. */
  lid = 0;
  /** pt_lwpctl: where the kernel tells which CPU this thread is on. */
  ctl: LwpCtl = NO_CTL;
  /** Waiting for a mutex: cleared by the unlock that wakes it. */
  mutexwait = false;
  /** The condition waited on: cleared by the signal or broadcast that wakes it. */
  condwait: Cond | null = null;
  /** Thread-specific values, by key. */
  readonly specific = new Map<number, unknown>();
  /** What the start routine returned (or pthread_exit was given). */
  exitval: unknown = undefined;
  /** Set when it has exited. */
  exited = false;
  /** @internal */
  start: { fn: (sys: Sys, arg: any) => Generator<any, unknown, any>; arg: unknown } | null = null;
  constructor(readonly lib: Lib, public detached: boolean) {}
}

/** A mutex, with counters of how it was contended. */
export class Mutex {
  owner: Pthread | null = null;
  /** Threads that parked waiting for it (the seed's ptm_waiters). */
  waiters: Pthread[] = [];
  /** Pauses spent spinning on a running owner; parks; parks that returned EALREADY at once. */
  spins = 0;
  parks = 0;
  early = 0;
}

/** A condition variable. */
export class Cond {
  waiters: Pthread[] = [];
  parks = 0;
  early = 0;
}

/** Run a system call; return its errno name instead of throwing ('' on success). */
function* tryCall<T>(g: Gen<T>): Gen<{ code: string; errno: number; value?: T }> {
  try {
    return { code: '', errno: 0, value: yield* g };
  } catch (e) {
    if (e instanceof SyscallError) return { code: e.code, errno: e.errno };
    throw e;
  }
}

function* ctlFor(sys: Sys): Gen<LwpCtl> {
  const r = yield* tryCall(sys.lwpCtl(LWPCTL_FEATURE_CURCPU));
  return r.value ?? NO_CTL;
}

/*
 * The caller's record, as the TLS register holds it: a thread's `sys`
 * handle is its own, so once _lwp_getprivate has been asked, the answer is
 * kept by that handle and pthread_self costs no system call, as in NetBSD.
 */
const tls = new WeakMap<Sys, Pthread>();

/** pthread_self: the caller's record (the first thread of a process gets one on its first call). */
export function* self(sys: Sys): Gen<Pthread> {
  const cached = tls.get(sys);
  if (cached !== undefined) return cached;
  const p = yield* sys.lwpGetPrivate();
  if (p instanceof Pthread) {
    tls.set(sys, p);
    return p;
  }
  // pthread__initmain: the process's first use of the library.
  const lib = new Lib();
  const t = new Pthread(lib, false);
  t.lid = yield* sys.lwpSelf();
  t.ctl = yield* ctlFor(sys);
  lib.threads.add(t);
  yield* sys.lwpSetPrivate(t);
  tls.set(sys, t);
  return t;
}

/* ------------------------------------------------------------------ threads */

export interface CreateAttr {
  detached?: boolean;
  name?: string;
}

/** pthread_create: run fn(sys, arg) in a new thread.  error: _lwp_create's (EAGAIN, EPROCLIM, ...). */
export function* create<A>(
  sys: Sys, fn: (sys: Sys, arg: A) => Generator<any, unknown, any>, arg: A, attr: CreateAttr = {},
): Gen<{ error: number; thread: Pthread | null }> {
  const me = yield* self(sys);
  const t = new Pthread(me.lib, attr.detached === true);
  t.start = { fn, arg };
  me.lib.threads.add(t);
  const r = yield* tryCall(sys.lwpCreate(trampoline, t, {
    flags: t.detached ? LWP_DETACHED : 0, private: t, ...(attr.name !== undefined ? { name: attr.name } : {}),
  }));
  if (r.errno !== 0) {
    me.lib.threads.delete(t);
    return { error: r.errno, thread: null };
  }
  t.lid = r.value!;
  return { error: 0, thread: t };
}

/** pthread__create_tramp: the first frame of every created thread. */
function* trampoline(sys: Sys, t: Pthread): Generator<any, void, any> {
  t.lid = yield* sys.lwpSelf();
  t.ctl = yield* ctlFor(sys);
  const { fn, arg } = t.start!;
  t.start = null;
  const v = yield* fn(sys, arg);
  yield* exit(sys, v);
}

/** pthread_exit: run the thread-specific destructors, then end the thread (the last one ends the process). */
export function* exit(sys: Sys, value?: unknown): Gen<never> {
  const t = yield* self(sys);
  t.exitval = value;
  destroySpecific(t);
  t.exited = true;
  t.lib.threads.delete(t);
  return yield* sys.lwpExit();
}

/** pthread_join: wait for t to exit and return its value.  EDEADLK for oneself, EINVAL if detached, ESRCH if already joined. */
export function* join(sys: Sys, t: Pthread): Gen<{ error: number; value: unknown }> {
  const me = yield* self(sys);
  if (t === me) return { error: EDEADLK, value: undefined };
  if (t.detached) return { error: EINVAL, value: undefined };
  for (;;) {
    const r = yield* tryCall(sys.lwpWait(t.lid));
    if (r.errno === EINTR) continue;
    if (r.errno !== 0) return { error: r.errno, value: undefined };
    return { error: 0, value: t.exitval };
  }
}

/** pthread_detach: nobody will join t.  EINVAL if detached already, ESRCH if gone. */
export function* detach(sys: Sys, t: Pthread): Gen<number> {
  if (t.detached) return EINVAL;
  const r = yield* tryCall(sys.lwpDetach(t.lid));
  if (r.errno === 0) t.detached = true;
  return r.errno;
}

/* ------------------------------------------------------------------ parking */

/** Park on `hint`; returns the errno code ('' when unparked). */
function* park(sys: Sys, hint: object, timeout?: number): Gen<string> {
  return (yield* tryCall(sys.lwpPark(timeout === undefined ? { hint } : { hint, timeout }))).code;
}

/** Unpark every lid in `lids`, expected parked on `hint`. */
function* wake(sys: Sys, lib: Lib, lids: number[], hint: object): Gen<void> {
  if (lids.length === 0) return;
  if (lids.length === 1) {
    yield* tryCall(sys.lwpUnpark(lids[0]!, hint)); // ESRCH: it is gone, nothing to wake
    return;
  }
  if (lib.unparkMax === 0) lib.unparkMax = yield* sys.lwpUnparkAll(null);
  for (let i = 0; i < lids.length; i += lib.unparkMax) {
    yield* sys.lwpUnparkAll(lids.slice(i, i + lib.unparkMax), hint);
  }
}

/* ------------------------------------------------------------------ mutexes */

/** Is t running on a CPU, by its lwpctl block? */
function onCpu(t: Pthread): boolean {
  return t.ctl.curcpu >= 0;
}

/** pthread_mutex_lock.  EDEADLK if the caller owns it already. */
export function* mutexLock(sys: Sys, m: Mutex): Gen<number> {
  const me = yield* self(sys);
  return yield* lockAs(sys, me, m);
}

function* lockAs(sys: Sys, me: Pthread, m: Mutex): Gen<number> {
  if (m.owner === null) {
    m.owner = me; // the fast path's compare-and-swap
    return 0;
  }
  if (m.owner === me) return EDEADLK;
  for (;;) {
    // Spin while the owner runs: it is likely to let go soon.
    let pause = 1;
    while (m.owner !== null && onCpu(m.owner)) {
      m.spins++;
      yield* sys.compute(pause);
      if (pause < SPIN_PAUSE_MAX) pause *= 2;
    }
    if (m.owner === null) {
      m.owner = me;
      return 0;
    }
    // The owner is off CPU: queue up, and park until an unlock clears our mark.
    me.mutexwait = true;
    m.waiters.push(me);
    m.parks++;
    while (me.mutexwait) {
      if ((yield* park(sys, m)) === 'EALREADY') m.early++;
    }
  }
}

/** pthread_mutex_trylock: EBUSY if anyone owns it. */
export function* mutexTrylock(sys: Sys, m: Mutex): Gen<number> {
  const me = yield* self(sys);
  if (m.owner !== null) return EBUSY;
  m.owner = me;
  return 0;
}

/** pthread_mutex_unlock: EPERM unless the caller owns it.  Wakes every waiter. */
export function* mutexUnlock(sys: Sys, m: Mutex): Gen<number> {
  const me = yield* self(sys);
  return yield* unlockAs(sys, me, m);
}

function* unlockAs(sys: Sys, me: Pthread, m: Mutex): Gen<number> {
  if (m.owner !== me) return EPERM;
  m.owner = null;
  if (m.waiters.length === 0) return 0;
  const ws = m.waiters;
  m.waiters = [];
  for (const w of ws) w.mutexwait = false;
  yield* wake(sys, me.lib, ws.map((w) => w.lid), m);
  return 0;
}

/* ------------------------------------------------------- condition variables */

/** pthread_cond_wait: EPERM unless the caller owns m. */
export function* condWait(sys: Sys, c: Cond, m: Mutex): Gen<number> {
  return yield* condTimedwait(sys, c, m, undefined);
}

/**
 * pthread_cond_timedwait, with a relative timeout in ticks: ETIMEDOUT if no
 * signal came in time.  The mutex is held again on return either way.
 */
export function* condTimedwait(sys: Sys, c: Cond, m: Mutex, ticks: number | undefined): Gen<number> {
  const me = yield* self(sys);
  if (m.owner !== me) return EPERM;
  me.condwait = c;
  c.waiters.push(me);
  yield* unlockAs(sys, me, m);
  let error = 0;
  while (me.condwait === c) {
    c.parks++;
    const code = yield* park(sys, c, ticks);
    if (code === 'EALREADY') c.early++;
    if (code === 'ETIMEDOUT' && me.condwait === c) {
      c.waiters.splice(c.waiters.indexOf(me), 1);
      me.condwait = null;
      error = ETIMEDOUT;
    }
  }
  yield* lockAs(sys, me, m);
  return error;
}

/** pthread_cond_signal: wake one waiter, if any. */
export function* condSignal(sys: Sys, c: Cond): Gen<number> {
  const me = yield* self(sys);
  const w = c.waiters.shift();
  if (w === undefined) return 0;
  w.condwait = null;
  yield* wake(sys, me.lib, [w.lid], c);
  return 0;
}

/** pthread_cond_broadcast: wake every waiter. */
export function* condBroadcast(sys: Sys, c: Cond): Gen<number> {
  const me = yield* self(sys);
  const ws = c.waiters;
  if (ws.length === 0) return 0;
  c.waiters = [];
  for (const w of ws) w.condwait = null;
  yield* wake(sys, me.lib, ws.map((w) => w.lid), c);
  return 0;
}

/* ------------------------------------------------------ thread-specific data */

/** pthread_key_create: a new key, with an optional destructor.  EAGAIN when PTHREAD_KEYS_MAX are in use. */
export function* keyCreate(sys: Sys, dtor?: KeyDtor | null): Gen<{ error: number; key: number }> {
  const lib = (yield* self(sys)).lib;
  let key = lib.keys.indexOf(null);
  if (key < 0) {
    if (lib.keys.length >= PTHREAD_KEYS_MAX) return { error: EAGAIN, key: -1 };
    key = lib.keys.length;
    lib.keys.push(null);
  }
  lib.keys[key] = { dtor: dtor ?? null };
  return { error: 0, key };
}

function validKey(lib: Lib, key: number): boolean {
  return Number.isInteger(key) && key >= 0 && key < lib.keys.length && lib.keys[key] !== null;
}

/** pthread_key_delete: free a key.  No destructor runs (POSIX); every thread's value for it is forgotten. */
export function* keyDelete(sys: Sys, key: number): Gen<number> {
  const lib = (yield* self(sys)).lib;
  if (!validKey(lib, key)) return EINVAL;
  lib.keys[key] = null;
  for (const t of lib.threads) t.specific.delete(key);
  return 0;
}

/** pthread_getspecific: the caller's value for key (undefined if unset or not a key). */
export function* getspecific(sys: Sys, key: number): Gen<unknown> {
  const me = yield* self(sys);
  return validKey(me.lib, key) ? me.specific.get(key) : undefined;
}

/** pthread_setspecific: EINVAL if key is not allocated. */
export function* setspecific(sys: Sys, key: number, value: unknown): Gen<number> {
  const me = yield* self(sys);
  if (!validKey(me.lib, key)) return EINVAL;
  me.specific.set(key, value);
  return 0;
}

/** pthread__destroy_tsd: call the destructors of t's non-null values, in rounds, as POSIX asks. */
function destroySpecific(t: Pthread): void {
  for (let round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; round++) {
    let called = false;
    for (const [key, v] of [...t.specific]) {
      const k = t.lib.keys[key];
      if (v === undefined || v === null || k === null || k === undefined || k.dtor === null) continue;
      t.specific.delete(key);
      k.dtor(v);
      called = true;
    }
    if (!called) break;
  }
  t.specific.clear();
}
