/*
 * Per-CPU run queues: DragonFly lwkt_thread.c 1.12's gd_tdrunq[32] and
 * gd_runqmask (_lwkt_enqueue, _lwkt_dequeue, the pick in lwkt_switch),
 * behind the RunQueue interface that kern_runq.c's sched_enqueue,
 * sched_dequeue and sched_nextlwp are written against.
 *
 * 32 FIFO levels and one 32-bit mask with bit n set exactly when level n
 * is non-empty.  The pick is one Math.clz32 of the mask (the seed's bsrl)
 * and the head of that level, so its cost does not depend on how many
 * LWPs are runnable: that is the point of the design.  Round-robin inside
 * a level comes from the switch: the running LWP is off the queue and
 * goes back at the tail when it yields, as the seed's rotate-on-pick does
 * for a thread that stays queued while it runs.
 *
 * NetBSD priority -> level (priLevel): level = priority >> 3, so each
 * level holds 8 consecutive NetBSD priorities, which the dispatcher treats
 * as equal (they round-robin, and none preempts another):
 *   priorities   0..63   user time-sharing (SCHED_OTHER)  -> levels  0..7
 *               64..127  kernel (PRI_KERNEL)              -> levels  8..15
 *              128..191  kernel threads, and real-time
 *                        users (PRI_USER_RT + 0..63)      -> levels 16..23
 *              192..223  kernel real-time                 -> levels 24..27
 *              224..255  interrupt threads (PRI_INTR)     -> levels 28..31
 * The idle LWP is never queued (the seed's gd_idletd); its level is -1.
 *
 * The whole queue is covered by its CPU's spcMutex.
 */
import type { Lwp } from './h/lwp.ts';
import { NQS } from './param.ts';
import type { RunQueue } from './h/runq.ts';

/** The run queue level of a NetBSD priority (see the table above). */
export function priLevel(pri: number): number {
  return pri < 0 ? -1 : pri >> 3;
}

export class LwktRunQueue implements RunQueue {
  count = 0;
  /** gd_runqmask: bit n set iff level n is non-empty. */
  mask = 0;
  private readonly heads: (Lwp | null)[] = new Array(NQS).fill(null);
  private readonly tails: (Lwp | null)[] = new Array(NQS).fill(null);

  /** _lwkt_enqueue: tail of l's level.  The level is remembered for the dequeue. */
  enqueue(l: Lwp): void {
    const q = priLevel(l.priority);
    const tail = this.tails[q]!;
    l.rq = this;
    l.rqLevel = q;
    l.rqNext = null;
    l.rqPrev = tail;
    if (tail === null) {
      this.heads[q] = l;
      this.mask |= 1 << q;
    } else tail.rqNext = l;
    this.tails[q] = l;
    this.count++;
  }

  /** _lwkt_dequeue: the mask is cleaned at once (the seed leaves it to the switcher). */
  dequeue(l: Lwp): void {
    const q = l.rqLevel;
    if (l.rqPrev === null) this.heads[q] = l.rqNext;
    else l.rqPrev.rqNext = l.rqNext;
    if (l.rqNext === null) this.tails[q] = l.rqPrev;
    else l.rqNext.rqPrev = l.rqPrev;
    if (this.heads[q] === null) this.mask &= ~(1 << q);
    l.rq = l.rqNext = l.rqPrev = null;
    this.count--;
  }

  maxLevel(): number {
    return 31 - Math.clz32(this.mask);
  }

  best(): Lwp | null {
    const m = this.mask;
    return m === 0 ? null : this.heads[31 - Math.clz32(m)]!;
  }

  pick(ok: (l: Lwp) => boolean): Lwp | null {
    for (let m = this.mask; m !== 0; ) {
      const q = 31 - Math.clz32(m);
      for (let l: Lwp | null = this.heads[q]!; l !== null; l = l.rqNext) if (ok(l)) return l;
      m &= ~(1 << q);
    }
    return null;
  }

  items(): Lwp[] {
    const out: Lwp[] = [];
    for (let q = NQS - 1; q >= 0; q--) for (let l = this.heads[q] ?? null; l !== null; l = l.rqNext) out.push(l);
    return out;
  }

  verify(): string | null {
    let n = 0;
    for (let q = 0; q < NQS; q++) {
      const bit = (this.mask >>> q) & 1;
      if ((this.heads[q] === null) !== (bit === 0)) return `level ${q} is ${this.heads[q] === null ? 'empty' : 'non-empty'} but its mask bit is ${bit}`;
      let prev: Lwp | null = null;
      for (let l = this.heads[q] ?? null; l !== null; prev = l, l = l.rqNext) {
        n++;
        if (l.rq !== this || l.rqPrev !== prev || l.rqLevel !== q) return `lwp ${l.proc.pid}.${l.lid} is mislinked on level ${q}`;
        if (priLevel(l.priority) !== q) return `lwp ${l.proc.pid}.${l.lid} of priority ${l.priority} sits on level ${q}`;
      }
      if (this.tails[q] !== prev) return `level ${q}'s tail is wrong`;
    }
    return n === this.count ? null : `count ${this.count} but ${n} queued`;
  }
}
