/*
 * delay: delay bounding (Emmi, Qadeer, Rakamarić, POPL'11).  The
 * scheduler is deterministic (every decision takes its default) except at
 * most B deviations per run, placed uniformly among the decisions of a
 * default run; at a deviation the answer is a uniform non-default option
 * (a held or stalled CPU, another CPU first, a longer burst, an early
 * clock interrupt).
 */
import { pickPoints, type RunEnv, type RunPolicy, type Strategy } from './strategy.ts';

export class DelayStrategy implements Strategy {
  readonly name: string;
  private steps = 100;
  constructor(readonly bound: number) {
    this.name = `delay(B=${bound})`;
  }
  calibrate(steps: number): void {
    this.steps = Math.max(1, steps);
  }
  begin(env: RunEnv): RunPolicy {
    const { rng } = env;
    // Deviations may land a little past the default run's length: schedules grow when delayed.
    const points = pickPoints(rng, Math.ceil(this.steps * 1.25), 1 + rng.choose(this.bound));
    let i = 0;
    let next = 0;
    return {
      decide(_kind, n) {
        const here = i++;
        if (next < points.length && points[next] === here) {
          next++;
          return 1 + rng.choose(n - 1);
        }
        return 0;
      },
    };
  }
}
