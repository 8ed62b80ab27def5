/*
 * Per-CPU run queues (a simple form of kern_runq.c's sched_enqueue,
 * sched_dequeue and sched_nextlwp).
 *
 * One FIFO per priority level, 0..PRI_COUNT-1, and a bitmap of the
 * non-empty levels so that finding the best LWP costs a few word scans
 * whatever the number of runnable LWPs.  Higher priority runs first;
 * within a level, round-robin.  The whole queue is covered by its CPU's
 * spcMutex.  Kept behind the RunQueue interface so that another dispatcher
 * can replace it.
 */
import type { Lwp } from './kernel.ts';
import { PRI_COUNT } from './param.ts';

export interface RunQueue {
  /** Number of LWPs queued. */
  readonly count: number;
  /** Append l at the tail of its priority level. */
  enqueue(l: Lwp): void;
  /** Remove l, which must be on this queue. */
  dequeue(l: Lwp): void;
  /** The LWP that should run next (not removed), or null. */
  best(): Lwp | null;
  /** The highest queued priority, or -1 when empty. */
  maxPriority(): number;
  /** Every queued LWP, for the checker and ps. */
  items(): Lwp[];
}

const WORDS = Math.ceil(PRI_COUNT / 32);

export class SimpleRunQueue implements RunQueue {
  count = 0;
  private readonly heads: (Lwp | null)[] = new Array(PRI_COUNT).fill(null);
  private readonly tails: (Lwp | null)[] = new Array(PRI_COUNT).fill(null);
  private readonly bitmap = new Uint32Array(WORDS);

  enqueue(l: Lwp): void {
    const p = l.priority;
    const tail = this.tails[p]!;
    l.rq = this;
    l.rqNext = null;
    l.rqPrev = tail;
    if (tail === null) {
      this.heads[p] = l;
      this.bitmap[p >>> 5]! |= 1 << (p & 31);
    } else tail.rqNext = l;
    this.tails[p] = l;
    this.count++;
  }

  dequeue(l: Lwp): void {
    const p = l.priority;
    if (l.rqPrev === null) this.heads[p] = l.rqNext;
    else l.rqPrev.rqNext = l.rqNext;
    if (l.rqNext === null) this.tails[p] = l.rqPrev;
    else l.rqNext.rqPrev = l.rqPrev;
    if (this.heads[p] === null) this.bitmap[p >>> 5]! &= ~(1 << (p & 31));
    l.rq = l.rqNext = l.rqPrev = null;
    this.count--;
  }

  maxPriority(): number {
    for (let w = WORDS - 1; w >= 0; w--) {
      const bits = this.bitmap[w]!;
      if (bits !== 0) return w * 32 + 31 - Math.clz32(bits);
    }
    return -1;
  }

  best(): Lwp | null {
    const p = this.maxPriority();
    return p < 0 ? null : this.heads[p]!;
  }

  items(): Lwp[] {
    const out: Lwp[] = [];
    for (let p = PRI_COUNT - 1; p >= 0; p--) for (let l = this.heads[p] ?? null; l !== null; l = l.rqNext) out.push(l);
    return out;
  }
}
