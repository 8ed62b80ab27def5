/* The pthread-style library on park/unpark/lwpctl: classic cases on 1 to 8 CPUs under many seeds, and its API's errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, pthread, type RunResult, type Sys } from '../src/index.ts';
import type { Gen } from '../src/engine/coroutine.ts';
import { EBUSY, EDEADLK, EINVAL, EPERM, ESRCH, ETIMEDOUT } from '../src/kern/errno.ts';

const { Mutex, Cond } = pthread;

function idle(r: RunResult, what: string): void {
  assert.equal(r.outcome, 'idle', `${what}: ${r.outcome} ${r.panic?.message ?? ''} ${JSON.stringify(r.blocked ?? '')}`);
}

const SEEDS = [1, 2, 3, 4, 5];
const CPUS = [1, 2, 3, 4, 8];

test('a lock held across a preemption: mutual exclusion on 1 to 8 CPUs; one CPU parks and never spins, several spin', () => {
  let spinsMulti = 0;
  for (const ncpu of CPUS) {
    for (const seed of SEEDS) {
      const m = new Machine({ ncpu, seed, quantum: 40 });
      const mu = new Mutex();
      const st = { counter: 0, inside: 0, maxInside: 0 };
      const N = 4, K = 4;
      function* worker(sys: Sys): Gen<void> {
        for (let i = 0; i < K; i++) {
          assert.equal(yield* pthread.mutexLock(sys, mu), 0);
          st.inside++;
          st.maxInside = Math.max(st.maxInside, st.inside);
          const v = st.counter;
          yield* sys.compute(60 + (seed % 3) * 20); // longer than a quantum: preempted while holding the lock
          st.counter = v + 1;
          st.inside--;
          assert.equal(yield* pthread.mutexUnlock(sys, mu), 0);
          yield* sys.compute(seed % 5);
        }
      }
      m.spawn(function* (sys: Sys) {
        const ts = [];
        for (let i = 0; i < N; i++) ts.push((yield* pthread.create(sys, worker, undefined)).thread!);
        for (const t of ts) assert.equal((yield* pthread.join(sys, t)).error, 0);
      });
      idle(m.run(), `ncpu ${ncpu} seed ${seed}`);
      assert.equal(st.counter, N * K, `ncpu ${ncpu} seed ${seed}: lost updates`);
      assert.equal(st.maxInside, 1);
      if (ncpu === 1) {
        assert.ok(mu.parks > 0, `seed ${seed}: nobody parked`);
        assert.equal(mu.spins, 0, 'on one CPU the owner is never on a CPU while we look');
      } else spinsMulti += mu.spins;
    }
  }
  assert.ok(spinsMulti > 0, 'on several CPUs contenders spin while the owner runs');
});

test('spin while the owner is on a CPU, park at once when it is not', () => {
  // The owner computes while holding the lock: the contender spins and never parks.
  const run = (ownerSleeps: boolean) => {
    const m = new Machine({ ncpu: 2, seed: 1 });
    const mu = new Mutex();
    m.spawn(function* (sys: Sys) {
      const owner = (yield* pthread.create(sys, function* (s: Sys) {
        yield* pthread.mutexLock(s, mu);
        if (ownerSleeps) yield* s.sleep(300); else yield* s.compute(300);
        yield* pthread.mutexUnlock(s, mu);
      }, undefined)).thread!;
      yield* sys.compute(30);
      yield* pthread.mutexLock(sys, mu);
      yield* pthread.mutexUnlock(sys, mu);
      yield* pthread.join(sys, owner);
    });
    idle(m.run(), `ownerSleeps ${ownerSleeps}`);
    return mu;
  };
  const spun = run(false);
  assert.ok(spun.spins > 0);
  assert.equal(spun.parks, 0);
  const parked = run(true);
  assert.equal(parked.spins, 0);
  assert.equal(parked.parks, 1);
});

test('a lost-wakeup attempt: signals that land between a waiter\'s unlock and its park are kept (EALREADY), on 1 to 8 CPUs', () => {
  let early = 0;
  for (const ncpu of CPUS) {
    for (const seed of [...SEEDS, 6, 7, 8]) {
      const m = new Machine({ ncpu, seed });
      const mu = new Mutex();
      const cv = new Cond();
      const st = { turn: 0, rounds: 0 };
      const R = 12;
      // Two threads hand a turn back and forth: each waits for its turn, then passes it on and signals.
      function* player(sys: Sys, me: number): Gen<void> {
        for (let i = 0; i < R; i++) {
          yield* pthread.mutexLock(sys, mu);
          while (st.turn !== me) assert.equal(yield* pthread.condWait(sys, cv, mu), 0);
          st.turn = 1 - me;
          st.rounds++;
          yield* pthread.condSignal(sys, cv);
          yield* pthread.mutexUnlock(sys, mu);
          yield* sys.compute((seed * (i + 1) + me) % 4);
        }
      }
      m.spawn(function* (sys: Sys) {
        const a = (yield* pthread.create(sys, player, 0)).thread!;
        const b = (yield* pthread.create(sys, player, 1)).thread!;
        yield* pthread.join(sys, a);
        yield* pthread.join(sys, b);
      });
      idle(m.run({ maxTicks: 200_000 }), `ncpu ${ncpu} seed ${seed}`);
      assert.equal(st.rounds, 2 * R);
      early += cv.early + mu.early;
    }
  }
  assert.ok(early > 0, `the window between unlock and park was never hit: the test proves nothing`);
});

test('a broadcast wakes every one of many waiters, on 1 to 8 CPUs', () => {
  for (const ncpu of CPUS) {
    for (const seed of SEEDS.slice(0, 3)) {
      const m = new Machine({ ncpu, seed });
      const mu = new Mutex();
      const cv = new Cond();
      const st = { go: false, woke: 0, waiting: 0 };
      const N = 24;
      m.spawn(function* (sys: Sys) {
        const ts = [];
        for (let i = 0; i < N; i++) {
          ts.push((yield* pthread.create(sys, function* (s: Sys) {
            yield* pthread.mutexLock(s, mu);
            st.waiting++;
            while (!st.go) yield* pthread.condWait(s, cv, mu);
            st.woke++;
            yield* pthread.mutexUnlock(s, mu);
          }, undefined)).thread!);
        }
        while (st.waiting < N) yield* sys.compute(5);
        yield* pthread.mutexLock(sys, mu);
        st.go = true;
        yield* pthread.condBroadcast(sys, cv);
        yield* pthread.mutexUnlock(sys, mu);
        for (const t of ts) yield* pthread.join(sys, t);
      });
      idle(m.run(), `ncpu ${ncpu} seed ${seed}`);
      assert.equal(st.woke, N);
    }
  }
});

test('a broadcast to more waiters than one _lwp_unpark_all takes goes out in batches', () => {
  const m = new Machine({ ncpu: 4, seed: 1, check: false });
  const mu = new Mutex();
  const cv = new Cond();
  const st = { go: false, woke: 0, waiting: 0, batches: 0 };
  const N = 1030;
  m.on((e) => { if (e.type === 'syscall' && e.name === '_lwp_unpark_all' && e.args[0] !== null) st.batches++; });
  m.spawn(function* (sys: Sys) {
    for (let i = 0; i < N; i++) {
      yield* pthread.create(sys, function* (s: Sys) {
        yield* pthread.mutexLock(s, mu);
        st.waiting++;
        while (!st.go) yield* pthread.condWait(s, cv, mu);
        st.woke++;
        yield* pthread.mutexUnlock(s, mu);
      }, undefined, { detached: true });
    }
    while (st.waiting < N) yield* sys.compute(50);
    yield* pthread.mutexLock(sys, mu);
    st.go = true;
    yield* pthread.condBroadcast(sys, cv);
    yield* pthread.mutexUnlock(sys, mu);
    while (st.woke < N) yield* sys.compute(50);
  }, { uid: 0 });
  idle(m.run({ maxTicks: 10_000_000 }), 'broadcast to 1030');
  assert.equal(st.woke, N);
  assert.ok(st.batches >= 2);
});

test('threads: create/join returns the value; join of oneself EDEADLK, of a detached thread EINVAL, twice ESRCH; detach twice EINVAL', () => {
  const m = new Machine({ ncpu: 2 });
  const o: Record<string, unknown> = {};
  m.spawn(function* (sys: Sys) {
    const me = yield* pthread.self(sys);
    o.selfAgain = (yield* pthread.self(sys)) === me;
    const t = (yield* pthread.create(sys, function* (s: Sys, x: number) { yield* s.compute(10); return x * 2; }, 21)).thread!;
    o.join = yield* pthread.join(sys, t);
    o.again = (yield* pthread.join(sys, t)).error;
    o.self = (yield* pthread.join(sys, me)).error;
    const d = (yield* pthread.create(sys, function* (s: Sys) { yield* s.compute(50); }, undefined, { detached: true, name: 'det' })).thread!;
    o.joinDetached = (yield* pthread.join(sys, d)).error;
    o.detachDetached = yield* pthread.detach(sys, d);
    const u = (yield* pthread.create(sys, function* (s: Sys) { yield* s.compute(50); }, undefined)).thread!;
    o.detach = yield* pthread.detach(sys, u);
    o.detach2 = yield* pthread.detach(sys, u);
    const e = (yield* pthread.create(sys, function* (s: Sys) { yield* pthread.exit(s, 'early'); return 'never'; }, undefined)).thread!;
    o.exitval = (yield* pthread.join(sys, e)).value;
    o.priv = (yield* sys.lwpGetPrivate()) === me;
  });
  idle(m.run(), 'threads');
  assert.equal(o.selfAgain, true);
  assert.deepEqual(o.join, { error: 0, value: 42 });
  assert.equal(o.again, ESRCH);
  assert.equal(o.self, EDEADLK);
  assert.equal(o.joinDetached, EINVAL);
  assert.equal(o.detachDetached, EINVAL);
  assert.equal(o.detach, 0);
  assert.equal(o.detach2, EINVAL);
  assert.equal(o.exitval, 'early');
  assert.equal(o.priv, true, 'the thread record lives in the LWP\'s private pointer');
});

test('mutex and condition errors: EPERM unlocking another\'s mutex, EDEADLK relocking, EBUSY trylock, EPERM waiting without the mutex; timed waits', () => {
  const m = new Machine({ ncpu: 2 });
  const o: Record<string, unknown> = {};
  m.spawn(function* (sys: Sys) {
    const mu = new Mutex();
    const cv = new Cond();
    o.unlockFree = yield* pthread.mutexUnlock(sys, mu);
    o.wait = yield* pthread.condWait(sys, cv, mu);
    yield* pthread.mutexLock(sys, mu);
    o.relock = yield* pthread.mutexLock(sys, mu);
    const t = (yield* pthread.create(sys, function* (s: Sys) {
      o.other = yield* pthread.mutexUnlock(s, mu);
      o.try = yield* pthread.mutexTrylock(s, mu);
    }, undefined)).thread!;
    yield* pthread.join(sys, t);
    o.timed = yield* pthread.condTimedwait(sys, cv, mu, 40);
    o.held = mu.owner === (yield* pthread.self(sys));
    o.left = cv.waiters.length;
    yield* pthread.mutexUnlock(sys, mu);
    o.tryFree = yield* pthread.mutexTrylock(sys, mu);
  });
  idle(m.run(), 'errors');
  assert.deepEqual([o.unlockFree, o.wait, o.relock, o.other, o.try], [EPERM, EPERM, EDEADLK, EPERM, EBUSY]);
  assert.equal(o.timed, ETIMEDOUT);
  assert.equal(o.held, true);
  assert.equal(o.left, 0);
  assert.equal(o.tryFree, 0);
});

test('thread-specific keys: destructors run at thread exit; keyDelete runs none and forgets the values; EINVAL and EAGAIN', () => {
  const m = new Machine({ ncpu: 2 });
  const ran: string[] = [];
  const o: Record<string, unknown> = {};
  m.spawn(function* (sys: Sys) {
    const { key } = yield* pthread.keyCreate(sys, (v) => ran.push(`dtor:${String(v)}`));
    const { key: k2 } = yield* pthread.keyCreate(sys, (v) => ran.push(`k2:${String(v)}`));
    yield* pthread.setspecific(sys, key, 'main');
    const t = (yield* pthread.create(sys, function* (s: Sys) {
      o.fresh = yield* pthread.getspecific(s, key);
      yield* pthread.setspecific(s, key, 'thread');
      yield* pthread.setspecific(s, k2, null);
    }, undefined)).thread!;
    yield* pthread.join(sys, t);
    ran.push('joined');
    o.mine = yield* pthread.getspecific(sys, key);
    o.del = yield* pthread.keyDelete(sys, key);
    o.afterDel = yield* pthread.getspecific(sys, key);
    o.setDeleted = yield* pthread.setspecific(sys, key, 1);
    o.delAgain = yield* pthread.keyDelete(sys, key);
    const { key: reused } = yield* pthread.keyCreate(sys);
    o.reused = [reused, yield* pthread.getspecific(sys, reused)];
    let last = { error: 0, key: 0 };
    for (let i = 0; i < pthread.PTHREAD_KEYS_MAX; i++) last = yield* pthread.keyCreate(sys);
    o.full = last.error;
  });
  idle(m.run(), 'keys');
  assert.deepEqual(ran, ['dtor:thread', 'joined']);
  assert.equal(o.fresh, undefined);
  assert.equal(o.mine, 'main');
  assert.deepEqual([o.del, o.afterDel, o.setDeleted, o.delAgain], [0, undefined, EINVAL, EINVAL]);
  assert.deepEqual(o.reused, [0, undefined]);
  assert.equal(o.full, 35 /* EAGAIN */);
});
