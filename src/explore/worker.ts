/*
 * An exploration worker thread: imports the scenario's module, builds the
 * same strategy as the coordinator, and runs indices w, w+N, w+2N, ...,
 * posting each batch's records.  It stops when told, or past `runs`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { calibrate, exploreRun, makeStrategy, type RunRecord, type StrategyName } from './explore.ts';
import { scenarioOf, type ScenarioFn } from './run.ts';
import { LockOrderWatcher } from './lockorder.ts';

interface Data { module: string; strategy: StrategyName; seed: number; depth?: number; bound?: number; ncpu?: number; runs: number; index: number; stride: number }
const d = workerData as Data;
const mod = await import(pathToFileURL(d.module).href) as Record<string, unknown>;
const base = scenarioOf(mod) as ScenarioFn;
const scenario: ScenarioFn = d.ncpu === undefined ? base : () => ({ ...base(), ncpu: d.ncpu });
const strategy = makeStrategy(d.strategy, d.seed, d.depth, d.bound);
calibrate(scenario, strategy);
const watcher = new LockOrderWatcher(false);
let stopAt = Infinity;
parentPort!.on('message', (m: { stopAt: number }) => { stopAt = m.stopAt; });

const BATCH = 64;
let r = d.index;
const step = (): void => {
  const batch: RunRecord[] = [];
  for (let i = 0; i < BATCH && r < d.runs && r < stopAt; i++, r += d.stride) batch.push(exploreRun(scenario, strategy, d.seed, r, watcher));
  const done = !(r < d.runs && r < stopAt);
  parentPort!.postMessage({ batch, next: r, done });
  // Yield to the event loop between batches, so a stop message gets in.
  if (!done) setImmediate(step);
};
step();
