/* _lwp_park, _lwp_unpark, _lwp_unpark_all and _lwp_wakeup: every errno path and side effect. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, type Sys } from '../src/index.ts';
import type { Gen } from '../src/engine/coroutine.ts';
import type { Lwp } from '../src/kern/h/lwp.ts';
import { LSSLEEP, LW_CANCELLED, LW_SINTR, LW_UNPARKED } from '../src/kern/param.ts';
import { sleepqBlock, sleepqEnqueue, sleepqEnter, sleeptabLookup } from '../src/kern/sleepq.ts';
import { assertIdle, errnoOf, runMain } from './helpers.ts';
import { lwpOf, untyped } from './inspect.ts';

/** Wait (in user mode, a tick at a time) until LWP lid of our process is parked. */
function* untilParked(sys: Sys, lid: number): Gen<void> {
  const p = lwpOf(sys).proc;
  for (let i = 0; i < 10_000; i++) {
    const t = p.lidMap.get(lid);
    if (t !== undefined && t.stat === LSSLEEP && t.wmesg === 'parked') return;
    yield* sys.compute(1);
  }
  throw new Error(`lwp ${lid} never parked`);
}

test('an unpark that lands before the park makes that park return EALREADY, and only that park', () => {
  const { r, out } = runMain(function* (sys, o: { a?: string; b?: string; t0?: number; t1?: number }) {
    const me = yield* sys.lwpSelf();
    yield* sys.lwpUnpark(me);
    o.t0 = lwpOf(sys).k.now;
    o.a = yield* errnoOf(sys.lwpPark());
    o.b = yield* errnoOf(sys.lwpPark({ timeout: 30 }));
    o.t1 = lwpOf(sys).k.now;
  }, {});
  assertIdle(r);
  assert.equal(out.a, 'EALREADY');
  assert.equal(out.b, 'ETIMEDOUT', 'the pending unpark was consumed by the first park');
  assert.ok(out.t1! - out.t0! >= 30);
});

test('several unparks of an LWP that is not parked collapse into one', () => {
  const { r, out } = runMain(function* (sys, o: { codes: string[] }) {
    const me = yield* sys.lwpSelf();
    for (let i = 0; i < 3; i++) yield* sys.lwpUnpark(me, i); // any hint: not parked, so pending
    o.codes.push(yield* errnoOf(sys.lwpPark()));
    o.codes.push(yield* errnoOf(sys.lwpPark({ timeout: 5 })));
  }, { codes: [] as string[] });
  assertIdle(r);
  assert.deepEqual(out.codes, ['EALREADY', 'ETIMEDOUT']);
});

test('unpark wakes a parked LWP (same hint, other hint, no hint); the park returns normally', () => {
  for (const [parkHint, unparkHint] of [['m', 'm'], ['m', 'other'], [undefined, null], [{}, undefined]] as const) {
    const { r, out } = runMain(function* (sys, o: { res?: string; ps?: string }) {
      const t = yield* sys.lwpCreate(function* (s: Sys) { o.res = yield* errnoOf(s.lwpPark({ hint: parkHint })); });
      yield* untilParked(sys, t);
      o.ps = lwpOf(sys).proc.lidMap.get(t)!.wmesg ?? '';
      yield* sys.lwpUnpark(t, unparkHint);
      yield* sys.lwpWait(t);
    }, {}, { ncpu: 2 });
    assertIdle(r);
    assert.equal(out.ps, 'parked');
    assert.equal(out.res, '', `hint ${String(parkHint)} / ${String(unparkHint)}`);
  }
});

test('unpark of an LWP asleep on something else leaves it asleep, with the unpark pending for its next park', () => {
  const { r, out } = runMain(function* (sys, o: { slept?: number; res?: string }) {
    const t = yield* sys.lwpCreate(function* (s: Sys) {
      const k = lwpOf(s).k;
      const t0 = k.now;
      yield* s.sleep(100);
      o.slept = k.now - t0;
      o.res = yield* errnoOf(s.lwpPark());
    });
    yield* sys.compute(10);
    yield* sys.lwpUnpark(t);
    yield* sys.lwpWait(t);
  }, {}, { ncpu: 2 });
  assertIdle(r);
  assert.ok(out.slept! >= 100, `nanosleep was cut short: ${out.slept}`);
  assert.equal(out.res, 'EALREADY');
});

