/* dfs's sleep-set partial-order reduction (src/explore/dfs.ts): fewer schedules, the same failures found. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Sys } from '../src/index.ts';
import { Engine } from '../src/engine/engine.ts';
import { HALT, choice, type Gen } from '../src/engine/coroutine.ts';
import { SeededChooser } from '../src/engine/chooser.ts';
import { explore } from '../src/explore/explore.ts';
import { DfsStrategy } from '../src/explore/dfs.ts';
import { ExploreChooser } from '../src/explore/run.ts';

/** Three CPUs, each passing two choice points labelled with `labels(i)`; `after` runs after each. */
function engineOf(chooser: ExploreChooser, labels: (i: number) => string[], after: (i: number) => void): Engine {
  const e = new Engine(chooser, 100);
  e.hooks = { onQuantum: () => null, onAst: () => { throw new Error('no ast'); } };
  for (let i = 0; i < 3; i++) {
    const ls = labels(i);
    const body = function* (): Gen<never> {
      for (const l of ls) { yield choice(l); after(i); }
      for (;;) yield HALT;
    };
    e.addCpu(e.newThread(`t${i}`, body()));
  }
  return e;
}

/** Run dfs to exhaustion (or a failure); the schedules run and whether `fails` saw a failing one. */
function search(dfs: DfsStrategy, labels: (i: number) => string[], fails: (order: number[]) => boolean): { runs: number; failed: boolean } {
  let runs = 0;
  for (let run = 0; !dfs.exhausted(); run++) {
    assert.ok(run < 100_000, 'dfs does not terminate');
    const order: number[] = [];
    const ch = new ExploreChooser();
    const e = engineOf(ch, labels, (i) => order.push(i));
    ch.policy = dfs.begin({ engine: e, rng: new SeededChooser(1), run });
    assert.equal(e.run(10_000, 10_000), 'quiescent');
    runs++;
    if (fails(order)) return { runs, failed: true };
    dfs.end(ch.log);
  }
  return { runs, failed: false };
}

test('dfs with sleep sets runs fewer schedules than the full search when the CPUs take different locks, and still exhausts the bound', () => {
  const distinct = (i: number) => [`lock${i}a`, `lock${i}b`];
  for (const bound of [2, 3]) {
    const full = search(new DfsStrategy(bound, { por: false }), distinct, () => false);
    const dfs = new DfsStrategy(bound);
    const por = search(dfs, distinct, () => false);
    assert.ok(dfs.exhausted() && dfs.guarantee() === `every schedule within bound ${bound} explored`);
    assert.ok(por.runs < full.runs, `bound ${bound}: por ${por.runs} vs full ${full.runs}`);
    if (process.env.DFS_FIGURES) console.log(`bound ${bound}: por ${por.runs} vs full ${full.runs}`);
  }
  // The same program on one shared lock: every step is dependent, nothing is cut.
  const shared = () => ['L', 'L'];
  assert.equal(search(new DfsStrategy(2), shared, () => false).runs, search(new DfsStrategy(2, { por: false }), shared, () => false).runs);
});

test('dfs with sleep sets still finds an ordering bug on a shared lock', () => {
  // CPU 2 must not pass its first L step before CPU 0 has passed both of its own.
  const labels = () => ['L', 'L'];
  const fails = (order: number[]) => order.indexOf(2) < order.lastIndexOf(0);
  const full = search(new DfsStrategy(2, { por: false }), labels, fails);
  const por = search(new DfsStrategy(2), labels, fails);
  assert.ok(full.failed && por.failed, 'the bug is found with and without reduction');
});

test('explore(dfs) with and without reduction: both exhaust a kernel scenario; both find a user-level ordering bug', () => {
  const ordering = () => {
    const order: string[] = [];
    return {
      ncpu: 2,
      main: function* (sys: Sys) {
        const a = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(2); order.push('a'); });
        const b = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(2); order.push('b'); });
        yield* sys.lwpWait(a);
        yield* sys.lwpWait(b);
      },
      check: () => (order[0] === 'b' ? 'b ran before a' : null),
    };
  };
  for (const por of [true, false]) {
    const r = explore(ordering, { strategy: 'dfs', bound: 2, runs: 20_000, por, shrink: false });
    assert.ok(r.found !== null, `por ${por}: missed`);
    assert.match(r.found.message, /b ran before a/);
  }
  const clean = () => ({ ...ordering(), check: () => null });
  const full = explore(clean, { strategy: 'dfs', bound: 1, runs: 20_000, por: false });
  const red = explore(clean, { strategy: 'dfs', bound: 1, runs: 20_000 });
  assert.ok(full.exhausted !== undefined && red.exhausted !== undefined);
  assert.ok(red.runs <= full.runs);
});
