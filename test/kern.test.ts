/* Kernel functions reached directly, the way a kernel developer's test would: lookups, trylock, cancellation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, type Sys } from '../src/index.ts';
import { runDetached, type Gen } from '../src/engine/coroutine.ts';
import { lwpAlive, lwpFind, lwpFind2, lwpFindFirst } from '../src/kern/lwp.ts';
import { lwpLock, lwpTrylock, lwpUnlock, mutexEnter, mutexExit } from '../src/kern/mutex.ts';
import { lwpUnsleep } from '../src/kern/sleepq.ts';
import { kthreadCreate } from '../src/kern/proc.ts';
import { LW_CANCELLED, LSSLEEP } from '../src/kern/param.ts';
import type { Lwp } from '../src/kern/h/lwp.ts';
import { errnoOf } from './helpers.ts';

/** A machine with pid 1 holding: lid 1 computing, lid 2 a zombie, lid 3 asleep. */
function scene(): Machine {
  const m = new Machine({ ncpu: 2, seed: 1 });
  m.spawn(function* (sys: Sys) {
    yield* sys.lwpCreate(function* () {});
    yield* sys.lwpCreate(function* (s: Sys) { yield* s.sleep(1000); });
    yield* sys.compute(1000);
  });
  assert.equal(m.run({ maxTicks: 50 }).outcome, 'limit');
  return m;
}

test('lwp_find hides LSIDL and LSZOMB LWPs; lwp_alive and lwp_find_first agree', () => {
  const m = scene();
  const k = m.kernel;
  const p = k.procs.get(1)!;
  runDetached(mutexEnter(k, p.lock));
  assert.equal(lwpFind(p, 1)?.lid, 1);
  assert.equal(lwpFind(p, 2), null, 'zombie');
  assert.equal(lwpFind(p, 3)?.lid, 3);
  assert.equal(lwpFind(p, 9), null);
  assert.deepEqual([1, 2, 3].map((lid) => lwpAlive(p.lidMap.get(lid)!)), [true, false, true]);
  assert.equal(lwpFindFirst(p)?.lid, 3, 'the first live LWP on the list (newest first)');
  mutexExit(k, p.lock);
  assert.throws(() => lwpFind(p, 1), /lwp_find: p.lock not held/);
});

test('lwp_find2 finds by pid and lid, returns with p.lock held, and with lid 0 takes the first LWP in any state', () => {
  const m = scene();
  const k = m.kernel;
  const p = k.procs.get(1)!;
  const cur = p.lidMap.get(1)!;
  const l = runDetached(lwpFind2(cur, 1, 3));
  assert.equal(l?.lid, 3);
  assert.notEqual(p.lock.owner, null);
  mutexExit(k, p.lock);
  assert.equal(runDetached(lwpFind2(cur, 1, 2)), null, 'a zombie is not found by lid');
  assert.equal(p.lock.owner, null, 'and p.lock is released on failure');
  assert.equal(runDetached(lwpFind2(cur, 77, 1)), null);
  const first = runDetached(lwpFind2(cur, 1, 0));
  assert.equal(first?.lid, 3);
  mutexExit(k, p.lock);
});

test('lwp_trylock takes a free LWP lock and fails on a held one', () => {
  const m = scene();
  const k = m.kernel;
  const l = k.procs.get(1)!.lidMap.get(3)!;
  assert.equal(lwpTrylock(l), true);
  assert.equal(lwpTrylock(l), false);
  lwpUnlock(l);
  runDetached(lwpLock(l));
  assert.equal(l.mutex.owner !== null, true);
  lwpUnlock(l);
});

test('lwp_wait1 returns EINTR when its interruptible sleep is cancelled (what _lwp_wakeup does)', () => {
  const m = new Machine({ ncpu: 2, seed: 1 });
  let e = '';
  m.spawn(function* (sys: Sys) {
    yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(500); });
    e = yield* errnoOf(sys.lwpWait(2));
    yield* sys.lwpWait(2);
  });
  const k = m.kernel;
  runDetached(kthreadCreate(k.cpus[1]!.idlelwp, 'waker', function* (l: Lwp): Gen<void> {
    const p = k.procs.get(1)!;
    const t = p.lidMap.get(1)!;
    while (t.stat !== LSSLEEP) yield* sleepTick(l);
    yield* mutexEnter(k, p.lock);
    yield* lwpLock(t);
    t.flag |= LW_CANCELLED;
    yield* lwpUnsleep(t, true);
    mutexExit(k, p.lock);
  }));
  assert.equal(m.run().outcome, 'idle');
  assert.equal(e, 'EINTR');
});

function* sleepTick(l: Lwp): Gen<void> {
  const { sleeptabLookup, sleepqEnter, sleepqEnqueue, sleepqBlock } = sleepq;
  const sq = yield* sleeptabLookup(l.k, l);
  yield* sleepqEnter(sq, l);
  sleepqEnqueue(sq, l, 'tick', l);
  yield* sleepqBlock(l, 1, false);
}
import * as sleepq from '../src/kern/sleepq.ts';