test('unpark: ESRCH for unknown and zombie LWPs, EINVAL for a lid C cannot express', () => {
  const { r, out } = runMain(function* (sys, o: { codes: string[] }) {
    const z = yield* sys.lwpCreate(function* () {});
    yield* sys.compute(50); // z is a zombie now, not yet collected
    for (const lid of [999, -3, 0, z, 1.5, untyped<number>('2')]) o.codes.push(yield* errnoOf(sys.lwpUnpark(lid)));
    yield* sys.lwpWait(z);
    o.codes.push(yield* errnoOf(sys.lwpUnpark(z)));
  }, { codes: [] as string[] });
  assertIdle(r);
  assert.deepEqual(out.codes, ['ESRCH', 'ESRCH', 'ESRCH', 'ESRCH', 'EINVAL', 'EINVAL', 'ESRCH']);
});

test('park({ unpark }) unparks its target first; ESRCH without parking (and without consuming a pending unpark)', () => {
  const { r, out } = runMain(function* (sys, o: { a?: string; b?: string; c?: string; woke?: string; dt?: number }) {
    const k = lwpOf(sys).k;
    const me = yield* sys.lwpSelf();
    const t = yield* sys.lwpCreate(function* (s: Sys) { o.woke = yield* errnoOf(s.lwpPark({ hint: 'h' })); });
    yield* untilParked(sys, t);
    // Hand off: unpark t and park ourselves (t never unparks us: time out).
    o.a = yield* errnoOf(sys.lwpPark({ unpark: t, unparkHint: 'h', timeout: 20 }));
    yield* sys.lwpWait(t);
    yield* sys.lwpUnpark(me);
    const t0 = k.now;
    o.b = yield* errnoOf(sys.lwpPark({ unpark: 999 }));
    o.dt = k.now - t0;
    o.c = yield* errnoOf(sys.lwpPark());
  }, {}, { ncpu: 2 });
  assertIdle(r);
  assert.equal(out.woke, '');
  assert.equal(out.a, 'ETIMEDOUT');
  assert.equal(out.b, 'ESRCH');
  assert.ok(out.dt! < 10, 'ESRCH came without sleeping');
  assert.equal(out.c, 'EALREADY', 'the pending unpark survived the failed park');
});

