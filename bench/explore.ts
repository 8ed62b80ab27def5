/*
 * Explore throughput for `npm run bench` (issue 11): fresh-machine
 * executions per second, and decisions per second, of the 2-CPU scenario
 * in bench/explore-scenario.ts under the random strategy, with 1 worker
 * and with 2 worker threads.  Every run is checked (no failure may occur).
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { explore } from '../src/explore/explore.ts';
import { exploreParallel } from '../src/explore/workers.ts';
import { scenario } from './explore-scenario.ts';

const MODULE = resolve(import.meta.dirname, 'explore-scenario.ts');

export interface ExploreRate { workers: number; runs: number; execsPerSec: number; decisionsPerSec: number; decisionsPerRun: number }

export async function benchExplore(runs = 3000): Promise<ExploreRate[]> {
  explore(scenario, { strategy: 'random', runs: 1000, seed: 99 }); // warm-up
  const out: ExploreRate[] = [];
  for (const workers of [1, 2]) {
    const r = workers === 1
      ? explore(scenario, { strategy: 'random', runs, seed: 1 })
      : await exploreParallel(MODULE, { strategy: 'random', runs, seed: 1, workers });
    assert.equal(r.found, null, `the bench scenario failed: ${r.found?.message}`);
    assert.equal(r.runs, runs);
    const s = r.elapsedMs / 1000;
    out.push({ workers, runs, execsPerSec: Math.round(runs / s), decisionsPerSec: Math.round(r.decisions / s), decisionsPerRun: Math.round(r.decisions / runs) });
  }
  console.log('explore (2 cpus, main + 3 workers, random strategy, checked)   executions/s   decisions/s   decisions/run');
  for (const e of out) console.log(`  ${e.workers} worker${e.workers === 1 ? ' ' : 's'}${' '.repeat(52)}${String(e.execsPerSec).padStart(12)}  ${String(e.decisionsPerSec).padStart(12)}  ${String(e.decisionsPerRun).padStart(14)}`);
  console.log('');
  return out;
}
