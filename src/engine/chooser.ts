/*
 * The one source of nondeterminism.
 *
 * Every decision real hardware would make (which CPU moves next when
 * several could) is asked of a Chooser.  The default is a seeded PRNG;
 * a replay is a recorded list of answers; an exploration strategy is just
 * another Chooser.  Kernel and engine code never use Math.random or the
 * wall clock.
 */

/** What a choice is about, so that strategies and traces can tell. */
export type ChoiceKind = 'cpu';

export interface Chooser {
  /** Return an integer in [0, n).  Only called with n >= 2. */
  choose(n: number, kind: ChoiceKind): number;
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
}

/** Records every answer of an inner chooser, so a run can be replayed. */
export class RecordingChooser implements Chooser {
  readonly log: number[] = [];
  constructor(private readonly inner: Chooser) {}
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
