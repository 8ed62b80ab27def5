/*
 * Schedules: what one run decided, as plain JSON.
 *
 * A schedule is the list of decisions the engine asked of the chooser, in
 * order: for each its kind (one letter: c cpu, d delay, j jitter, p
 * preempt), its number of options and the answer.  It also carries what
 * produced it (strategy, seed, run), the machine options and the lwpkit
 * version, so that a file replays on its own.
 */
import type { DecisionKind } from '../engine/chooser.ts';

export const LWPKIT_VERSION = '0.1.0';

export const KIND_LETTER: Record<DecisionKind, string> = { cpu: 'c', delay: 'd', jitter: 'j', preempt: 'p' };
export const LETTER_KIND: Record<string, DecisionKind> = { c: 'cpu', d: 'delay', j: 'jitter', p: 'preempt' };

export interface Schedule {
  lwpkit: string;
  /** The strategy (with its parameters) that made it, or 'shrink'. */
  strategy: string;
  seed: number;
  run: number;
  /** The machine the scenario ran on. */
  ncpu: number;
  machine: Record<string, unknown>;
  maxTicks: number;
  /** One letter per decision (see KIND_LETTER). */
  kinds: string;
  /** Options of each decision. */
  options: number[];
  /** The answer of each decision, in [0, options). */
  answers: number[];
}

/** Decisions recorded during a run. */
export class DecisionLog {
  kinds: string[] = [];
  options: number[] = [];
  answers: number[] = [];
  push(kind: DecisionKind, n: number, a: number): void {
    this.kinds.push(KIND_LETTER[kind]);
    this.options.push(n);
    this.answers.push(a);
  }
  get length(): number { return this.answers.length; }
}

/** How far a schedule departs from the default hardware. */
export interface ScheduleSize {
  decisions: number;
  /** Answers other than 0. */
  nondefault: number;
  delays: number;
  preemptions: number;
  jitters: number;
  /** 'cpu' decisions that picked another CPU than the first ready one. */
  switches: number;
}

export function scheduleSize(s: Pick<Schedule, 'kinds' | 'answers'>): ScheduleSize {
  const z: ScheduleSize = { decisions: s.answers.length, nondefault: 0, delays: 0, preemptions: 0, jitters: 0, switches: 0 };
  for (let i = 0; i < s.answers.length; i++) {
    if (s.answers[i] === 0) continue;
    z.nondefault++;
    const k = s.kinds[i];
    if (k === 'd') z.delays++;
    else if (k === 'p') z.preemptions++;
    else if (k === 'j') z.jitters++;
    else z.switches++;
  }
  return z;
}

/** Check that a parsed value is a schedule; throws a plain one-line error if not. */
export function parseSchedule(v: unknown): Schedule {
  const s = v as Schedule;
  const bad = (what: string): never => { throw new Error(`not an lwpkit schedule: ${what}`); };
  if (typeof s !== 'object' || s === null) bad('not an object');
  if (typeof s.lwpkit !== 'string') bad('no lwpkit version');
  if (typeof s.kinds !== 'string' || !Array.isArray(s.options) || !Array.isArray(s.answers)) bad('no decisions');
  if (s.kinds.length !== s.options.length || s.kinds.length !== s.answers.length) bad('decision lists of different lengths');
  for (let i = 0; i < s.kinds.length; i++) {
    if (LETTER_KIND[s.kinds[i]!] === undefined) bad(`decision ${i} has unknown kind '${s.kinds[i]}'`);
    const n = s.options[i]!, a = s.answers[i]!;
    if (!Number.isInteger(n) || n < 2 || !Number.isInteger(a) || a < 0 || a >= n) bad(`decision ${i} answers ${a} of ${n}`);
  }
  if (!Number.isInteger(s.ncpu) || s.ncpu < 1) bad('bad ncpu');
  if (typeof s.machine !== 'object' || s.machine === null) bad('no machine options');
  if (typeof s.maxTicks !== 'number') bad('no maxTicks');
  return s;
}
