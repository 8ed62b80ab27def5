/* Credentials (setuid, cached LWP credentials), RLIMIT_NTHR with per-uid counts, kern.maxlwp, kern.threads.max_per_proc. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, RLIMIT_NTHR, RLIM_INFINITY, SyscallError, type Sys } from '../src/index.ts';
import type { Gen } from '../src/engine/coroutine.ts';
import { LPR_CRMOD, LSZOMB } from '../src/kern/param.ts';
import { lwpcntOf, resourceState } from '../src/kern/resource.ts';
import { assertIdle, errnoOf } from './helpers.ts';
import { lwpOf, untyped } from './inspect.ts';

/** Park until unparked: a return of '' or EALREADY means an unpark came. */
function* parkOnce(s: Sys): Gen<void> {
  for (let c = ''; (c = yield* errnoOf(s.lwpPark())) !== '' && c !== 'EALREADY';);
}

/** Create n LWPs that park until unparked; returns their lids and the first errno code met ('' if none). */
function* makeParkers(sys: Sys, n: number): Gen<{ lids: number[]; code: string }> {
  const lids: number[] = [];
  for (let i = 0; i < n; i++) {
    try {
      lids.push(yield* sys.lwpCreate(function* (s: Sys) { yield* parkOnce(s); }));
    } catch (e) {
      if (e instanceof SyscallError) return { lids, code: e.code };
      throw e;
    }
  }
  return { lids, code: '' };
}

function* release(sys: Sys, lids: number[]): Gen<void> {
  for (const lid of lids) {
    yield* sys.lwpUnpark(lid);
    yield* sys.lwpWait(lid);
  }
}

