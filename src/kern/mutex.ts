/*
 * Kernel mutexes (kern_mutex.c, reduced to what the model needs) and the
 * per-LWP lock protocol of kern_lwp.c 1.172: lwp_lock, lwp_unlock,
 * lwp_setlock, lwp_unlock_to, lwp_trylock, lwp_locked.
 *
 * Every acquisition is preceded by a choice point: that is where another
 * CPU may get in first, so that is where interleavings differ.  It is
 * asked synchronously first (engine.mayInterleave): when no other CPU
 * could move and nobody explores, the yield is skipped.  A held
 * mutex makes the acquirer spin (the engine parks the CPU until the owner
 * releases it).  Code between yields is atomic, so a release needs no
 * choice point.
 *
 * The fast path: a free lock, at a point where the engine says nothing
 * could interleave (no other CPU can move, no preemption is due, nobody
 * explores), is taken by a plain call.  The choice point would have
 * resumed us at once, so the run is the same; mutexEnter and lwpLock then
 * return DONE, a generator that is already finished, so callers keep
 * writing `yield* mutexEnter(k, m)`.
 *
 * Ownership is checked: only the owner releases, and an LWP's count of held
 * locks must be zero when it returns to user mode or switches away holding
 * anything but its own LWP lock.
 */
import { choice, spin, type Gen } from '../engine/coroutine.ts';
import { INTR_OWNER, type KMutex } from './h/mutex.ts';
import type { Kernel } from './h/kernel.ts';
import type { Lwp } from './h/lwp.ts';
import { KernelPanic, kassert } from './panic.ts';
import { DONE } from './done.ts';

/**
 * A watcher of every acquisition and release (the explorer's lock-order
 * detector hangs here); null, the default, costs one test per lock operation.
 */
export interface LockWatcher {
  acquired(k: Kernel, m: KMutex, owner: object): void;
  released(k: Kernel, m: KMutex, owner: object): void;
}
let watcher: LockWatcher | null = null;
export function setLockWatcher(w: LockWatcher | null): void {
  watcher = w;
}

function owner(k: Kernel): object {
  return k.curlwp() ?? INTR_OWNER;
}

function take(k: Kernel, m: KMutex, o: object): void {
  m.owner = o;
  if (o !== INTR_OWNER) (o as Lwp).locks++;
  if (watcher !== null) watcher.acquired(k, m, o);
  if (k.onTouch !== null) k.onTouch(m);
}

/** Tell the checker l was locked (or lent a lock): its fields may change now. */
function touch(l: Lwp): void {
  if (l.k.onTouch !== null) l.k.onTouch(l);
}

/** mutex_enter: called without m held; returns with m held by the current LWP. */
export function mutexEnter(k: Kernel, m: KMutex): Gen<void> {
  if (m.owner !== null || k.engine.mayInterleave()) return mutexEnterChoice(k, m);
  take(k, m, owner(k));
  return DONE;
}

/** mutex_enter past a choice point: another CPU may take m first, then we spin. */
function* mutexEnterChoice(k: Kernel, m: KMutex): Gen<void> {
  yield choice(m.name);
  const o = owner(k);
  kassert(m.owner !== o, againstMyself, m);
  if (m.owner !== null) {
    m.contended++;
    if (k.tracing && o !== INTR_OWNER) k.emitFor(o as Lwp, { type: 'contention', lock: m.name });
    do yield spin(() => m.owner === null, m.name);
    while (m.owner !== null);
  }
  take(k, m, o);
}

/** mutex_tryenter: take m if it is free, without waiting.  Usable in interrupt context. */
export function mutexTryEnter(k: Kernel, m: KMutex): boolean {
  if (m.owner !== null) return false;
  take(k, m, owner(k));
  return true;
}

/** mutex_exit: called with m held by the current LWP (or interrupt context). */
export function mutexExit(k: Kernel, m: KMutex): void {
  const o = owner(k);
  if (m.owner !== o) throw new KernelPanic(notOwnedMsg(m, o)); // kassert, without a closure per release
  m.owner = null;
  if (o !== INTR_OWNER) (o as Lwp).locks--;
  if (watcher !== null) watcher.released(k, m, o);
}

export function mutexOwned(k: Kernel, m: KMutex): boolean {
  return m.owner === owner(k);
}

/* Assertion messages, built only when one fails (no closure per lock operation). */
const againstMyself = (m: KMutex): string => `mutex_enter: locking against myself: ${m.name}`;
const setlockMsg = (l: Lwp): string => `lwp_setlock: ${l.proc.pid}.${l.lid} not locked`;
const unlockToMsg = (l: Lwp): string => `lwp_unlock_to: ${l.proc.pid}.${l.lid} not locked`;
function notOwnedMsg(m: KMutex, o: object): string {
  return `mutex_exit: ${m.name} not owned by ${describe(o)} (owner ${describe(m.owner)})`;
}

function describe(o: object | null): string {
  if (o === null) return 'nobody';
  if (o === INTR_OWNER) return 'interrupt';
  const l = o as Lwp;
  return `lwp ${l.proc.pid}.${l.lid}`;
}

/** lwp_lock: lock the LWP's current lock, retrying if it moved while we waited. */
export function lwpLock(l: Lwp): Gen<void> {
  const k = l.k, m = l.mutex;
  if (m.owner !== null || k.engine.mayInterleave()) return lwpLockWait(l);
  take(k, m, owner(k));
  touch(l);
  return DONE;
}

function* lwpLockWait(l: Lwp): Gen<void> {
  const k = l.k;
  for (;;) {
    const old = l.mutex;
    yield* mutexEnter(k, old);
    if (l.mutex === old) return touch(l);
    mutexExit(k, old);
  }
}

/** lwp_unlock: called with the LWP locked. */
export function lwpUnlock(l: Lwp): void {
  mutexExit(l.k, l.mutex);
}

/** lwp_trylock: lock the LWP if its lock is free right now. */
export function lwpTrylock(l: Lwp): boolean {
  if (!mutexTryEnter(l.k, l.mutex)) return false;
  touch(l);
  return true;
}

/** lwp_locked: is the LWP locked (by us), and by `mtx` if given? */
export function lwpLocked(l: Lwp, mtx: KMutex | null = null): boolean {
  return mutexOwned(l.k, l.mutex) && (mtx === null || mtx === l.mutex);
}

/** lwp_setlock: lend the LWP a new lock.  The old one must be held; it stays held. */
export function lwpSetlock(l: Lwp, m: KMutex): void {
  kassert(mutexOwned(l.k, l.mutex), setlockMsg, l);
  l.mutex = m;
  touch(l);
}

/** lwp_unlock_to: lend the LWP a new lock and release the old one. */
export function lwpUnlockTo(l: Lwp, m: KMutex): void {
  kassert(lwpLocked(l), unlockToMsg, l);
  const old = l.mutex;
  l.mutex = m;
  touch(l);
  mutexExit(l.k, old);
}
