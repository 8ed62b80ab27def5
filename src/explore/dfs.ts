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
 * Partial-order reduction (on by default; `por: false` searches the whole
 * tree): sleep sets (Godefroid) over kernel objects.  A step is labelled
 * by the choice point it starts at (the lock, token or wait channel it is
 * about to take: Cpu.what, when Cpu.atChoice); a step that starts anywhere
 * else (after a burst, in user code) has the empty label.  Two steps are
 * independent when both labels are known and differ.  At a 'cpu'
 * decision, once the branch where CPU a moves first has been explored, a
 * sleeps in the later sibling branches, until a step dependent with its
 * own runs; a sleeping CPU is never picked.  A node whose ready CPUs all
 * sleep is pruned (the run goes on with defaults, and its tail is not
 * branched).  The bound still counts every non-zero answer, so a pick
 * forced past a sleeping default CPU is a deviation (the tree's shape
 * stays that of the full search; a run whose budget is spent is still
 * forced past sleepers, and counted).  The reduction trusts labels: a
 * step that touches state its choice point's lock does not cover (a read
 * outside a lock, an AST posted to another CPU) is treated as if it did
 * not; and, as with any sleep set under a bound (Coons et al., OOPSLA'13),
 * a schedule cut as equivalent to an explored one may need more
 * deviations than the bound allows there.
 */
import type { DecisionKind } from '../engine/chooser.ts';
import type { Engine } from '../engine/engine.ts';
import { KIND_LETTER, type DecisionLog } from './schedule.ts';
import type { RunEnv, RunPolicy, Strategy } from './strategy.ts';

interface Node { kind: string; n: number; answer: number }
/** A 'cpu' node's sleep information: the first awake option, and which options slept. */
interface CpuNode { first: number; asleep: boolean[] }

export interface DfsOptions {
  /** Sleep-set reduction (default true). */
  por?: boolean;
}

function dependent(a: string, b: string): boolean {
  return a === '' || b === '' || a === b;
}

export class DfsStrategy implements Strategy {
  readonly name: string;
  readonly sequential = true;
  private prefix: Node[] = [];
  private done = false;
  private first = true;
  /** The bound of the current deepening level. */
  private level = 0;
  readonly por: boolean;
  /** This run's 'cpu' nodes by decision index, and the index from which the tail is pruned (or -1). */
  private cpuNodes = new Map<number, CpuNode>();
  private prunedAt = -1;
  constructor(readonly bound: number, opts: DfsOptions = {}) {
    this.por = opts.por ?? true;
    if (!Number.isInteger(bound) || bound < 0) throw new RangeError(`dfs bound must be a non-negative integer, got ${bound}`);
    this.name = this.por ? `dfs(B=${bound})` : `dfs(B=${bound}, no por)`;
  }
  guarantee(): string | null {
    return this.done ? `every schedule within bound ${this.bound} explored` : null;
  }
  exhausted(): boolean {
    return this.done;
  }
  begin(env: RunEnv): RunPolicy {
    const prefix = this.prefix;
    const engine: Engine = env.engine;
    const por = this.por;
    const nodes = new Map<number, CpuNode>();
    this.cpuNodes = nodes;
    this.prunedAt = -1;
    /** Sleeping CPUs (by index) with the label of their pending step. */
    let sleep = new Map<number, string>();
    /** engine.steps at the last 'cpu' decision, to see steps taken with one CPU ready. */
    let lastSteps = -1;
    let i = 0;
    const self = this;
    return {
      decide(kind: DecisionKind, n: number) {
        const at = i++;
        const replaying = at < prefix.length;
        if (replaying) {
          const p = prefix[at]!;
          // The tree is deterministic: the same prefix asks the same decisions.
          if (p.kind !== KIND_LETTER[kind] || p.n !== n) throw new Error(`dfs: the run diverged from its prefix at decision ${at}`);
        }
        if (kind !== 'cpu' || !por) return replaying ? prefix[at]!.answer : 0;
        // A step taken since the last decision with one CPU ready ran unseen: it woke every sleeper.
        if (engine.steps !== lastSteps + 1) sleep = new Map();
        lastSteps = engine.steps;
        const ready = engine.readyCpus();
        const label = ready.map((c) => (c.atChoice ? c.what : ''));
        const asleep = ready.map((c) => sleep.has(c.index));
        let first = asleep.indexOf(false);
        if (first < 0) {
          // Every ready CPU sleeps: this node's schedules are explored elsewhere.
          if (self.prunedAt < 0) self.prunedAt = at;
          first = 0;
        }
        nodes.set(at, { first, asleep });
        const a = replaying ? prefix[at]!.answer : first;
        if (self.prunedAt >= 0) {
          sleep = new Map();
          return a;
        }
        const next = new Map<number, string>();
        for (const [c, l] of sleep) if (!dependent(l, label[a]!)) next.set(c, l);
        for (let j = 0; j < a; j++) if (!dependent(label[j]!, label[a]!)) next.set(ready[j]!.index, label[j]!);
        sleep = next;
        return a;
      },
    };
  }
  end(log: DecisionLog): void {
    this.first = false;
    const path: Node[] = log.answers.map((a, i) => ({ kind: log.kinds[i]!, n: log.options[i]!, answer: a }));
    const nodes = this.cpuNodes;
    let used = 0;
    const usedBefore: number[] = [];
    for (let i = 0; i < path.length; i++) {
      usedBefore.push(used);
      if (path[i]!.answer !== 0) used++;
    }
    const last = this.prunedAt >= 0 ? this.prunedAt - 1 : path.length - 1;
    for (let i = last; i >= 0; i--) {
      const p = path[i]!;
      if (p.kind !== 'c' && p.kind !== 'd') continue;
      const node = nodes.get(i);
      let next = p.answer + 1;
      while (node !== undefined && next < p.n && node.asleep[next] === true) next++;
      if (next >= p.n) continue;
      if (usedBefore[i]! + 1 > this.level) continue;
      this.prefix = path.slice(0, i);
      this.prefix.push({ ...p, answer: next });
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
