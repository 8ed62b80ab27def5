/*
 * seeds: the plain seeded chooser, as a strategy.  Run r is exactly
 * `new Machine({ seed })` with its own seed: the same PRNG answers the
 * same 'cpu' decisions, and every other decision takes the default.  It
 * is the baseline the planted-bug table compares against.
 */
import { SeededChooser } from '../engine/chooser.ts';
import type { RunEnv, RunPolicy, Strategy } from './strategy.ts';

export class SeedsStrategy implements Strategy {
  readonly name = 'seeds';
  constructor(private readonly seed: number) {}
  begin(env: RunEnv): RunPolicy {
    const rng = new SeededChooser(this.seed + env.run);
    return { decide: (kind, n) => (kind === 'cpu' ? rng.choose(n) : 0) };
  }
}
