/*
 * What a machine makes only when first used (issue 10: cheap fresh
 * machines): the sleep queues, the boot sysctl nodes, the event ring.  Each
 * must look, to everyone who asks, exactly as if it had been made at boot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, type Sys } from '../src/index.ts';
import { SLEEPTAB_HASH_SIZE } from '../src/kern/h/sleepq.ts';
import { EventRing, type KEvent } from '../src/kern/events.ts';
import { allLocks } from '../src/report/common.ts';

function* main(sys: Sys) {
  const lid = yield* sys.lwpCreate(function* (s: Sys) { yield* s.schedYield(); });
  assert.equal(yield* sys.lwpWait(lid), lid);
}

test('sleep queues are made when a wait channel first hashes to them, and listing makes them all, in order', () => {
  const m = new Machine({ ncpu: 2, seed: 3, check: false });
  assert.equal(m.kernel.sleeptab.made, 0, 'a booted machine has made no sleep queue');
  m.spawn(main, { name: 'lazy' });
  assert.equal(m.run().outcome, 'idle');
  const made = m.kernel.sleeptab.made;
  assert.ok(made >= 1 && made < SLEEPTAB_HASH_SIZE, `a short run made ${made} of ${SLEEPTAB_HASH_SIZE} queues`);
  const qs = m.kernel.sleeptab.queues;
  assert.equal(m.kernel.sleeptab.made, SLEEPTAB_HASH_SIZE);
  assert.deepEqual(qs.map((q) => q.lock.name), Array.from({ length: SLEEPTAB_HASH_SIZE }, (_, i) => `sleepq${i}`));
  assert.equal(m.kernel.sleeptab.queues, qs, 'the same queues every time');
});

test('the reports list every sleep queue lock, made or not', () => {
  const m = new Machine({ ncpu: 1, seed: 1, check: false });
  m.spawn(main, { name: 'lazy' });
  m.run();
  const names = [...allLocks(m).keys()].filter((n) => n.startsWith('sleepq'));
  assert.equal(names.length, SLEEPTAB_HASH_SIZE);
  assert.match(m.whatis('sleepq31'), /sleepq31/);
});

test('boot sysctl nodes are registered at the first use of the tree, before anything added later', () => {
  const m = new Machine({ ncpu: 2, check: false });
  assert.equal(m.kernel.sysctl.size, 0, 'nothing registered at boot');
  m.spawn(main, { name: 'lazy' });
  assert.equal(m.run().outcome, 'idle');
  assert.equal(m.kernel.sysctl.size, 0, 'a run that reads no sysctl registers none');
  assert.equal(m.sysctl('hw.ncpu'), 2);
  assert.ok(m.kernel.sysctl.size >= 8, 'the first read registered the boot nodes');
  assert.ok(m.sysctl('kern.nswtch') > 0, 'counters read the live kernel');

  const m2 = new Machine({ ncpu: 1, check: false });
  m2.kernel.sysctl.add({ name: 'test.knob', description: 'a test knob', get: () => 7 });
  assert.deepEqual(m2.sysctls().map((n) => n.name), m.sysctls().map((n) => n.name).concat('test.knob').sort());
  assert.throws(() => m2.kernel.sysctl.add({ name: 'kern.maxlwp', description: 'again', get: () => 0 }), /registered twice/);
  assert.equal(m2.sysctl('kern.maxlwp', 100), 100);
});

test('the event ring keeps the last events, and is empty before the first', () => {
  const r = new EventRing(3);
  assert.deepEqual(r.last(), []);
  const ev = (t: number): KEvent => ({ type: 'exit', t, cpu: 0, pid: 1, lid: 1 });
  for (let t = 1; t <= 5; t++) r.push(ev(t));
  assert.deepEqual(r.last().map((e) => e.t), [3, 4, 5]);
  assert.deepEqual(r.last(2).map((e) => e.t), [4, 5]);
});
