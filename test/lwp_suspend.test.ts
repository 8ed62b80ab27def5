/* _lwp_suspend / _lwp_continue: every state case of lwp_suspend and the syscall's wait loop. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LWP_SUSPENDED, Machine, type Sys } from '../src/index.ts';
import type { Lwp } from '../src/kern/h/lwp.ts';
import { LW_WSUSPEND, STAT_NAMES } from '../src/kern/param.ts';
import { assertIdle, errnoOf, runMain, running } from './helpers.ts';
import { procOf } from './inspect.ts';

function stat(sys: Sys, lid: number): string {
  // Programs cannot see kernel state; tests peek through the machine they run on.
  const l = procOf(sys).lidMap.get(lid);
  return l === undefined ? 'gone' : STAT_NAMES[l.stat];
}

function* spinner(sys: Sys, o: { ticks: number }) {
  for (let i = 0; i < 50; i++) {
    yield* sys.compute(10);
    o.ticks += 10;
  }
}

test('suspending an LWP running on another CPU returns once it is LSSUSPENDED; it makes no progress until continued', () => {
  const { r, out } = runMain(function* (sys, o: { ticks: number; at?: string; frozen?: number; later?: number; done?: number }) {
    const lid = yield* sys.lwpCreate(spinner, o);
    yield* sys.compute(55);
    yield* sys.lwpSuspend(lid);
    o.at = stat(sys, lid);
    o.frozen = o.ticks;
    yield* sys.compute(200);
    o.later = o.ticks;
    yield* sys.lwpContinue(lid);
    yield* sys.lwpWait(lid);
    o.done = o.ticks;
  }, { ticks: 0 }, { ncpu: 2 });
  assertIdle(r);
  assert.equal(out.at, 'SUSPENDED');
  assert.ok(out.frozen! > 0 && out.frozen! < 500, `ran ${out.frozen} before the suspension`);
  assert.equal(out.later, out.frozen, 'a suspended LWP must not run');
  assert.equal(out.done, 500);
});

test('suspending a runnable LWP that has never run: it suspends at its first trip to user mode', () => {
  const { r, out } = runMain(function* (sys, o: { ticks: number; at?: string }) {
    const lid = yield* sys.lwpCreate(spinner, o); // ncpu 1: it is LSRUN behind us
    yield* sys.lwpSuspend(lid);
    o.at = stat(sys, lid);
    yield* sys.lwpContinue(lid);
    yield* sys.lwpWait(lid);
  }, { ticks: 0 }, { ncpu: 1 });
  assertIdle(r);
  assert.equal(out.at, 'SUSPENDED');
  assert.equal(out.ticks, 500);
});

test('LWP_SUSPENDED creates the LWP suspended; lwpContinue starts it', () => {
  const { r, out } = runMain(function* (sys, o: { ticks: number; at?: string; before?: number }) {
    const lid = yield* sys.lwpCreate(spinner, o, { flags: LWP_SUSPENDED });
    o.at = stat(sys, lid);
    yield* sys.compute(100);
    o.before = o.ticks;
    yield* sys.lwpContinue(lid);
    yield* sys.lwpWait(lid);
  }, { ticks: 0 }, { ncpu: 2 });
  assertIdle(r);
  assert.equal(out.at, 'SUSPENDED');
  assert.equal(out.before, 0);
  assert.equal(out.ticks, 500);
});

test('suspending an LWP asleep interruptibly kicks it out of the sleep, but nanosleep sleeps out its time before it suspends', () => {
  const { r, out } = runMain(function* (sys, o: { woke?: number; back?: number }) {
    const lid = yield* sys.lwpCreate(function* (s: Sys) {
      yield* s.sleep(100);
      o.woke = running().now;
    });
    yield* sys.compute(10);
    yield* sys.lwpSuspend(lid);
    o.back = running().now;
    yield* sys.lwpContinue(lid);
    yield* sys.lwpWait(lid);
  }, {}, { ncpu: 2 });
  assertIdle(r);
  assert.ok(out.back! >= 100, `suspend returned at ${out.back}, before the sleep was over`);
  assert.ok(out.woke! > out.back!, 'the sleeper runs on only after being continued');
});

test('suspending oneself with no other LWP running, runnable or asleep is EDEADLK', () => {
  const { r, out } = runMain(function* (sys, o: { e?: string }) {
    o.e = yield* errnoOf(sys.lwpSuspend(yield* sys.lwpSelf()));
  }, {});
  assertIdle(r);
  assert.equal(out.e, 'EDEADLK');
});

test('suspending oneself sleeps in the wait loop until continued and the next p_lwpcv broadcast (NetBSD 6)', () => {
  const { r, out } = runMain(function* (sys, o: { back?: number; contAt?: number }) {
    const me = yield* sys.lwpSelf();
    yield* sys.lwpCreate(function* (s: Sys) {
      yield* s.compute(100);
      yield* s.lwpContinue(me); // clears LW_WSUSPEND; no broadcast: lwp_continue has none for a sleeper
      o.contAt = running().now;
      yield* s.compute(100);
    }); // ... its exit broadcasts p_lwpcv
    yield* sys.lwpSuspend(me);
    o.back = running().now;
    yield* sys.lwpWait(0);
  }, {}, { ncpu: 2 });
  assertIdle(r);
  assert.ok(out.contAt! >= 100);
  assert.ok(out.back! >= out.contAt! + 100, `self-suspend returned at ${out.back}, continue was at ${out.contAt}`);
});

test('suspending an unknown or zombie LWP is ESRCH; continuing one is ESRCH', () => {
  const { r, out } = runMain(function* (sys, o: { a?: string; b?: string; c?: string }) {
    const lid = yield* sys.lwpCreate(function* () {});
    yield* sys.compute(50); // it exits and stays a zombie (not yet waited for)
    o.a = yield* errnoOf(sys.lwpSuspend(lid));
    o.b = yield* errnoOf(sys.lwpSuspend(77));
    o.c = yield* errnoOf(sys.lwpContinue(lid));
    yield* sys.lwpWait(lid);
  }, {}, { ncpu: 2 });
  assertIdle(r);
  assert.equal(out.a, 'ESRCH');
  assert.equal(out.b, 'ESRCH');
  assert.equal(out.c, 'ESRCH');
});

test('lwpContinue of an LWP that is not suspended returns normally and cancels a suspension not yet taken', () => {
  const m = new Machine({ ncpu: 4, seed: 1 });
  const seen: string[] = [];
  m.on((e) => { if (e.type === 'state' && e.pid === 1 && e.lid === 2) seen.push(e.to); });
  const o: { cont?: string; ret?: string; pendingAtCont?: boolean; statAtCont?: string; pendingAfter?: boolean; ranAfter?: boolean } = {};
  const target = (): Lwp => m.kernel.procs.get(1)!.lidMap.get(2)!;
  m.spawn(function* (sys: Sys) {
    const t = yield* sys.lwpCreate(function* (s: Sys) { yield* s.sleep(100); yield* s.compute(10); o.ranAfter = true; });
    yield* sys.lwpCreate(function* (s: Sys) {
      yield* s.compute(50);
      // The suspension is pending: the target still sleeps, LW_WSUSPEND set.
      o.pendingAtCont = (target().flag & LW_WSUSPEND) !== 0;
      o.statAtCont = stat(s, t);
      o.cont = yield* errnoOf(s.lwpContinue(t));
      o.pendingAfter = (target().flag & LW_WSUSPEND) !== 0;
    });
    yield* sys.compute(10);
    o.ret = yield* errnoOf(sys.lwpSuspend(t));
    yield* sys.lwpWait(t);
    yield* sys.lwpWait(0);
  });
  assertIdle(m.run());
  assert.equal(o.pendingAtCont, true, 'the continue came before the suspension was pending');
  assert.equal(o.statAtCont, 'SLEEP');
  assert.equal(o.cont, '');
  assert.equal(o.pendingAfter, false, 'the continue did not cancel the pending suspension');
  assert.equal(o.ret, '');
  assert.equal(o.ranAfter, true);
  assert.ok(!seen.includes('SUSPENDED'), `target went through ${seen.join(' ')}`);
});

test('continue before the suspension is taken: the target never enters LSSUSPENDED', () => {
  const m0 = new Machine({ ncpu: 4, seed: 3 });
  const seen: string[] = [];
  let pendingAtCont = false; // the window: the suspension was asked for and not yet taken
  m0.on((e) => { if (e.type === 'state' && e.lid === 2) seen.push(e.to); });
  m0.spawn(function* (sys: Sys) {
    const target = yield* sys.lwpCreate(function* (s: Sys) { yield* s.sleep(100); });
    yield* sys.lwpCreate(function* (s: Sys) {
      yield* s.compute(50);
      pendingAtCont = (m0.kernel.procs.get(1)!.lidMap.get(target)!.flag & LW_WSUSPEND) !== 0;
      yield* s.lwpContinue(target);
    });
    yield* sys.compute(10);
    yield* sys.lwpSuspend(target);
    yield* sys.lwpWait(target);
  });
  assertIdle(m0.run());
  assert.equal(pendingAtCont, true, 'the continue did not land while the suspension was pending');
  assert.ok(!seen.includes('SUSPENDED'), `target went through ${seen.join(' ')}`);
});

test('suspending an already suspended LWP waits for the next p_lwpcv broadcast (the loop waits before it checks)', () => {
  const { r, out } = runMain(function* (sys, o: { second?: number; exitAt?: number }) {
    const t = yield* sys.lwpCreate(spinner, { ticks: 0 });
    yield* sys.lwpSuspend(t);
    yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(300); o.exitAt = running().now; });
    yield* sys.lwpSuspend(t); // nothing changes: only the helper's exit (a broadcast) ends the wait
    o.second = running().now;
    yield* sys.lwpContinue(t);
    yield* sys.lwpWait(t);
    yield* sys.lwpWait(0);
  }, {}, { ncpu: 2 });
  assertIdle(r);
  assert.ok(out.second! >= out.exitAt!, `second suspend returned at ${out.second}, helper exited at ${out.exitAt}`);
});

test('the suspend call returns only once the target is really suspended, or ESRCH if it exited first (many schedules)', () => {
  let sawEsrch = 0;
  let sawOk = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const m1 = new Machine({ ncpu: 2, seed });
    let res = '';
    let at = '';
    m1.spawn(function* (sys: Sys) {
      const t = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(3); yield* s.lwpExit(); });
      yield* sys.compute(2); // lands the suspend right around the target's exit
      res = yield* errnoOf(sys.lwpSuspend(t));
      at = stat(sys, t);
      if (res === '') yield* sys.lwpContinue(t);
      yield* sys.lwpWait(t);
    });
    assertIdle(m1.run());
    if (res === 'ESRCH') { sawEsrch++; assert.ok(at === 'ZOMB' || at === 'gone'); }
    else { sawOk++; assert.equal(res, ''); assert.equal(at, 'SUSPENDED', `seed ${seed}`); }
  }
  // Both outcomes must occur, or the race this test names was never run.
  assert.ok(sawOk > 0, 'some schedule must suspend the target');
  assert.ok(sawEsrch > 0, 'some schedule must see the target exit before the suspension');
});
