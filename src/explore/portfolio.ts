/*
 * portfolio: the default strategy, a round robin of the others (as
 * Coyote's and Shuttle's portfolio runners do): run r uses member r mod m.
 * Different bugs fall to different strategies (ordering bugs to pct,
 * timing windows to delays, wide races to the random walk), and a mix is
 * never far behind the best member for any one bug.
 */
import type { DecisionLog } from './schedule.ts';
import type { RunEnv, RunPolicy, Strategy } from './strategy.ts';

export class PortfolioStrategy implements Strategy {
  readonly name = 'portfolio';
  private last: Strategy | null = null;
  constructor(readonly members: readonly Strategy[]) {
    if (members.length === 0) throw new RangeError('portfolio: no strategies');
  }
  calibrate(steps: number, threads: number): void {
    for (const s of this.members) s.calibrate?.(steps, threads);
  }
  /** The member that makes run r. */
  member(run: number): Strategy {
    return this.members[run % this.members.length]!;
  }
  begin(env: RunEnv): RunPolicy {
    this.last = this.member(env.run);
    return this.last.begin(env);
  }
  end(log: DecisionLog): void {
    this.last?.end?.(log);
  }
}
