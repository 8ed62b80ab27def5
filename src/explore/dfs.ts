/*
 * dfs: exhaustive search of the decision tree under a bound B on the
 * number of non-default decisions (delay bounding, with 'another CPU
 * moves first' counted as one deviation, as a preemption bound counts a
 * context switch).  Stateless model checking: each run follows the
 * recorded prefix, takes defaults past it, and the next run backtracks
 * the deepest decision that still has an untried option within the bound.
 *
 * Branches: every option of a 'cpu' decision and of a 'delay' decision
 * (go, hold, the stalls).  Jitter and preemption are left to the sampling
 * strategies (dfs takes their default), so "every schedule within bound B"
 * means every schedule reachable with at most B deviations of those two
 * kinds.
 *
 * Iterative deepening: the bound is raised from 0 to B, so that shallow
 * bugs are found first (a depth-first search at bound B alone spends its
 * first thousands of runs varying the tail of one schedule); the runs of
 * the smaller bounds are repeated inside the larger, which costs little
 * since each level is far smaller than the next.
 *
 * No partial-order reduction yet: the tree is searched whole, which is
 * sound but grows fast with B.
 */
import type { DecisionKind } from '../engine/chooser.ts';
import { KIND_LETTER, type DecisionLog } from './schedule.ts';
import type { RunEnv, RunPolicy, Strategy } from './strategy.ts';

interface Node { kind: string; n: number; answer: number }

export class DfsStrategy implements Strategy {
  readonly name: string;
  readonly sequential = true;
  private prefix: Node[] = [];
  private done = false;
  private first = true;
  /** The bound of the current deepening level. */
  private level = 0;
  constructor(readonly bound: number) {
    if (!Number.isInteger(bound) || bound < 0) throw new RangeError(`dfs bound must be a non-negative integer, got ${bound}`);
    this.name = `dfs(B=${bound})`;
  }
  guarantee(): string | null {
    return this.done ? `every schedule within bound ${this.bound} explored` : null;
  }
  exhausted(): boolean {
    return this.done;
  }
  begin(_env: RunEnv): RunPolicy {
    const prefix = this.prefix;
    let i = 0;
    return {
      decide(kind: DecisionKind, n: number) {
        const at = i++;
        if (at < prefix.length) {
          const p = prefix[at]!;
          // The tree is deterministic: the same prefix asks the same decisions.
          if (p.kind !== KIND_LETTER[kind] || p.n !== n) throw new Error(`dfs: the run diverged from its prefix at decision ${at}`);
          return p.answer;
        }
        return 0;
      },
    };
  }
  end(log: DecisionLog): void {
    this.first = false;
    const path: Node[] = log.answers.map((a, i) => ({ kind: log.kinds[i]!, n: log.options[i]!, answer: a }));
    let used = 0;
    const usedBefore: number[] = [];
    for (const p of path) {
      usedBefore.push(used);
      if (p.answer !== 0) used++;
    }
    for (let i = path.length - 1; i >= 0; i--) {
      const p = path[i]!;
      const limit = p.kind === 'c' || p.kind === 'd' ? p.n : 1;
      if (p.answer + 1 >= limit) continue;
      if (usedBefore[i]! + 1 > this.level) continue;
      this.prefix = path.slice(0, i);
      this.prefix.push({ ...p, answer: p.answer + 1 });
      return;
    }
    if (this.level < this.bound) {
      this.level++;
      this.prefix = [];
      return;
    }
    this.done = true;
  }
  get started(): boolean {
    return !this.first;
  }
}
