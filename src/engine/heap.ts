/*
 * The timeline: a binary min-heap of future events ordered by (time, seq).
 * seq is a global insertion counter, so events at the same tick come out in
 * the order they were scheduled: deterministic without asking the chooser.
 */
export interface TimelineEntry {
  time: number;
  seq: number;
}

export class MinHeap<T extends TimelineEntry> {
  private a: T[] = [];
  get size(): number { return this.a.length; }
  peek(): T | undefined { return this.a[0]; }

  push(e: T): void {
    const a = this.a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): T | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less(x: TimelineEntry, y: TimelineEntry): boolean {
  return x.time < y.time || (x.time === y.time && x.seq < y.seq);
}
