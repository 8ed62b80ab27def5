/*
 * The exploring lock-order watcher runs without capturing stacks and
 * replays only the runs that made a new edge or failed (exploreRun's
 * withPaths).  These tests hold it against a watcher that captures every
 * acquisition: the same edges, with the same paths, from a handful of
 * replays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrate, exploreRun, makeStrategy } from '../src/explore/explore.ts';
import { LockOrderWatcher, OrderGraph } from '../src/explore/lockorder.ts';
import type { ScenarioFn } from '../src/explore/run.ts';
import type { Sys } from '../src/index.ts';
import { BUGS } from '../bugs/planted.ts';

function* worker(sys: Sys, n: number) {
  yield* sys.compute(2 + n);
  yield* sys.schedYield();
  try {
    yield* sys.lwpPark();
  } catch {
    // EALREADY: the unpark came first.
  }
}
/** Creates, exits, waits, parks and unparks on 2 CPUs: many lock classes, many orders. */
const kernelScenario: ScenarioFn = () => ({
  ncpu: 2,
  main: function* (sys: Sys) {
    const lids: number[] = [];
    for (let i = 0; i < 3; i++) lids.push(yield* sys.lwpCreate(worker, i));
    for (const lid of lids) yield* sys.lwpUnpark(lid, 0);
    for (const lid of lids) yield* sys.lwpWait(lid);
  },
});

function graphOf(scenario: ScenarioFn, watcher: LockOrderWatcher, runs: number): { graph: OrderGraph; failures: (string | null)[] } {
  const strategy = makeStrategy('portfolio', 7);
  calibrate(scenario, strategy);
  const graph = new OrderGraph();
  const failures: (string | null)[] = [];
  for (let r = 0; r < runs; r++) {
    const rec = exploreRun(scenario, strategy, 7, r, watcher);
    graph.add(rec.edges);
    failures.push(rec.failure);
  }
  return { graph, failures };
}

const scenarios: [string, ScenarioFn][] = [['kernel', kernelScenario], ...BUGS.slice(0, 3).map((b): [string, ScenarioFn] => [b.id, b.scenario])];
for (const [name, scenario] of scenarios) {
  test(`lock order, ${name}: the replaying watcher finds the edges and paths of the capturing one`, () => {
    const runs = 150;
    const eager = graphOf(scenario, new LockOrderWatcher(true), runs);
    const lazyWatcher = new LockOrderWatcher(false);
    const lazy = graphOf(scenario, lazyWatcher, runs);
    assert.ok(eager.graph.edges.size >= 2, `the scenario makes lock-order edges (${eager.graph.edges.size})`);
    assert.deepEqual([...lazy.graph.edges.entries()].sort(), [...eager.graph.edges.entries()].sort());
    assert.deepEqual(lazy.failures, eager.failures);
    for (const e of lazy.graph.edges.values()) assert.notEqual(e.takenAt, '?', `${e.from} -> ${e.to} has its path`);
    // Only the runs that made a new edge were replayed.
    assert.ok(lazyWatcher.replays >= 1 && lazyWatcher.replays <= lazy.graph.edges.size, `${lazyWatcher.replays} replays for ${lazy.graph.edges.size} edges`);
  });
}

test('a capture-off watcher marks a run fresh only for an edge no earlier run made', () => {
  const w = new LockOrderWatcher(false);
  graphOf(kernelScenario, w, 20);
  const before = w.replays;
  // The same runs again: every edge is known now, so nothing is replayed.
  graphOf(kernelScenario, w, 20);
  assert.ok(before >= 1);
  assert.equal(w.replays, before);
});