test('park timeouts: ETIMEDOUT after the time; <= 0 at once without consuming a pending unpark; malformed EINVAL', () => {
  const m = new Machine({ ncpu: 1, syscallCost: 0 });
  const o: { codes: string[]; woke?: number; t0?: number } = { codes: [] };
  m.spawn(function* (sys: Sys) {
    o.t0 = m.now;
    o.codes.push(yield* errnoOf(sys.lwpPark({ timeout: 77 })));
    o.woke = m.now;
    const me = yield* sys.lwpSelf();
    yield* sys.lwpUnpark(me);
    for (const timeout of [0, -5, -1.5]) o.codes.push(yield* errnoOf(sys.lwpPark({ timeout })));
    for (const timeout of [1.5, NaN, Infinity, untyped<number>('3')]) o.codes.push(yield* errnoOf(sys.lwpPark({ timeout })));
    o.codes.push(yield* errnoOf(sys.lwpPark(42 as never)));
    o.codes.push(yield* errnoOf(sys.lwpPark({ unpark: 1.5 })));
    o.codes.push(yield* errnoOf(sys.lwpPark())); // the unpark is still pending
  });
  assertIdle(m.run());
  assert.equal(o.woke! - o.t0!, 77);
  assert.deepEqual(o.codes, ['ETIMEDOUT', 'ETIMEDOUT', 'ETIMEDOUT', 'ETIMEDOUT', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EALREADY']);
});

test('a park with a malformed timeout still unparks its target first (NetBSD 6 order)', () => {
  const { r, out } = runMain(function* (sys, o: { a?: string; woke?: string }) {
    const t = yield* sys.lwpCreate(function* (s: Sys) { o.woke = yield* errnoOf(s.lwpPark()); });
    yield* untilParked(sys, t);
    o.a = yield* errnoOf(sys.lwpPark({ unpark: t, timeout: 2.5 }));
    yield* sys.lwpWait(t);
  }, {}, { ncpu: 2 });
  assertIdle(r);
  assert.equal(out.a, 'EINVAL');
  assert.equal(out.woke, '');
});

test('lwpWakeup interrupts a park with EINTR, and leaves its marks set: the next park returns EALREADY', () => {
  const { r, out } = runMain(function* (sys, o: { a?: string; b?: string; c?: string; w?: string }) {
    const t = yield* sys.lwpCreate(function* (s: Sys) {
      o.a = yield* errnoOf(s.lwpPark());
      o.b = yield* errnoOf(s.lwpPark());
      o.c = yield* errnoOf(s.lwpPark({ timeout: 5 }));
    });
    yield* untilParked(sys, t);
    o.w = yield* errnoOf(sys.lwpWakeup(t));
    yield* sys.lwpWait(t);
  }, {}, { ncpu: 2 });
  assertIdle(r);
  assert.deepEqual([out.w, out.a, out.b, out.c], ['', 'EINTR', 'EALREADY', 'ETIMEDOUT']);
});

test('lwpWakeup of an LWP in nanosleep: the sleep returns EINTR', () => {
  const { r, out } = runMain(function* (sys, o: { s?: string; w?: string; dt?: number }) {
    const k = lwpOf(sys).k;
    const t = yield* sys.lwpCreate(function* (s: Sys) {
      const t0 = k.now;
      o.s = yield* errnoOf(s.sleep(10_000));
      o.dt = k.now - t0;
    });
    yield* sys.compute(20);
    o.w = yield* errnoOf(sys.lwpWakeup(t));
    yield* sys.lwpWait(t);
  }, {}, { ncpu: 2 });
  assertIdle(r);
  assert.deepEqual([out.w, out.s], ['', 'EINTR']);
  assert.ok(out.dt! < 100);
});

test('lwpWakeup of a running LWP is ENODEV but still marks it: its next park returns EALREADY, its next sleep EINTR', () => {
  const { r, out } = runMain(function* (sys, o: { w?: string; p?: string; s?: string; flags?: number }) {
    const t = yield* sys.lwpCreate(function* (s: Sys) {
      yield* s.compute(200);
      o.p = yield* errnoOf(s.lwpPark());
    });
    const u = yield* sys.lwpCreate(function* (s: Sys) {
      yield* s.compute(200);
      o.s = yield* errnoOf(s.sleep(50)); // LW_CANCELLED: EINTR at once
    });
    yield* sys.compute(20);
    o.w = yield* errnoOf(sys.lwpWakeup(t));
    o.flags = lwpOf(sys).proc.lidMap.get(t)!.flag & (LW_CANCELLED | LW_UNPARKED);
    yield* errnoOf(sys.lwpWakeup(u));
    yield* sys.lwpWait(t);
    yield* sys.lwpWait(u);
  }, {}, { ncpu: 4 });
  assertIdle(r);
  assert.equal(out.w, 'ENODEV');
  assert.equal(out.flags, LW_CANCELLED | LW_UNPARKED);
  assert.equal(out.p, 'EALREADY');
  assert.equal(out.s, 'EINTR');
});

/** Sleep uninterruptibly for `ticks` (a kernel path, entered straight from the test program). */
function* uninterruptibleSleep(l: Lwp, ticks: number): Gen<number> {
  const sq = yield* sleeptabLookup(l.k, l);
  yield* sleepqEnter(sq, l);
  sleepqEnqueue(sq, l, 'uninterruptible', l);
  return yield* sleepqBlock(l, ticks, false);
}

test('lwpWakeup of an uninterruptible sleeper is EBUSY: the sleep goes on, but the marks are set', () => {
  const { r, out } = runMain(function* (sys, o: { w?: string; dt?: number; p?: string; s?: string; sintr?: number }) {
    const k = lwpOf(sys).k;
    const t = yield* sys.lwpCreate(function* (s: Sys) {
      const t0 = k.now;
      yield* uninterruptibleSleep(lwpOf(s), 300);
      o.dt = k.now - t0;
      o.s = yield* errnoOf(s.sleep(10)); // LW_CANCELLED: EINTR at once (and cleared)
      o.p = yield* errnoOf(s.lwpPark());  // LW_UNPARKED: EALREADY
    });
    yield* sys.compute(30);
    const tl = lwpOf(sys).proc.lidMap.get(t)!;
    o.sintr = tl.flag & LW_SINTR;
    o.w = yield* errnoOf(sys.lwpWakeup(t));
    yield* sys.lwpWait(t);
  }, {}, { ncpu: 2 });
  assertIdle(r);
  assert.equal(out.sintr, 0);
  assert.equal(out.w, 'EBUSY');
  assert.ok(out.dt! >= 300, `the uninterruptible sleep was cut short: ${out.dt}`);
  assert.equal(out.p, 'EALREADY');
  assert.equal(out.s, 'EINTR');
});

test('lwpWakeup: ESRCH for unknown and zombie LWPs, EINVAL for a bad lid; waking oneself is ENODEV', () => {
  const { r, out } = runMain(function* (sys, o: { codes: string[]; after?: string }) {
    const z = yield* sys.lwpCreate(function* () {});
    yield* sys.compute(50);
    for (const lid of [999, z, 2 ** 40, NaN]) o.codes.push(yield* errnoOf(sys.lwpWakeup(lid)));
    o.codes.push(yield* errnoOf(sys.lwpWakeup(yield* sys.lwpSelf())));
    o.after = yield* errnoOf(sys.lwpPark());
    yield* sys.lwpWait(z);
  }, { codes: [] as string[] });
  assertIdle(r);
  assert.deepEqual(out.codes, ['ESRCH', 'ESRCH', 'EINVAL', 'EINVAL', 'ENODEV']);
  assert.equal(out.after, 'EALREADY');
});

test('lwpUnparkAll: null gives the batch size; empty, oversized and malformed batches are EINVAL; unknown targets are skipped', () => {
  const { r, out } = runMain(function* (sys, o: { max?: number; codes: string[]; woke: string[]; pend?: string; ret?: number }) {
    o.max = yield* sys.lwpUnparkAll(null);
    o.codes.push(yield* errnoOf(sys.lwpUnparkAll([])));
    o.codes.push(yield* errnoOf(sys.lwpUnparkAll(new Array(1025).fill(999))));
    o.codes.push(yield* errnoOf(sys.lwpUnparkAll('1' as never)));
    o.codes.push(yield* errnoOf(sys.lwpUnparkAll([2, 1.5])));
    const parked: number[] = [];
    for (let i = 0; i < 3; i++) parked.push(yield* sys.lwpCreate(function* (s: Sys) { o.woke.push(yield* errnoOf(s.lwpPark({ hint: i % 2 }))); }));
    for (const t of parked) yield* untilParked(sys, t);
    const late = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(300); o.pend = yield* errnoOf(s.lwpPark()); });
    o.ret = yield* sys.lwpUnparkAll([...parked, 999, late, -1, ...new Array(1000).fill(4242)], 0);
    for (const t of [...parked, late]) yield* sys.lwpWait(t);
  }, { codes: [] as string[], woke: [] as string[] }, { ncpu: 2 });
  assertIdle(r);
  assert.equal(out.max, 1024);
  assert.deepEqual(out.codes, ['EINVAL', 'EINVAL', 'EINVAL', 'EINVAL']);
  assert.equal(out.ret, 0);
  assert.deepEqual(out.woke, ['', '', ''], 'parked under hint 0 and hint 1 alike');
  assert.equal(out.pend, 'EALREADY', 'a target not yet parked got a pending unpark');
});

