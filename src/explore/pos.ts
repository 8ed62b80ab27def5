/*
 * pos: partial order sampling (Yuan, Yang, Gu, CAV'18).  Every pending
 * step (a CPU at a choice point, labelled by the lock or channel it is
 * about to touch) has a random priority; the highest-priority ready step
 * runs; after it runs, the priorities of the steps it raced with (those
 * pending on the same label) are drawn again, along with its own next
 * step's.  Steps on different objects keep their priorities, which is
 * what makes POS sample partial orders nearly uniformly rather than
 * favouring orders with many equivalent interleavings.
 *
 * Timing: at a choice point a CPU is held back while a step of higher
 * priority is pending on another busy CPU (as pct does), and the other
 * decisions (jitter, preemption) are sampled with a small probability.
 */
import { CpuCond, type Cpu } from '../engine/engine.ts';
import { highest, type RunEnv, type RunPolicy, type Strategy } from './strategy.ts';

export class PosStrategy implements Strategy {
  readonly name = 'pos';
  constructor(private readonly pTiming = 0.05) {}
  begin(env: RunEnv): RunPolicy {
    const { rng, engine } = env;
    const pTiming = this.pTiming;
    // Priority of the step pending on each CPU, by CPU index; redrawn when it runs or races.
    const prio = new Float64Array(engine.cpus.length).fill(-1);
    const of = (c: Cpu): number => {
      if (prio[c.index]! < 0) prio[c.index] = rng.float();
      return prio[c.index]!;
    };
    const ran = (c: Cpu): void => {
      const w = c.what;
      prio[c.index] = rng.float();
      if (w === '') return;
      for (const o of engine.cpus) if (o !== c && o.what === w) prio[o.index] = rng.float();
    };
    return {
      decide(kind, n, cpu) {
        if (kind === 'cpu') {
          const ready = engine.readyCpus();
          const best = highest(ready, n, of);
          ran(ready[best]!);
          return best;
        }
        if (kind === 'delay') {
          const me = engine.cpus[cpu]!;
          const mine = of(me);
          for (const c of engine.cpus) {
            if (c === me || c.cond === CpuCond.Halted || c.cond === CpuCond.Held) continue;
            if (of(c) > mine) return 1;
          }
          ran(me);
          return 0;
        }
        return rng.float() < pTiming ? 1 + rng.choose(n - 1) : 0;
      },
    };
  }
}
