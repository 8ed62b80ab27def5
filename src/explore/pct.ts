/*
 * pct: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
 * Nagarakatte, ASPLOS'10) with depth d.
 *
 * Each thread (each engine Thread: an LWP's or an idle loop's) gets a
 * random priority above d when first seen; d-1 change points are placed
 * uniformly among the k steps of a run (k: the decisions of a default
 * run).  At a 'cpu' decision the ready CPU whose thread has the highest
 * priority moves.  At a choice point (a 'delay' decision) the CPU is held
 * back while a thread of higher priority can still move on another CPU:
 * that is PCT's rule that only the highest-priority enabled thread runs,
 * on a machine whose other CPUs are busy rather than stopped.  When the
 * i-th change point is reached the running thread's priority drops to
 * d-i.  For a bug of depth d among n threads and k steps, one run finds it
 * with probability at least 1/(n·k^(d-1)).
 */
import { CpuCond, type Cpu } from '../engine/engine.ts';
import { highest, pickPoints, type RunEnv, type RunPolicy, type Strategy } from './strategy.ts';

export class PctStrategy implements Strategy {
  readonly name: string;
  private steps = 100;
  private threads = 2;
  constructor(readonly depth: number) {
    if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`pct depth must be a positive integer, got ${depth}`);
    this.name = `pct(d=${depth})`;
  }
  calibrate(steps: number, threads: number): void {
    this.steps = Math.max(1, steps);
    this.threads = Math.max(1, threads);
  }
  /** The per-run probability bound for the calibrated n and k. */
  probability(): number {
    return 1 / (this.threads * Math.pow(this.steps, this.depth - 1));
  }
  guarantee(): string {
    return `pct(d=${this.depth}) finds a depth-${this.depth} bug with probability >= 1/(n*k^(d-1)) = ${this.probability().toPrecision(3)} per run (n=${this.threads} threads, k=${this.steps} steps)`;
  }
  begin(env: RunEnv): RunPolicy {
    const { rng, engine } = env;
    const d = this.depth;
    const prio = new Map<number, number>();
    const changes = pickPoints(rng, this.steps, d - 1);
    let step = 0;
    let nextChange = 0;
    const of = (c: Cpu): number => {
      const tid = c.thread.tid;
      let p = prio.get(tid);
      if (p === undefined) prio.set(tid, (p = d + rng.float()));
      return p;
    };
    const atStep = (c: Cpu): void => {
      if (nextChange < changes.length && changes[nextChange] === step) {
        nextChange++;
        prio.set(c.thread.tid, d - nextChange);
      }
      step++;
    };
    return {
      decide(kind, n, cpu) {
        if (kind === 'cpu') {
          const ready = engine.readyCpus();
          const best = highest(ready, n, of);
          atStep(ready[best]!);
          return best;
        }
        if (kind !== 'delay') return 0;
        const me = engine.cpus[cpu]!;
        atStep(me);
        const mine = of(me);
        for (const c of engine.cpus) {
          if (c === me || c.cond === CpuCond.Halted || c.cond === CpuCond.Held) continue;
          if (of(c) > mine) return 1;
        }
        return 0;
      },
    };
  }
}