test('a parked LWP is taken out by exit(), and a suspension makes its park return (callers re-check)', () => {
  const { r, m, pid } = runMain(function* (sys) {
    yield* sys.lwpCreate(function* (s: Sys) { yield* s.lwpPark(); });
    yield* sys.compute(50);
    yield* sys.exit(9);
  }, {}, { ncpu: 2 });
  assertIdle(r);
  assert.equal(m.proc(pid)!.exitStatus, 9);

  const { r: r2, out } = runMain(function* (sys, o: { res?: string }) {
    const t = yield* sys.lwpCreate(function* (s: Sys) { o.res = yield* errnoOf(s.lwpPark()); });
    yield* untilParked(sys, t);
    yield* sys.lwpSuspend(t);
    yield* sys.lwpContinue(t);
    yield* sys.lwpWait(t);
  }, {}, { ncpu: 2 });
  assertIdle(r2);
  assert.equal(out.res, '');
});

test('a signal interrupts a park with EINTR even when its handler asks for restarts: the SA_RESTART handler runs, and the park is never restarted', () => {
  const SIGUSR1 = 30;
  const { r, out } = runMain(function* (sys, o: { res?: string; caught: number }) {
    yield* sys.sigaction(SIGUSR1, function* () { o.caught++; }, { restart: true });
    const t = yield* sys.lwpCreate(function* (s: Sys) { o.res = yield* errnoOf(s.lwpPark()); });
    yield* untilParked(sys, t);
    yield* sys.lwpKill(t, SIGUSR1);
    yield* sys.lwpWait(t);
  }, { caught: 0 }, { ncpu: 2 });
  assertIdle(r);
  assert.equal(out.caught, 1);
  assert.equal(out.res, 'EINTR');
});
