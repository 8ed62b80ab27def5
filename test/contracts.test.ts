/* Contracts that kernel functions state in their comments are asserted: breaking one is a panic. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, type Sys } from '../src/index.ts';
import { schedTakecpu } from '../src/kern/synch.ts';
import { sleepqWake } from '../src/kern/sleepq.ts';
import { lwpLock, lwpUnlock } from '../src/kern/mutex.ts';
import { lwpOf } from './inspect.ts';

test('sched_takecpu on an LWP that is not locked is a panic; with it locked it answers', () => {
  const m = new Machine({ ncpu: 2, seed: 1 });
  const o: { cpu?: number } = {};
  m.spawn(function* (sys: Sys) {
    const l = lwpOf(sys);
    yield* lwpLock(l);
    o.cpu = schedTakecpu(l).index;
    lwpUnlock(l);
    schedTakecpu(l);
  });
  const r = m.run({ maxTicks: 1000 });
  assert.ok(o.cpu !== undefined && o.cpu >= 0 && o.cpu < 2, 'the locked call answered a CPU');
  assert.equal(r.outcome, 'panic');
  assert.match(r.panic!.message, /sched_takecpu: lwp 1\.1 not locked/);
});

test('sleepq_wake without the queue lock is a panic', () => {
  const m = new Machine({ ncpu: 1, seed: 1 });
  m.spawn(function* (sys: Sys) {
    const k = lwpOf(sys).k;
    yield* sleepqWake(k.sleeptab.queues[0]!, {}, 1);
  });
  const r = m.run({ maxTicks: 1000 });
  assert.equal(r.outcome, 'panic');
  assert.match(r.panic!.message, /sleepq_wake: sleepq0 not held/);
});
