/* The invariant checker: it must catch a broken kernel, and report it as a panic with the recent events. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelPanic, Machine, type Sys } from '../src/index.ts';
import { LSZOMB } from '../src/kern/param.ts';
import { lwpOf, procOf } from './inspect.ts';
import { SWEEP_EVERY } from '../src/check/invariants.ts';

function* busy(sys: Sys) {
  yield* sys.lwpCreate(function* (s: Sys) { yield* s.sleep(100); });
  yield* sys.compute(500);
  yield* sys.lwpWait(0);
}

function started(): Machine {
  const m = new Machine({ ncpu: 2, seed: 1 });
  m.spawn(busy);
  assert.equal(m.run({ maxTicks: 50 }).outcome, 'limit');
  return m;
}

test('a clean run passes every check after every step', () => {
  const m = new Machine({ ncpu: 2, seed: 1 });
  m.spawn(busy);
  const r = m.run();
  assert.equal(r.outcome, 'idle');
  assert.ok(m.checker!.checks >= r.steps, `checked ${m.checker!.checks} times in ${r.steps} steps`);
});

test('a process counter that disagrees with the LWP list is a panic', () => {
  const m = started();
  m.kernel.procs.get(1)!.nrlwps++;
  const r = m.run();
  assert.equal(r.outcome, 'panic');
  assert.ok(r.panic instanceof KernelPanic);
  assert.match(r.panic!.message, /proc 1 counters disagree with its LWP list: nrlwps 3 != 2/);
  assert.ok(r.panic!.events.length > 0, 'the panic carries the last events');
});

test('an LWP covered by the wrong lock is a panic', () => {
  const m = started();
  const l = m.kernel.procs.get(1)!.lidMap.get(2)!; // asleep in nanosleep
  l.mutex = l.cpu.spcMutex;
  const r = m.run();
  assert.equal(r.outcome, 'panic');
  assert.match(r.panic!.message, /lwp 1\.2 in SLEEP is covered by cpu\d\.spc_mutex, expected sleepq\d+/);
});

test('a transition that is not an edge of the 1.172 diagram is a panic', () => {
  const m = started();
  const l = m.kernel.procs.get(1)!.lidMap.get(2)!;
  assert.throws(() => m.kernel.setStat(l, LSZOMB, 'test'), /illegal state transition SLEEP -> ZOMB of lwp 1\.2/);
});

test('an LWP that is LSONPROC but not its CPU\'s current LWP is a panic', () => {
  const m = started();
  const l = m.kernel.procs.get(1)!.lidMap.get(1)!;
  const other = m.kernel.cpus.find((c) => c !== l.cpu)!;
  l.cpu = other;
  const r = m.run();
  assert.equal(r.outcome, 'panic');
  assert.match(r.panic!.message, /LSONPROC but cpu\d runs|thinks it is on/);
});

test('releasing a mutex one does not own is a panic, and the machine stays dead', () => {
  const m = new Machine({ ncpu: 1 });
  m.spawn(function* (sys: Sys) {
    procOf(sys).lock.owner = {}; // someone else "holds" p.lock
    yield* sys.lwpWait(0);
  });
  const r = m.run({ maxTicks: 100 });
  assert.equal(r.outcome, 'panic');
  assert.match(r.panic!.message, /spin deadlock: cpu0 spinning on proc1\.p_lock/);
  assert.equal(m.run().outcome, 'panic');
  assert.throws(() => m.spawn(busy), /machine panicked/);
});

test('with check: false the checker is off (for speed) but kernel assertions still panic', () => {
  const m = new Machine({ ncpu: 2, seed: 1, check: false });
  m.spawn(busy);
  m.run({ maxTicks: 50 });
  m.kernel.procs.get(1)!.nrlwps += 5; // not checked
  assert.equal(m.run().outcome, 'idle');
  assert.equal(m.checker, null);
});

test('between full sweeps a change is still caught at the step where it happens, beside 300 parked LWPs', () => {
  for (const corrupt of ['counter', 'refcnt', 'lock'] as const) {
    const m = new Machine({ ncpu: 2, seed: 3 });
    const at = { step: -1 };
    m.spawn(function* (sys: Sys) {
      for (let i = 0; i < 299; i++) yield* sys.lwpCreate(function* (s: Sys) { yield* s.lwpPark(); });
      yield* sys.lwpPark();
    }, { name: 'parkers' });
    m.spawn(function* (sys: Sys) {
      for (let i = 0; i < 3 * SWEEP_EVERY; i++) yield* sys.schedYield(); // well past the first sweep
      const l = lwpOf(sys);
      at.step = l.k.engine.steps;
      if (corrupt === 'counter') procOf(sys).nzlwps++;
      else if (corrupt === 'refcnt') l.refcnt = -1;
      else l.mutex = l.cpu.spcMutex; // LSONPROC is covered by spc_lwplock
      yield* sys.compute(10);
      yield* sys.schedYield();
    }, { name: 'victim' });
    const r = m.run();
    assert.equal(r.outcome, 'panic', corrupt);
    assert.match(r.panic!.message, corrupt === 'counter' ? /nzlwps/ : corrupt === 'refcnt' ? /refcnt -1/ : /covered by cpu\d\.spc_mutex/, corrupt);
    assert.ok(at.step > SWEEP_EVERY, `${corrupt}: corrupted after the first sweeps (step ${at.step})`);
    assert.equal(r.steps, at.step, `${corrupt}: caught at the step of the change`);
    assert.ok(m.checker!.sweeps < m.checker!.checks / 100, `${corrupt}: most checks were incremental (${m.checker!.sweeps} sweeps of ${m.checker!.checks})`);
  }
});
