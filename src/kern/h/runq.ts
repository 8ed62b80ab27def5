/* The run queue interface kern_runq.c is written against (sched_enqueue, sched_dequeue, sched_nextlwp); runq.ts implements it. */
import type { Lwp } from './lwp.ts';

export interface RunQueue {
  /** Number of LWPs queued. */
  readonly count: number;
  /** Append l at the tail of its level. */
  enqueue(l: Lwp): void;
  /** Remove l, which must be on this queue. */
  dequeue(l: Lwp): void;
  /** The LWP that should run next (not removed), or null. */
  best(): Lwp | null;
  /** The first LWP, best level first, for which ok(l) holds (not removed), or null. */
  pick(ok: (l: Lwp) => boolean): Lwp | null;
  /** The highest non-empty level, or -1 when empty. */
  maxLevel(): number;
  /** Every queued LWP, best first, for the checker and ps. */
  items(): Lwp[];
  /** Consistency of the structure (mask, links, count): an error message, or null. */
  verify(): string | null;
}
