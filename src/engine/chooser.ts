/*
 * The one source of nondeterminism.
 *
 * Every decision real hardware would make is asked of a Chooser.  The
 * default is a seeded PRNG that is asked only which of several ready CPUs
 * moves next; a replay is a recorded list of answers; an exploration
 * strategy is a Chooser that also implements `decide`, and then the engine
 * asks it about every decision of the decision space (see DecisionKind).
 * Kernel and engine code never use Math.random or the wall clock.
 */

/** What a choice is about, so that strategies and traces can tell. */
export type ChoiceKind = 'cpu';

/**
 * The decision space of an exploring chooser (engine.ts documents the
 * options and their bounds):
 *   cpu     - which of the ready CPUs moves (option i = ready CPU i; 0 is the default)
 *   delay   - at a choice point: go on (0), or hold this CPU back (1: until
 *             another CPU reaches a choice point or, if none can, until the
 *             next timeline event; 2, 3: stall DELAY_TICKS ticks)
 *   jitter  - a kernel burn, a user burst or a timer takes longer (0: as
 *             given; 1: one tick more; 2: twice as long)
 *   preempt - whether a clock interrupt lands in this user burst (0: no;
 *             1: after its first tick; 2: halfway)
 * Option 0 is always what the default chooser's hardware does.
 */
export type DecisionKind = 'cpu' | 'delay' | 'jitter' | 'preempt';

export interface Chooser {
  /** Return an integer in [0, n).  Only called with n >= 2. */
  choose(n: number, kind: ChoiceKind): number;
  /**
   * Present only on exploring choosers: the engine then asks every decision
   * here, not `choose`.  `cpu` is the CPU the decision is about (for 'cpu':
   * -1; the options are engine.readyCpus()).  Return an integer in [0, n).
   */
  decide?(kind: DecisionKind, n: number, cpu: number): number;
}

/** splitmix32: small, fast, and good enough to spread interleavings. */
export class SeededChooser implements Chooser {
  private state: number;
  constructor(readonly seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    this.state = seed >>> 0;
  }
  next32(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
  choose(n: number): number {
    return this.next32() % n;
  }
  /** A float in [0, 1). */
  float(): number {
    return this.next32() / 4294967296;
  }
}

/** Records every answer of an inner chooser, so a run can be replayed. */
export class RecordingChooser implements Chooser {
  readonly log: number[] = [];
  /** Only when the inner chooser decides (the engine tests for its presence). */
  decide?: (kind: DecisionKind, n: number, cpu: number) => number;
  constructor(private readonly inner: Chooser) {
    const d = inner.decide;
    if (d !== undefined) {
      this.decide = (kind, n, cpu) => {
        const a = d.call(inner, kind, n, cpu);
        this.log.push(a);
        return a;
      };
    }
  }
  choose(n: number, kind: ChoiceKind): number {
    const c = this.inner.choose(n, kind);
    this.log.push(c);
    return c;
  }
}

/**
 * Replays a recorded list of answers.  Running past the end, or an answer
 * that does not fit the choice being made, means the run diverged from the
 * recording: that is an error, never a silent guess.
 */
export class ReplayChooser implements Chooser {
  private i = 0;
  constructor(private readonly answers: readonly number[]) {}
  choose(n: number): number {
    if (this.i >= this.answers.length) throw new Error(`replay exhausted after ${this.i} choices`);
    const c = this.answers[this.i++]!;
    if (!Number.isInteger(c) || c < 0 || c >= n) throw new Error(`replay diverged at choice ${this.i - 1}: answer ${c} for ${n} options`);
    return c;
  }
  get used(): number { return this.i; }
}
