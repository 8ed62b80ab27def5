/*
 * The interface every exploration strategy implements.
 *
 * A strategy makes one RunPolicy per run: the object the engine asks each
 * decision of (through an ExploreChooser, which records the answers).  A
 * run's policy depends only on the strategy's parameters, the run index
 * and the run's seeded PRNG, never on earlier runs (except dfs, which is
 * sequential by nature), so runs can be spread over workers and still give
 * the same report.
 */
import type { DecisionKind, SeededChooser } from '../engine/chooser.ts';
import type { Engine } from '../engine/engine.ts';
import type { DecisionLog } from './schedule.ts';

export interface RunPolicy {
  /** An answer in [0, n) (n >= 2); `cpu` is the CPU the decision is about, -1 for 'cpu' decisions. */
  decide(kind: DecisionKind, n: number, cpu: number): number;
}

export interface RunEnv {
  engine: Engine;
  /** This run's PRNG, seeded from the exploration seed and the run index. */
  rng: SeededChooser;
  run: number;
}

export interface Strategy {
  /** Name with parameters, e.g. 'pct(d=2)'. */
  readonly name: string;
  /** Told the number of decisions of a run with every default answer (before the first run). */
  calibrate?(steps: number, threads: number): void;
  begin(env: RunEnv): RunPolicy;
  /** Sequential strategies (dfs) learn from each run's decisions. */
  end?(log: DecisionLog): void;
  /** dfs: true once every schedule within the bound has been run. */
  exhausted?(): boolean;
  /** Sequential strategies cannot be spread over workers. */
  readonly sequential?: boolean;
  /** A guarantee to report (pct's probability bound, dfs's bound), or null. */
  guarantee?(): string | null;
}

/** A run's PRNG: splitmix of the exploration seed and the run index. */
export function runSeed(seed: number, run: number): number {
  let z = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(run + 1, 0x85ebca6b)) | 0;
  z = Math.imul(z ^ (z >>> 15), 0x2c1b3c6d);
  z = Math.imul(z ^ (z >>> 12), 0x297a2d39);
  return (z ^ (z >>> 15)) | 0;
}

/** Pick k distinct integers from [0, n), sorted. */
export function pickPoints(rng: SeededChooser, n: number, k: number): number[] {
  const s = new Set<number>();
  const want = Math.min(k, n);
  while (s.size < want) s.add(rng.choose(Math.max(1, n)));
  return [...s].sort((a, b) => a - b);
}

/** The index of the ready CPU whose priority `of` is highest (the first on a tie). */
export function highest<C>(ready: readonly C[], n: number, of: (c: C) => number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (of(ready[i]!) > of(ready[best]!)) best = i;
  return best;
}
