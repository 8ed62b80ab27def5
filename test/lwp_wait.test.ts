/* _lwp_wait / lwp_wait1: every errno path and the collection rules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LWP_DETACHED, type Sys } from '../src/index.ts';
import { assertIdle, errnoOf, runMain } from './helpers.ts';

function* child(sys: Sys, n: number) {
  yield* sys.compute(n);
}

test('lwpWait collects a specific LWP and returns its lid; a second wait is ESRCH', () => {
  const { r, out } = runMain(function* (sys, o: { dep?: number; again?: string }) {
    const lid = yield* sys.lwpCreate(child, 20);
    o.dep = yield* sys.lwpWait(lid);
    o.again = yield* errnoOf(sys.lwpWait(lid));
  }, {});
  assertIdle(r);
  assert.equal(out.dep, 2);
  assert.equal(out.again, 'ESRCH');
});

test('lwpWait(0) by the only LWP is ESRCH (nothing to collect)', () => {
  const { r, out } = runMain(function* (sys, o: { e?: string }) {
    o.e = yield* errnoOf(sys.lwpWait(0));
  }, {});
  assertIdle(r);
  assert.equal(out.e, 'ESRCH');
});

test('lwpWait(self) is EDEADLK', () => {
  const { r, out } = runMain(function* (sys, o: { e?: string }) {
    o.e = yield* errnoOf(sys.lwpWait(yield* sys.lwpSelf()));
  }, {});
  assertIdle(r);
  assert.equal(out.e, 'EDEADLK');
});

test('a mutual wait is EDEADLK for the second waiter; the first then collects it', () => {
  const { r, out } = runMain(function* (sys, o: { a?: string; dep?: number }) {
    // LWP 2 waits for LWP 1 (main); main then waits for 2: the target waits on us.
    yield* sys.lwpCreate(function* (s: Sys) {
      o.dep = yield* s.lwpWait(1);
    });
    yield* sys.compute(50); // let LWP 2 get into lwp_wait1 first
    o.a = yield* errnoOf(sys.lwpWait(2));
  }, {}, { ncpu: 2 });
  assertIdle(r);
  assert.equal(out.a, 'EDEADLK');
  // Main returns and exits; LWP 2's wait for lid 1 then collects main.
  assert.equal(out.dep, 1);
});

test('waiting for a detached LWP is ESRCH', () => {
  const { r, out } = runMain(function* (sys, o: { e?: string }) {
    const lid = yield* sys.lwpCreate(child, 30, { flags: LWP_DETACHED });
    o.e = yield* errnoOf(sys.lwpWait(lid));
  }, {});
  assertIdle(r);
  assert.equal(out.e, 'ESRCH');
});

test('waiting for an unknown lid is ESRCH; a non-integer lid is EINVAL', () => {
  const { r, out } = runMain(function* (sys, o: { a?: string; b?: string }) {
    o.a = yield* errnoOf(sys.lwpWait(99));
    o.b = yield* errnoOf(sys.lwpWait(1.5));
  }, {});
  assertIdle(r);
  assert.equal(out.a, 'ESRCH');
  assert.equal(out.b, 'EINVAL');
});

test('lwpWait(0) collects every undetached LWP, then ESRCH', () => {
  const { r, out } = runMain(function* (sys, o: { got: number[]; end?: string }) {
    for (let i = 1; i <= 4; i++) yield* sys.lwpCreate(child, 10 * i);
    for (let i = 0; i < 4; i++) o.got.push(yield* sys.lwpWait(0));
    o.end = yield* errnoOf(sys.lwpWait(0));
  }, { got: [] as number[] }, { ncpu: 4 });
  assertIdle(r);
  assert.deepEqual([...out.got].sort(), [2, 3, 4, 5]);
  assert.equal(out.end, 'ESRCH');
});

test('"everyone is waiting": the second of two wait-for-any callers gets EDEADLK by the counter rule', () => {
  const { r, out } = runMain(function* (sys, o: { a?: string; dep?: number }) {
    yield* sys.lwpCreate(function* (s: Sys) {
      o.dep = yield* s.lwpWait(0);
    });
    yield* sys.compute(50);
    // LWP 2 waits for any; now main does: nrlwps 2 + nzlwps 0 - ndlwps 0 <= nlwpwait 2.
    o.a = yield* errnoOf(sys.lwpWait(0));
  }, {}, { ncpu: 2 });
  assertIdle(r);
  assert.equal(out.a, 'EDEADLK');
  // Main then exits, and LWP 2 collects it.
  assert.equal(out.dep, 1);
});

test('a detached LWP does not count as a potential zombie: waiting with only detached siblings is EDEADLK-free ESRCH', () => {
  const { r, out } = runMain(function* (sys, o: { e?: string }) {
    yield* sys.lwpCreate(child, 500, { flags: LWP_DETACHED });
    o.e = yield* errnoOf(sys.lwpWait(0));
  }, {});
  assertIdle(r);
  assert.equal(out.e, 'ESRCH');
});