test('setuid: root may become anyone; other LWPs keep their cached credentials until their next system call', () => {
  const m = new Machine({ ncpu: 2, seed: 1 });
  const o: { u0?: number; u1?: number; otherBefore?: number; crmod?: number; otherAfter?: number; codes: string[] } = { codes: [] };
  const pid = m.spawn(function* (sys: Sys) {
    o.u0 = yield* sys.getuid();
    let other = 0;
    const t = yield* sys.lwpCreate(function* (s: Sys) {
      yield* s.compute(200); // no system call meanwhile
      o.otherAfter = yield* s.getuid();
    });
    yield* sys.compute(20);
    yield* sys.setuid(1234);
    o.u1 = yield* sys.getuid();
    const tl = lwpOf(sys).proc.lidMap.get(t)!;
    o.otherBefore = tl.cred!.uid;
    o.crmod = tl.prflag & LPR_CRMOD;
    other = t;
    yield* sys.lwpWait(other);
    // Now an ordinary user: only its own uid.
    o.codes.push(yield* errnoOf(sys.setuid(0)));
    o.codes.push(yield* errnoOf(sys.setuid(1234)));
    for (const bad of [-1, 1.5, 0xffffffff, untyped<number>('7')]) o.codes.push(yield* errnoOf(sys.setuid(bad)));
  }, { uid: 0 });
  assertIdle(m.run());
  assert.deepEqual([o.u0, o.u1, o.otherBefore, o.otherAfter], [0, 1234, 0, 1234]);
  assert.equal(o.crmod, LPR_CRMOD);
  assert.deepEqual(o.codes, ['EPERM', '', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL']);
  assert.equal(m.proc(pid)!.uid, 1234);
});

test('RLIMIT_NTHR: defaults, and the errno paths of setrlimit/getrlimit', () => {
  const m = new Machine({ ncpu: 1 });
  const o: { def?: unknown; codes: string[]; after?: unknown; clamped?: unknown; child?: unknown; mine?: unknown } = { codes: [] };
  m.spawn(function* (sys: Sys) {
    o.def = yield* sys.getrlimit(RLIMIT_NTHR);
    for (const r of [-1, 12, 1.5]) o.codes.push(yield* errnoOf(sys.getrlimit(r)));
    for (const r of [-1, 12]) o.codes.push(yield* errnoOf(sys.setrlimit(r, { cur: 1, max: 1 })));
    o.codes.push(yield* errnoOf(sys.setrlimit(RLIMIT_NTHR, { cur: 10, max: 5 })));
    o.codes.push(yield* errnoOf(sys.setrlimit(RLIMIT_NTHR, { cur: -1, max: 5 })));
    o.codes.push(yield* errnoOf(sys.setrlimit(RLIMIT_NTHR, { cur: 1.5, max: 5 })));
    o.codes.push(yield* errnoOf(sys.setrlimit(RLIMIT_NTHR, null as never)));
    o.codes.push(yield* errnoOf(sys.setrlimit(RLIMIT_NTHR, { cur: 5, max: 100 })));   // lower the hard limit: anyone
    o.codes.push(yield* errnoOf(sys.setrlimit(RLIMIT_NTHR, { cur: 5, max: 101 })));   // raise it: EPERM
    o.codes.push(yield* errnoOf(sys.setrlimit(RLIMIT_NTHR, { cur: 100, max: 100 })));  // the soft one up to the hard: fine
    o.after = yield* sys.getrlimit(RLIMIT_NTHR);
    // The child inherits the limits; its changes do not reach the parent.
    const c = yield* sys.spawn(function* (s: Sys) {
      o.child = yield* s.getrlimit(RLIMIT_NTHR);
      yield* s.setrlimit(RLIMIT_NTHR, { cur: 2, max: 2 });
    });
    yield* sys.waitpid(c);
    o.mine = yield* sys.getrlimit(RLIMIT_NTHR);
  }, { uid: 1000 });
  m.spawn(function* (sys: Sys) {
    yield* sys.setrlimit(RLIMIT_NTHR, { cur: RLIM_INFINITY, max: RLIM_INFINITY }); // root: raised, then clamped to kern.maxlwp
    o.clamped = yield* sys.getrlimit(RLIMIT_NTHR);
  }, { uid: 0 });
  assertIdle(m.run());
  assert.deepEqual(o.def, { cur: 160, max: 2048 });
  assert.deepEqual(o.codes, ['EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', '', 'EPERM', '']);
  assert.deepEqual(o.after, { cur: 100, max: 100 });
  assert.deepEqual(o.child, { cur: 100, max: 100 });
  assert.deepEqual(o.mine, { cur: 100, max: 100 });
  assert.deepEqual(o.clamped, { cur: 2048, max: 2048 });
});

test('RLIMIT_NTHR: a normal user gets EAGAIN past the soft limit, root passes; the first LWP is exempt; the count drops only when an LWP is freed', () => {
  const m = new Machine({ ncpu: 2, seed: 3 });
  const k = m.kernel;
  const o: Record<string, unknown> = {};
  m.spawn(function* (sys: Sys) {
    yield* sys.setrlimit(RLIMIT_NTHR, { cur: 3, max: 3 });
    o.start = lwpcntOf(k, 1000);
    const a = yield* makeParkers(sys, 5);
    o.made = a.lids.length;
    o.code = a.code;
    o.count = lwpcntOf(k, 1000);
    // Let one exit: as a zombie it still counts.
    yield* sys.lwpUnpark(a.lids[0]!);
    while (lwpOf(sys).proc.lidMap.get(a.lids[0]!)!.stat !== LSZOMB) yield* sys.compute(5);
    o.zombie = yield* errnoOf(sys.lwpCreate(function* () {}));
    yield* sys.lwpWait(a.lids[0]!);
    o.freed = lwpcntOf(k, 1000);
    const b = yield* makeParkers(sys, 2);
    o.again = [b.lids.length, b.code];
    yield* release(sys, [...a.lids.slice(1), ...b.lids]);
    o.end = lwpcntOf(k, 1000);
  }, { uid: 1000 });
  m.spawn(function* (sys: Sys) {
    yield* sys.setrlimit(RLIMIT_NTHR, { cur: 3, max: 3 });
    const r = yield* makeParkers(sys, 6);
    o.root = [r.lids.length, r.code, lwpcntOf(k, 0)];
    yield* release(sys, r.lids);
    o.rootEnd = lwpcntOf(k, 0);
  }, { uid: 0 });
  assertIdle(m.run());
  assert.equal(o.start, 0, 'the first LWP of a process is not charged');
  assert.deepEqual([o.made, o.code, o.count], [3, 'EAGAIN', 3]);
  assert.equal(o.zombie, 'EAGAIN');
  assert.equal(o.freed, 2);
  assert.deepEqual(o.again, [1, 'EAGAIN']);
  assert.equal(o.end, 0);
  assert.deepEqual(o.root, [6, '', 6]);
  assert.equal(o.rootEnd, 0);
});

test('RLIMIT_NTHR counts per uid, across processes; a process\'s exit gives its LWPs\' charges back', () => {
  const m = new Machine({ ncpu: 2, seed: 2 });
  const k = m.kernel;
  const o: Record<string, unknown> = {};
  m.spawn(function* (sys: Sys) {
    yield* sys.setrlimit(RLIMIT_NTHR, { cur: 4, max: 4 });
    const c = yield* sys.spawn(function* (s: Sys) {
      const r = yield* makeParkers(s, 3);
      o.child = r.lids.length;
      yield* s.compute(300);
      yield* s.exit(0); // its parked LWPs are made to exit and are freed
    });
    yield* sys.compute(100);
    const r = yield* makeParkers(sys, 4);
    o.parent = [r.lids.length, r.code];
    yield* sys.waitpid(c);
    o.afterExit = lwpcntOf(k, 500);
    const r2 = yield* makeParkers(sys, 4);
    o.parent2 = [r2.lids.length, r2.code];
    yield* release(sys, [...r.lids, ...r2.lids]);
  }, { uid: 500 });
  assertIdle(m.run());
  assert.equal(o.child, 3);
  assert.deepEqual(o.parent, [1, 'EAGAIN'], 'the child\'s three count against the same uid');
  assert.equal(o.afterExit, 1);
  assert.deepEqual(o.parent2, [3, 'EAGAIN']);
  assert.equal(lwpcntOf(k, 500), 0);
});

test('kern.maxlwp: EINVAL below 0, at 65536 or more, or above what the machine supports; creation past it is EAGAIN, even for root', () => {
  const m = new Machine({ ncpu: 2 });
  assert.equal(m.sysctl('kern.maxlwp'), 2048);
  for (const v of [-1, 65536, 2049, 1.5]) {
    assert.throws(() => m.sysctl('kern.maxlwp', v), (e: unknown) => e instanceof SyscallError && e.code === 'EINVAL', String(v));
  }
  assert.equal(m.sysctl('kern.maxlwp'), 2048);
  // A machine that supports more: the 65536 bound still holds.
  resourceState(m.kernel).cpuMaxlwp = 100_000;
  assert.throws(() => m.sysctl('kern.maxlwp', 65536), /EINVAL/);
  assert.equal(m.sysctl('kern.maxlwp', 65535), 65535);
  assert.equal(m.sysctl('kern.maxlwp', 0), 0);
  assert.equal(m.sysctl('kern.maxlwp', 6), 6);
  assert.equal(m.sysctl('kern.maxlwp', 4), 4);
  const o: Record<string, unknown> = {};
  m.spawn(function* (sys: Sys) { yield* sys.compute(2000); }, { uid: 0 }); // another process's LWP counts too
  m.spawn(function* (sys: Sys) {
    const r = yield* makeParkers(sys, 10);
    o.root = [r.lids.length, r.code];
    yield* release(sys, r.lids);
    o.after = yield* errnoOf(sys.lwpWait(yield* sys.lwpCreate(function* () {})));
  }, { uid: 0 });
  assertIdle(m.run());
  assert.deepEqual(o.root, [2, 'EAGAIN'], 'two first LWPs and two more make kern.maxlwp = 4');
  assert.equal(o.after, '', 'freed LWPs no longer count');
});

test('kern.threads.max_per_proc (FreeBSD): off by default; when set, EPROCLIM at that many live LWPs; zombies do not count', () => {
  const m = new Machine({ ncpu: 2 });
  assert.equal(m.sysctl('kern.threads.max_per_proc'), 0);
  assert.throws(() => m.sysctl('kern.threads.max_per_proc', -1), /EINVAL/);
  const o: Record<string, unknown> = {};
  m.spawn(function* (sys: Sys) {
    const a = yield* makeParkers(sys, 20);
    o.off = [a.lids.length, a.code];
    yield* release(sys, a.lids);
    m.sysctl('kern.threads.max_per_proc', 4);
    const b = yield* makeParkers(sys, 5);
    o.on = [b.lids.length, b.code];
    yield* sys.lwpUnpark(b.lids[0]!);
    while (lwpOf(sys).proc.lidMap.get(b.lids[0]!)!.stat !== LSZOMB) yield* sys.compute(5);
    o.zombie = yield* errnoOf(sys.lwpCreate(function* () {}));
    yield* sys.lwpWait(0);
    yield* release(sys, b.lids.slice(1));
  }, { uid: 0 });
  assertIdle(m.run());
  assert.deepEqual(o.off, [20, '']);
  assert.deepEqual(o.on, [3, 'EPROCLIM']);
  assert.equal(o.zombie, '', 'a zombie is not a live thread');
});

test('setuid moves the process\'s LWP charges to the new uid; counts never go negative (1.172 would uncharge a stale uid)', () => {
  const m = new Machine({ ncpu: 2, seed: 7 });
  const k = m.kernel;
  const o: Record<string, unknown> = {};
  const pid = m.spawn(function* (sys: Sys) {
    const r = yield* makeParkers(sys, 3);
    o.before = [lwpcntOf(k, 0), lwpcntOf(k, 700)];
    yield* sys.setuid(700);
    o.after = [lwpcntOf(k, 0), lwpcntOf(k, 700)];
    // The parkers still cache uid 0 until they make a system call; freeing them uncharges uid 700.
    yield* release(sys, r.lids);
    o.end = [lwpcntOf(k, 0), lwpcntOf(k, 700)];
  }, { uid: 0 });
  assertIdle(m.run());
  assert.deepEqual(o.before, [3, 0]);
  assert.deepEqual(o.after, [0, 3]);
  assert.deepEqual(o.end, [0, 0]);
  assert.equal(m.proc(pid)!.uid, 700);
});

test('the maxlwp machine option (cpu_maxlwp): bounds kern.maxlwp and sets its boot value; out of 1..65535 is a RangeError', () => {
  for (const v of [0, 65536, 1.5, -1]) assert.throws(() => new Machine({ maxlwp: v }), RangeError, String(v));
  const small = new Machine({ ncpu: 1, maxlwp: 3 });
  assert.equal(small.sysctl('kern.maxlwp'), 3);
  assert.throws(() => small.sysctl('kern.maxlwp', 4), /EINVAL/, 'above cpu_maxlwp');
  const o: Record<string, unknown> = {};
  small.spawn(function* (sys: Sys) {
    const r = yield* makeParkers(sys, 5);
    o.small = [r.lids.length, r.code];
    yield* release(sys, r.lids);
  }, { uid: 0 });
  assertIdle(small.run());
  assert.deepEqual(o.small, [2, 'EAGAIN'], 'the first LWP and two more make maxlwp = 3');
  // Past the default 2048: 3000 live LWPs in one machine (root is exempt from RLIMIT_NTHR).
  const big = new Machine({ ncpu: 2, maxlwp: 3001, check: false });
  assert.equal(big.sysctl('kern.maxlwp'), 3001);
  big.spawn(function* (sys: Sys) {
    const r = yield* makeParkers(sys, 3001);
    o.big = [r.lids.length, r.code, big.kernel.alllwp.size - big.kernel.proc0.nlwps];
    yield* release(sys, r.lids);
  }, { uid: 0 });
  assertIdle(big.run({ maxTicks: 10_000_000, maxSteps: 100_000_000 }));
  assert.deepEqual(o.big, [3000, 'EAGAIN', 3001], '3000 parked beside the first LWP, then EAGAIN');
});
