/*
 * explore with workers: the runs spread over N worker_threads, each
 * importing the scenario from its module.  Run r goes to worker r mod N;
 * the report is assembled in run order up to the first failing run, so it
 * is the report of workers: 1 (same found, runs, decisions, perStrategy),
 * elapsed time aside.  Sequential strategies (dfs) run in this thread.
 */
import { nodeModule } from './node.ts';
import { calibrate, explore, finish, makeStrategy, tally, type ExploreOptions, type ExploreReport, type RunRecord, type StrategyName, type StrategyStats } from './explore.ts';
import { scenarioOf, type ScenarioFn } from './run.ts';
import { OrderGraph } from './lockorder.ts';

export interface ParallelOptions extends Omit<ExploreOptions, 'strategy' | 'module'> {
  strategy?: StrategyName;
  ncpu?: number;
}

async function scenarioFrom(module: string, ncpu?: number): Promise<ScenarioFn> {
  const { pathToFileURL } = nodeModule('node:url');
  const mod = await import(pathToFileURL(module).href) as Record<string, unknown>;
    const base = scenarioOf(mod);
  if (base === null) throw new Error(`${module}: exports neither a scenario nor a program`);
  return ncpu === undefined ? base : () => ({ ...base(), ncpu });
}

export async function exploreParallel(module: string, opts: ParallelOptions = {}): Promise<ExploreReport> {
  const t0 = performance.now();
  const scenario = await scenarioFrom(module, opts.ncpu);
  const name = opts.strategy ?? 'portfolio';
  const seed = opts.seed ?? 1;
  const runs = opts.runs ?? 1000;
  const n = Math.max(1, opts.workers ?? 1);
  const strategy = makeStrategy(name, seed, opts.depth, opts.bound);
  if (n === 1 || strategy.sequential === true) return explore(scenario, { ...opts, strategy: name, workers: 1 });

  const { Worker } = nodeModule('node:worker_threads');
  const records: RunRecord[] = [];
  const next: number[] = Array.from({ length: n }, (_, i) => i);
  let firstFail = Infinity;
  let seenDecisions = 0;
  await new Promise<void>((resolveAll, reject) => {
    let live = n;
    const workers: InstanceType<typeof Worker>[] = [];
    const boot = new URL('./worker-boot.mjs', import.meta.url);
    for (let i = 0; i < n; i++) {
      const w = new Worker(boot, { workerData: { module, strategy: name, seed, depth: opts.depth, bound: opts.bound, ncpu: opts.ncpu, runs, index: i, stride: n } });
      workers.push(w);
      w.on('message', (m: { batch: RunRecord[]; next: number; done: boolean }) => {
        for (const rec of m.batch) {
          records.push(rec);
          seenDecisions += rec.decisions;
          if (rec.failure !== null && rec.run < firstFail) {
            firstFail = rec.run;
            for (const o of workers) o.postMessage({ stopAt: firstFail });
          }
        }
        next[i] = m.next;
        const timeUp = opts.timeLimitMs !== undefined && performance.now() - t0 > opts.timeLimitMs;
        if (timeUp) for (const o of workers) o.postMessage({ stopAt: 0 });
        if (m.done) {
          void w.terminate();
          if (--live === 0) resolveAll();
        }
        opts.onProgress?.({ runs: records.length, decisions: seenDecisions, elapsedMs: performance.now() - t0 });
      });
      w.on('error', (e) => { for (const o of workers) void o.terminate(); reject(e); });
    }
  });
  // Assemble in run order, up to the first failure, or up to the first run some worker did not reach.
  records.sort((a, b) => a.run - b.run);
  const perStrategy: Record<string, StrategyStats> = {};
  const graph = new OrderGraph();
  let decisions = 0;
  let count = 0;
  let failed: RunRecord | null = null;
  for (const rec of records) {
    if (rec.run !== count) break;
    tally(perStrategy, rec);
    graph.add(rec.edges);
    decisions += rec.decisions;
    count++;
    if (rec.failure !== null) { failed = rec; break; }
  }
  calibrate(scenario, strategy); // for the guarantees it reports
  return finish(scenario, strategy, failed, count, decisions, perStrategy, t0, opts.shrink ?? true, graph);
}
