/* Determinism: same program + options + seed = the same run, event for event; replays reproduce runs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, ReplayChooser, type KEvent, type Sys } from '../src/index.ts';

function* worker(sys: Sys, n: number) {
  for (let i = 0; i < 3; i++) {
    yield* sys.compute(7 + n);
    yield* sys.schedYield();
  }
}
function* main(sys: Sys) {
  for (let i = 0; i < 6; i++) yield* sys.lwpCreate(worker, i);
  for (let i = 0; i < 6; i++) yield* sys.lwpWait(0);
}

function record(opts: ConstructorParameters<typeof Machine>[0]): { events: KEvent[]; m: Machine } {
  const m = new Machine(opts);
  const events: KEvent[] = [];
  m.on((e) => events.push(e));
  m.spawn(main);
  assert.equal(m.run().outcome, 'idle');
  return { events, m };
}

test('same seed: identical event streams', () => {
  for (const seed of [1, 2, 99]) {
    const a = record({ ncpu: 4, seed });
    const b = record({ ncpu: 4, seed });
    assert.deepEqual(a.events, b.events);
  }
});

test('different seeds: different interleavings of a multi-CPU program', () => {
  const streams = new Set<string>();
  for (let seed = 1; seed <= 8; seed++) {
    streams.add(JSON.stringify(record({ ncpu: 4, seed }).events.map((e) => [e.cpu, e.lid, e.type])));
  }
  assert.ok(streams.size >= 4, `only ${streams.size} distinct interleavings from 8 seeds`);
});

test('a recorded run replays exactly through ReplayChooser', () => {
  const a = record({ ncpu: 4, seed: 7, record: true });
  const choices = a.m.choices;
  assert.ok(choices.length > 0);
  const b = record({ ncpu: 4, chooser: new ReplayChooser(choices) });
  assert.deepEqual(b.events, a.events);
});

test('a replay that diverges is an error, not a silent guess', () => {
  const c = new ReplayChooser([5]);
  assert.throws(() => c.choose(2), /replay diverged at choice 0: answer 5 for 2 options/);
  assert.throws(() => new ReplayChooser([]).choose(2), /replay exhausted/);
});

test('one CPU makes no choices at all', () => {
  const m = new Machine({ ncpu: 1, record: true });
  m.spawn(main);
  assert.equal(m.run().outcome, 'idle');
  assert.equal(m.choices.length, 0);
});
