/*
 * random: a random walk over the decision space.  Uniform over the ready
 * CPUs at every 'cpu' decision; at every other decision the default with
 * high probability and otherwise a uniform non-default option (uniform
 * over all options would stall a CPU at half the choice points, which is
 * no walk at all).  The probabilities are parameters.
 */
import type { RunEnv, RunPolicy, Strategy } from './strategy.ts';

export interface RandomParams {
  /** Chance of a non-default answer at a delay, jitter or preempt decision. */
  pDelay: number;
  pJitter: number;
  pPreempt: number;
}

export const RANDOM_DEFAULTS: RandomParams = { pDelay: 0.05, pJitter: 0.05, pPreempt: 0.05 };

export class RandomStrategy implements Strategy {
  readonly name: string;
  private readonly p: RandomParams;
  constructor(p: Partial<RandomParams> = {}) {
    this.p = { ...RANDOM_DEFAULTS, ...p };
    this.name = p.pDelay === undefined && p.pJitter === undefined && p.pPreempt === undefined ? 'random' : `random(${this.p.pDelay},${this.p.pJitter},${this.p.pPreempt})`;
  }
  begin(env: RunEnv): RunPolicy {
    const { rng } = env;
    const p = this.p;
    return {
      decide(kind, n) {
        if (kind === 'cpu') return rng.choose(n);
        const pk = kind === 'delay' ? p.pDelay : kind === 'jitter' ? p.pJitter : p.pPreempt;
        return rng.float() < pk ? 1 + rng.choose(n - 1) : 0;
      },
    };
  }
}
