/* The engine on its own: timeline order, the chooser, traps out of user time, halting and kicking. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine/engine.ts';
import { SeededChooser } from '../src/engine/chooser.ts';
import { MinHeap } from '../src/engine/heap.ts';
import { HALT, burn, call, choice, compute, runDetached, type Gen } from '../src/engine/coroutine.ts';

test('the timeline pops by time, then by insertion order', () => {
  const h = new MinHeap<{ time: number; seq: number; v: string }>();
  const items = [[5, 'e'], [1, 'a'], [5, 'f'], [3, 'c'], [1, 'b'], [4, 'd']] as const;
  items.forEach(([time, v], seq) => h.push({ time, seq, v }));
  const out: string[] = [];
  while (h.size) out.push(h.pop()!.v);
  assert.equal(out.join(''), 'abcdef');
});

test('the seeded chooser is deterministic and in range', () => {
  const a = new SeededChooser(42), b = new SeededChooser(42), c = new SeededChooser(43);
  const xs = Array.from({ length: 100 }, () => a.choose(7));
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b.choose(7)));
  assert.ok(xs.every((x) => x >= 0 && x < 7));
  assert.notDeepEqual(xs, Array.from({ length: 100 }, () => c.choose(7)));
});

test('two CPUs burn time in parallel; a choice point with no rival costs no chooser call', () => {
  let asked = 0;
  const e = new Engine({ choose: (n) => { asked++; return n - 1; } }, 100);
  const log: string[] = [];
  function* cpu(name: string, n: number): Gen<never> {
    yield burn(n);
    for (let i = 0; i < 3; i++) yield choice('x');
    log.push(`${name}@${e.now}`);
    for (;;) yield HALT;
  }
  e.hooks = { onQuantum: () => null, onAst: () => { throw new Error('no ast'); } };
  e.addCpu(e.newThread('a', cpu('a', 10)));
  e.addCpu(e.newThread('b', cpu('b', 30)));
  assert.equal(e.run(1000, 1000), 'quiescent');
  assert.deepEqual(log, ['a@10', 'b@30']);
  assert.equal(asked, 1, 'only the first step, when both CPUs were ready, needed the chooser');
});

test('user time is cut into quanta and the quantum hook can trap into a handler', () => {
  const e = new Engine(new SeededChooser(1), 10);
  let traps = 0;
  function* handler(): Gen<void> { traps++; yield burn(1); }
  e.hooks = { onQuantum: () => handler(), onAst: () => handler() };
  let endedAt = -1;
  function* prog(): Gen<never> {
    yield compute(35);
    endedAt = e.now;
    for (;;) yield HALT;
  }
  e.addCpu(e.newThread('p', prog()));
  e.run(1000, 1000);
  assert.equal(traps, 3);
  assert.equal(endedAt, 38, '35 ticks of user time plus three 1-tick traps');
});

test('an AST cuts a user burst short at once', () => {
  const e = new Engine(new SeededChooser(1), 1000);
  let trappedAt = -1;
  e.hooks = { onQuantum: () => null, onAst: function* () { trappedAt = e.now; } };
  function* prog(): Gen<never> { yield compute(500); for (;;) yield HALT; }
  const cpu = e.addCpu(e.newThread('p', prog()));
  e.timeout(42, () => e.interrupt(cpu));
  e.run(10_000, 1000);
  assert.equal(trappedAt, 42);
  assert.equal(cpu.thread.ticks, 500);
});

test('exceptions travel down the frame stack through call()', () => {
  function* inner(): Gen<number> { yield choice('x'); throw new Error('deep'); }
  function* outer(): Gen<string> {
    try { yield* call(inner()); return 'no'; } catch (err) { return (err as Error).message; }
  }
  assert.equal(runDetached(outer()), 'deep');
  assert.throws(() => runDetached((function* (): Gen<void> { yield burn(5); })()), /tried to wait/);
});
