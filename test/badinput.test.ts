/* Bad input gets the errno a BSD kernel returns, or kills only the faulting process; the kernel keeps going. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, SyscallError, type Sys } from '../src/index.ts';
import { assertIdle, errnoOf, runMain } from './helpers.ts';
import { untyped } from './inspect.ts';

function* nothing() {}

test('lwpCreate with something that is not a generator function is EINVAL, with the reason', () => {
  const { r, out } = runMain(function* (sys, o: { codes: string[]; msg?: string }) {
    for (const bad of [42, null, () => 1, async function* () {}, async () => 1]) {
      o.codes.push(yield* errnoOf(sys.lwpCreate(bad as never)));
    }
    try { yield* sys.lwpCreate((() => 1) as never); } catch (e) { o.msg = (e as SyscallError).message; }
  }, { codes: [] as string[] });
  assertIdle(r);
  assert.deepEqual(out.codes, ['EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL']);
  assert.match(out.msg!, /_lwp_create: EINVAL \(Invalid argument\): the start routine must be a generator function/);
});

test('unknown _lwp_create flag bits are ignored, as NetBSD 6 does; non-integer flags and names are EINVAL', () => {
  const { r, out } = runMain(function* (sys, o: { lid?: number; a?: string; b?: string; name?: string }) {
    o.lid = yield* sys.lwpCreate(nothing, undefined, { flags: 0x1000_0000 | 0x4 });
    yield* sys.lwpWait(o.lid);
    o.a = yield* errnoOf(sys.lwpCreate(nothing, undefined, { flags: -1 }));
    o.b = yield* errnoOf(sys.lwpCreate(nothing, undefined, { name: 7 as never }));
  }, {});
  assertIdle(r);
  assert.equal(out.lid, 2);
  assert.deepEqual([out.a, out.b], ['EINVAL', 'EINVAL']);
});

test('names longer than 15 characters are cut to 15', () => {
  const m = new Machine({ ncpu: 1 });
  let lid = 0;
  m.spawn(function* (sys: Sys) { lid = yield* sys.lwpCreate(function* (s: Sys) { yield* s.sleep(10); }, undefined, { name: 'abcdefghijklmnopqrstu' }); yield* sys.compute(1); });
  m.run({ maxTicks: 5 });
  assert.equal(m.ps().find((r) => r.pid === 1 && r.lid === lid)!.name, 'abcdefghijklmno');
});

test('negative, fractional or NaN ticks are EINVAL for compute and sleep', () => {
  const { r, out } = runMain(function* (sys, o: { codes: string[] }) {
    for (const n of [-1, 1.5, NaN, Infinity]) {
      o.codes.push(yield* errnoOf(sys.compute(n)));
      o.codes.push(yield* errnoOf(sys.sleep(n)));
    }
  }, { codes: [] as string[] });
  assertIdle(r);
  assert.ok(out.codes.every((c) => c === 'EINVAL'), out.codes.join());
});

test('bad lids: non-integers are EINVAL, unknown integers ESRCH, for every lid call', () => {
  const { r, out } = runMain(function* (sys, o: { codes: string[] }) {
    for (const lid of [2.5, untyped<number>('3'), -7, 1 << 30]) {
      o.codes.push(yield* errnoOf(sys.lwpSuspend(lid)));
      o.codes.push(yield* errnoOf(sys.lwpContinue(lid)));
      o.codes.push(yield* errnoOf(sys.lwpDetach(lid)));
      o.codes.push(yield* errnoOf(sys.lwpWait(lid)));
    }
  }, { codes: [] as string[] });
  assertIdle(r);
  assert.deepEqual(out.codes, [
    'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL',
    'ESRCH', 'ESRCH', 'ESRCH', 'ESRCH', 'ESRCH', 'ESRCH', 'ESRCH', 'ESRCH',
  ]);
});

test('spawn of a non-program is ENOEXEC; waitpid of a pid that is not a child is ECHILD, of pid 0 EINVAL', () => {
  const { r, out } = runMain(function* (sys, o: { codes: string[] }) {
    o.codes.push(yield* errnoOf(sys.spawn(42 as never)));
    o.codes.push(yield* errnoOf(sys.waitpid(1)));
    o.codes.push(yield* errnoOf(sys.waitpid(0)));
    o.codes.push(yield* errnoOf(sys.exit(1.5)));
  }, { codes: [] as string[] });
  assertIdle(r);
  assert.deepEqual(out.codes, ['ENOEXEC', 'ECHILD', 'EINVAL', 'EINVAL']);
});

test('yielding something that is not a system call throws a TypeError into the program', () => {
  const { r, out } = runMain(function* (sys, o: { msg?: string }) {
    try { yield 5; } catch (e) { o.msg = (e as Error).message; }
    try { yield null; } catch (e) { o.msg += ' / ' + (e as Error).message; }
    yield* sys.compute(1);
  }, {});
  assertIdle(r);
  assert.match(out.msg!, /yielded number 5, which is not a system call.*yielded null/);
});

test("using another LWP's sys object is EFAULT, not a kernel corruption", () => {
  const { r, out } = runMain(function* (sys, o: { e?: string }) {
    yield* sys.lwpCreate(function* (_s: Sys, parent: Sys) {
      o.e = yield* errnoOf(parent.lwpSelf());
    }, sys);
    yield* sys.lwpWait(0);
  }, {});
  assertIdle(r);
  assert.equal(out.e, 'EFAULT');
});

test('a start routine that is a plain generator-returning call still faults cleanly when it throws synchronously', () => {
  const m = new Machine({ ncpu: 2 });
  const pid = m.spawn(function* (sys: Sys) {
    yield* sys.lwpCreate(function* () { throw new RangeError('bad arg'); });
    yield* sys.lwpWait(0);
  });
  assertIdle(m.run());
  assert.match(m.proc(pid)!.fault!, /lwp 2 threw RangeError: bad arg/);
});

test('the host API rejects bad machine options and programs with a clear error', () => {
  assert.throws(() => new Machine({ ncpu: 0 }), /ncpu must be an integer from 1 to 256/);
  assert.throws(() => new Machine({ seed: 0.5 }), /seed must be an integer/);
  assert.throws(() => new Machine({ personality: 'linux' }), /unknown personality 'linux'/);
  assert.throws(() => new Machine({ quantum: 0 }), /quantum must be a positive integer/);
  const m = new Machine();
  assert.throws(() => m.spawn((() => 1) as never), /must be a generator function/);
  assert.throws(() => m.spawn(nothing, { uid: -1 }), /uid must be a non-negative integer/);
});
