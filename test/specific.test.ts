/* LWP-specific data (the kernel API), LWP names (_lwp_setname/_lwp_getname), and the private pointer. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Machine, lwpGetspecific, lwpGetspecificByLwp, lwpSetspecific, lwpSpecificKeyCreate, lwpSpecificKeyDelete, type Sys,
} from '../src/index.ts';
import { KernelPanic } from '../src/kern/panic.ts';
import { lwpSetspecificByLwp } from '../src/kern/specific.ts';
import { assertIdle, errnoOf, runMain } from './helpers.ts';
import { lwpOf } from './inspect.ts';

test('specific keys: the lowest free one is taken; values are per LWP; unset reads undefined', () => {
  const m = new Machine({ ncpu: 2 });
  const k = m.kernel;
  const a = lwpSpecificKeyCreate(k);
  const b = lwpSpecificKeyCreate(k, () => {});
  const c = lwpSpecificKeyCreate(k);
  assert.deepEqual([a, b, c], [0, 1, 2]);
  lwpSpecificKeyDelete(k, b);
  assert.equal(lwpSpecificKeyCreate(k), 1, 'a deleted key is reused');
  lwpSpecificKeyDelete(k, 99); // unknown: ignored
  const o: { mine?: unknown; child?: unknown; unset?: unknown; byLwp?: unknown } = {};
  m.spawn(function* (sys: Sys) {
    lwpSetspecific(k, a, 'main');
    const t = yield* sys.lwpCreate(function* () {
      o.child = lwpGetspecific(k, a);
      lwpSetspecific(k, a, 'child');
    });
    yield* sys.compute(50);
    o.byLwp = lwpGetspecificByLwp(lwpOf(sys).proc.lidMap.get(t)!, a);
    o.mine = lwpGetspecific(k, a);
    o.unset = lwpGetspecific(k, c);
    yield* sys.lwpWait(t);
  });
  assertIdle(m.run());
  assert.deepEqual([o.mine, o.child, o.unset], ['main', undefined, undefined]);
  assert.equal(o.byLwp, undefined, 'a zombie\'s values were destroyed at its exit');
});

test('destructors run when an LWP exits, in that LWP, on its non-null values only; the last LWP\'s run in exit1', () => {
  const m = new Machine({ ncpu: 2 });
  const k = m.kernel;
  const ran: string[] = [];
  const key = lwpSpecificKeyCreate(k, (v) => { const l = k.curlwp()!; ran.push(`${l.lid}:${String(v)}`); });
  const other = lwpSpecificKeyCreate(k, (v) => ran.push(`other:${String(v)}`));
  const pid = m.spawn(function* (sys: Sys) {
    lwpSetspecific(k, key, 'm');
    const t = yield* sys.lwpCreate(function* () { lwpSetspecific(k, key, 't'); lwpSetspecific(k, other, null); });
    const u = yield* sys.lwpCreate(function* () { lwpSetspecific(k, key, 'u'); lwpSetspecific(k, key, undefined); });
    yield* sys.lwpWait(t);
    yield* sys.lwpWait(u);
    ran.push('waited');
    yield* sys.exit(0);
  });
  assertIdle(m.run());
  assert.deepEqual(ran, ['2:t', 'waited', '1:m']);
  assert.equal(m.proc(pid)!.exitStatus, 0);
});

test('deleting a key runs its destructor on every LWP\'s value still set (NetBSD 6\'s code); they are gone afterwards', () => {
  const m = new Machine({ ncpu: 2 });
  const k = m.kernel;
  const ran: string[] = [];
  const key = lwpSpecificKeyCreate(k, (v) => ran.push(String(v)));
  m.spawn(function* (sys: Sys) {
    lwpSetspecific(k, key, 'main');
    const t = yield* sys.lwpCreate(function* (s: Sys) { lwpSetspecific(k, key, 'child'); yield* s.compute(100); ran.push(`after:${String(lwpGetspecific(k, key))}`); });
    const u = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(100); });
    yield* sys.compute(20);
    lwpSpecificKeyDelete(k, key);
    ran.push('deleted');
    yield* sys.lwpWait(t);
    yield* sys.lwpWait(u);
  });
  assertIdle(m.run());
  assert.deepEqual([...ran].sort(), ['after:undefined', 'child', 'deleted', 'main'].sort());
  assert.ok(ran.indexOf('deleted') > ran.indexOf('main') && ran.indexOf('deleted') > ran.indexOf('child'));
  assert.equal(ran.length, 4, 'no destructor ran again at exit');
});

test('setting a value for a key never created (or deleted) is a kernel assertion failure', () => {
  const m = new Machine({ ncpu: 1 });
  const k = m.kernel;
  const l = k.cpus[0]!.idlelwp;
  assert.throws(() => lwpSetspecificByLwp(l, 5, 'x'), (e: unknown) => e instanceof KernelPanic && /key 5 was never created/.test(e.message));
  const key = lwpSpecificKeyCreate(k);
  lwpSetspecificByLwp(l, key, 'ok');
  lwpSpecificKeyDelete(k, key);
  assert.throws(() => lwpSetspecificByLwp(l, key, 'x'), KernelPanic);
});

test('lwpSetName/lwpGetName: 0 is self, the 16th character is dropped, "" when unset', () => {
  const { r, out } = runMain(function* (sys, o: { names: string[] }) {
    o.names.push(yield* sys.lwpGetName(0));
    yield* sys.lwpSetName(0, 'main');
    o.names.push(yield* sys.lwpGetName(yield* sys.lwpSelf()));
    const t = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(100); });
    yield* sys.lwpSetName(t, '0123456789abcdefXYZ');
    o.names.push(yield* sys.lwpGetName(t));
    yield* sys.lwpSetName(t, '');
    o.names.push(yield* sys.lwpGetName(t, 1));
    yield* sys.lwpWait(t);
  }, { names: [] as string[] });
  assertIdle(r);
  assert.deepEqual(out.names, ['', 'main', '0123456789abcde', '']);
});

test('lwpGetName: ENAMETOOLONG when the name and its NUL do not fit in len; checked after the lookup', () => {
  const { r, out } = runMain(function* (sys, o: { codes: string[] }) {
    yield* sys.lwpSetName(0, 'abc');
    for (const len of [4, 3, 0]) o.codes.push(yield* errnoOf(sys.lwpGetName(0, len)));
    o.codes.push(yield* errnoOf(sys.lwpGetName(999, 0)));
    yield* sys.lwpSetName(0, '');
    for (const len of [1, 0]) o.codes.push(yield* errnoOf(sys.lwpGetName(0, len)));
    for (const len of [-1, 1.5]) o.codes.push(yield* errnoOf(sys.lwpGetName(0, len)));
  }, { codes: [] as string[] });
  assertIdle(r);
  assert.deepEqual(out.codes, ['', 'ENAMETOOLONG', 'ENAMETOOLONG', 'ESRCH', '', 'ENAMETOOLONG', 'EINVAL', 'EINVAL']);
});

test('names: ESRCH for zombies and unknown LWPs, EINVAL for bad arguments; exited named LWPs read "(zombie)" in ps', () => {
  const { r, out } = runMain(function* (sys, o: { codes: string[] }) {
    const z = yield* sys.lwpCreate(function* (s: Sys) { yield* s.lwpSetName(0, 'worker'); });
    yield* sys.compute(100);
    o.codes.push(yield* errnoOf(sys.lwpSetName(z, 'x')));
    o.codes.push(yield* errnoOf(sys.lwpGetName(z)));
    o.codes.push(yield* errnoOf(sys.lwpSetName(77, 'x')));
    o.codes.push(yield* errnoOf(sys.lwpSetName(0, 7 as never)));
    o.codes.push(yield* errnoOf(sys.lwpSetName(0.5, 'x')));
    o.codes.push(yield* errnoOf(sys.lwpGetName(0.5)));
  }, { codes: [] as string[] }, { ncpu: 2 });
  assertIdle(r);
  assert.deepEqual(out.codes, ['ESRCH', 'ESRCH', 'ESRCH', 'EINVAL', 'EINVAL', 'EINVAL']);
  // ps of a live process with one named and one unnamed zombie:
  const m2 = new Machine({ ncpu: 2, seed: 1 });
  const p2 = m2.spawn(function* (sys: Sys) {
    yield* sys.lwpCreate(function* (s: Sys) { yield* s.lwpSetName(0, 'named'); });
    yield* sys.lwpCreate(function* () {});
    yield* sys.compute(1000);
  });
  m2.run({ maxTicks: 500 });
  const names = m2.ps().filter((row) => row.pid === p2 && row.stat === 'ZOMB').map((row) => row.name).sort();
  assert.deepEqual(names, ['', '(zombie)'], 'only LWPs that had a name say (zombie), as the code does');
});

test('the private pointer: null at first, per LWP, set by the creation option, not inherited', () => {
  const token = { tls: 1 };
  const { r, out } = runMain(function* (sys, o: { vals: unknown[] }) {
    o.vals.push(yield* sys.lwpGetPrivate());
    yield* sys.lwpSetPrivate(token);
    o.vals.push(yield* sys.lwpGetPrivate());
    const a = yield* sys.lwpCreate(function* (s: Sys) { o.vals.push(yield* s.lwpGetPrivate()); }, undefined, { private: 'given' });
    yield* sys.lwpWait(a);
    const b = yield* sys.lwpCreate(function* (s: Sys) { o.vals.push(yield* s.lwpGetPrivate()); yield* s.lwpSetPrivate(42); });
    yield* sys.lwpWait(b);
    o.vals.push(yield* sys.lwpGetPrivate());
  }, { vals: [] as unknown[] });
  assertIdle(r);
  assert.deepEqual(out.vals, [null, token, 'given', null, token]);
  assert.equal(out.vals[1], token);
});
