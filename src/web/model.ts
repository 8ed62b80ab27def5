/*
 * The viewer's index of a recording: what the lanes draw and what the
 * cursor panels read, computed once from the events and frames.
 *
 * Contract: pure (no DOM); built in O(events + frames).  The x axis is the
 * cursor: position c means the first c events have happened; every segment
 * covers [a, b) in those units, and [ta, tb) in ticks.
 *  - One lane per CPU: which LWP is on it (-1: its idle LWP), from the
 *    first keyframe and the switch events.
 *  - One row per LWP that is not a CPU's idle LWP: its state, from the
 *    first keyframe (or its first state event) and the state events; its
 *    row ends when it is freed.
 */
import type { KEvent, StatName } from '../kern/events.ts';
import type { PsRow } from '../machine.ts';
import { locksAtFrame, psAtFrame, type Frame, type LockRow, type Recording } from '../trace/record.ts';

export const STATES: readonly StatName[] = ['IDL', 'RUN', 'ONPROC', 'SLEEP', 'STOP', 'SUSPENDED', 'ZOMB'];

export interface Seg { a: number; b: number; ta: number; tb: number; v: number; w: string }

export interface LwpRow {
  key: string;
  pid: number;
  lid: number;
  label: string;
  /** State segments; v indexes STATES, w is the wait channel while asleep. */
  segs: Seg[];
  /** Event indices of this LWP's state events. */
  stateEvents: number[];
}

export interface Marker { at: number; row: string; kind: 'errno' | 'signal' | 'panic' | 'deadlock'; text: string }
export interface Arrow { at: number; from: string; to: string }

export class RunIndex {
  readonly n: number;
  readonly ncpu: number;
  /** Per CPU: segments whose v is an index into lwps (-1 idle). */
  readonly cpuSegs: Seg[][] = [];
  readonly lwps: LwpRow[] = [];
  readonly byKey = new Map<string, number>();
  readonly markers: Marker[] = [];
  readonly arrows: Arrow[] = [];
  /** Tick of the state after c events (t of event c-1; 0 for c = 0). */
  readonly tickAt: Float64Array;

  constructor(readonly rec: Recording) {
    const ev = rec.events;
    this.n = ev.length;
    this.ncpu = rec.meta.ncpu;
    this.tickAt = new Float64Array(this.n + 1);
    for (let i = 0; i < this.n; i++) this.tickAt[i + 1] = ev[i]!.t;
    const first = rec.frames[0]!.k ?? [];
    this.buildLanes(first, ev);
    this.buildRows(first, ev);
    this.buildMarks(ev);
  }

  isIdle(pid: number, lid: number): boolean {
    return pid === 0 && lid >= 1 && lid <= this.ncpu;
  }

  name(key: string): string {
    const nm = this.rec.names.lwps[key];
    return nm ? `${key} ${nm}` : key;
  }

  private row(key: string, pid: number, lid: number): LwpRow {
    let i = this.byKey.get(key);
    if (i === undefined) {
      i = this.lwps.length;
      this.byKey.set(key, i);
      this.lwps.push({ key, pid, lid, label: this.name(key), segs: [], stateEvents: [] });
    }
    return this.lwps[i]!;
  }

  private buildLanes(first: readonly PsRow[], ev: readonly KEvent[]): void {
    const cur: { v: number; a: number; ta: number }[] = [];
    for (let c = 0; c < this.ncpu; c++) {
      this.cpuSegs.push([]);
      cur.push({ v: -1, a: 0, ta: 0 });
    }
    for (const r of first) {
      if (r.stat === 'ONPROC' && !this.isIdle(r.pid, r.lid) && r.cpu < this.ncpu) cur[r.cpu]!.v = this.lwpIndex(r.pid, r.lid);
    }
    for (let i = 0; i < ev.length; i++) {
      const e = ev[i]!;
      if (e.type !== 'switch' || e.cpu < 0 || e.cpu >= this.ncpu) continue;
      const c = cur[e.cpu]!;
      const v = this.isIdle(e.toPid, e.toLid) ? -1 : this.lwpIndex(e.toPid, e.toLid);
      if (v === c.v) continue;
      this.cpuSegs[e.cpu]!.push({ a: c.a, b: i + 1, ta: c.ta, tb: e.t, v: c.v, w: '' });
      cur[e.cpu] = { v, a: i + 1, ta: e.t };
    }
    const end = this.rec.meta.ticks;
    for (let c = 0; c < this.ncpu; c++) this.cpuSegs[c]!.push({ a: cur[c]!.a, b: this.n, ta: cur[c]!.ta, tb: end, v: cur[c]!.v, w: '' });
  }

  private lwpIndex(pid: number, lid: number): number {
    const key = `${pid}.${lid}`;
    this.row(key, pid, lid);
    return this.byKey.get(key)!;
  }

  private buildRows(first: readonly PsRow[], ev: readonly KEvent[]): void {
    const cur = new Map<string, { v: number; w: string; a: number; ta: number; freed: boolean }>();
    for (const r of first) {
      if (this.isIdle(r.pid, r.lid)) continue;
      const key = `${r.pid}.${r.lid}`;
      this.row(key, r.pid, r.lid);
      cur.set(key, { v: STATES.indexOf(r.stat), w: r.wchan, a: 0, ta: 0, freed: false });
    }
    const close = (key: string, b: number, tb: number) => {
      const c = cur.get(key);
      if (c === undefined || c.freed) return;
      if (b > c.a) this.lwps[this.byKey.get(key)!]!.segs.push({ a: c.a, b, ta: c.ta, tb, v: c.v, w: c.w });
    };
    for (let i = 0; i < ev.length; i++) {
      const e = ev[i]!;
      if (e.type === 'state') {
        if (this.isIdle(e.pid, e.lid)) continue;
        const key = `${e.pid}.${e.lid}`;
        const row = this.row(key, e.pid, e.lid);
        row.stateEvents.push(i);
        if (!cur.has(key)) cur.set(key, { v: STATES.indexOf(e.from), w: '', a: i, ta: e.t, freed: false });
        close(key, i + 1, e.t);
        cur.set(key, { v: STATES.indexOf(e.to), w: e.to === 'SLEEP' ? (e.wchan ?? '') : '', a: i + 1, ta: e.t, freed: false });
      } else if (e.type === 'create') {
        const key = `${e.newPid}.${e.newLid}`;
        this.row(key, e.newPid, e.newLid);
        if (!cur.has(key)) cur.set(key, { v: STATES.indexOf('IDL'), w: '', a: i + 1, ta: e.t, freed: false });
      } else if (e.type === 'free') {
        const key = `${e.freedPid}.${e.freedLid}`;
        close(key, i + 1, e.t);
        const c = cur.get(key);
        if (c !== undefined) c.freed = true;
      }
    }
    for (const key of cur.keys()) close(key, this.n, this.rec.meta.ticks);
    // Rows in pid.lid order.
    const order = [...this.lwps].sort((x, y) => x.pid - y.pid || x.lid - y.lid);
    const remap = new Map<number, number>();
    order.forEach((r, j) => remap.set(this.byKey.get(r.key)!, j));
    this.lwps.splice(0, this.lwps.length, ...order);
    this.byKey.clear();
    this.lwps.forEach((r, j) => this.byKey.set(r.key, j));
    for (const segs of this.cpuSegs) for (const s of segs) if (s.v >= 0) s.v = remap.get(s.v)!;
  }

  private buildMarks(ev: readonly KEvent[]): void {
    for (let i = 0; i < ev.length; i++) {
      const e = ev[i]!;
      const key = `${e.pid}.${e.lid}`;
      if (e.type === 'wakeup') this.arrows.push({ at: i, from: `${e.wakerPid}.${e.wakerLid}`, to: key });
      else if (e.type === 'sysret' && e.errno > 0) this.markers.push({ at: i, row: key, kind: 'errno', text: `${e.name}: errno ${e.errno}` });
      else if (e.type === 'signal') this.markers.push({ at: i, row: e.what === 'post' ? `${e.targetPid}.${e.targetLid || 1}` : key, kind: 'signal', text: `signal ${e.sig} ${e.what}` });
      else if (e.type === 'panic') this.markers.push({ at: i, row: key, kind: 'panic', text: `panic: ${e.message}` });
    }
    for (const b of this.rec.blocked ?? []) this.markers.push({ at: this.n, row: `${b.pid}.${b.lid}`, kind: 'deadlock', text: `deadlock: ${b.stat} ${b.wchan}` });
  }

  /** The last frame at or before cursor c. */
  frameAt(c: number): number {
    const f = this.rec.frames;
    let lo = 0;
    let hi = f.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (f[mid]!.e <= c) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  frame(fi: number): Frame { return this.rec.frames[fi]!; }
  private psCache: { fi: number; rows: Map<string, PsRow> } | null = null;

  /** m.ps() at cursor c (that of its frame); moving forward from the last call applies only the deltas between. */
  psAt(c: number): PsRow[] {
    const fi = this.frameAt(c);
    const fr = this.rec.frames;
    const pc = this.psCache;
    let from = -1;
    if (pc !== null && pc.fi <= fi) {
      from = pc.fi;
      for (let i = pc.fi + 1; i <= fi; i++) if (fr[i]!.k !== undefined) { from = -1; break; }
    }
    if (from < 0) {
      const rows = new Map<string, PsRow>();
      for (const r of psAtFrame(fr, fi)) rows.set(`${r.pid}.${r.lid}`, r);
      this.psCache = { fi, rows };
    } else {
      const rows = pc!.rows;
      for (let i = from + 1; i <= fi; i++) {
        for (const g of fr[i]!.g ?? []) rows.delete(g);
        for (const r of fr[i]!.d ?? []) rows.set(`${r.pid}.${r.lid}`, r);
      }
      pc!.fi = fi;
    }
    return [...this.psCache!.rows.values()].sort((a, b) => a.pid - b.pid || a.lid - b.lid);
  }
  locksAt(c: number): LockRow[] { return locksAtFrame(this.rec.frames, this.frameAt(c)); }

  /** The state of row r at cursor c, and the state event that put it there (-1 if none). */
  stateAt(r: LwpRow, c: number): { v: number; w: string; edge: number } {
    const segs = r.segs;
    let found: Seg | undefined;
    for (let lo = 0, hi = segs.length - 1; lo <= hi;) {
      const mid = (lo + hi) >> 1;
      const s = segs[mid]!;
      if (s.a <= c && (c < s.b || (mid === segs.length - 1 && c <= s.b))) { found = s; break; }
      if (s.a > c) hi = mid - 1;
      else lo = mid + 1;
    }
    let edge = -1;
    for (const i of r.stateEvents) { if (i < c) edge = i; else break; }
    return found === undefined ? { v: -1, w: '', edge } : { v: found.v, w: found.w, edge };
  }

  /** The tick LWP `key` went to sleep, if it sleeps at cursor c (from its state row). */
  sleepSince(key: string, c: number): number | undefined {
    const i = this.byKey.get(key);
    if (i === undefined) return undefined;
    const segs = this.lwps[i]!.segs;
    const s = segs[Math.min(RunIndex.firstAfter(segs, c, false), segs.length - 1)];
    return s !== undefined && s.a <= c && STATES[s.v] === 'SLEEP' ? s.ta : undefined;
  }

  /** First segment index of segs ending after x (by axis). */
  static firstAfter(segs: readonly Seg[], x: number, ticks: boolean): number {
    let lo = 0;
    let hi = segs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((ticks ? segs[mid]!.tb : segs[mid]!.b) <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The cursor after the last event of the next (dir 1) or previous (-1) tick. */
  tickStep(c: number, dir: 1 | -1): number {
    const t = this.tickAt[c]!;
    if (dir === 1) {
      let i = c;
      while (i < this.n && this.tickAt[i + 1]! <= t) i++;
      if (i === c && c < this.n) { const t2 = this.tickAt[c + 1]!; while (i < this.n && this.tickAt[i + 1]! <= t2) i++; }
      return i;
    }
    let i = c;
    while (i > 0 && this.tickAt[i]! >= t) i--;
    return i;
  }
}

export interface ScheduleRow {
  /** Index of the answer in the schedule. */
  i: number;
  answer: number;
  label: string;
  /** The CPU of the first event after the answer, -1 if none. */
  cpu: number;
  /** That event, as one line. */
  text: string;
  /** Cursor to jump to: after the first frame that counts this answer (-1: never reached). */
  at: number;
}

/**
 * The attached schedule as an interleaving table: for each answer, the
 * first events after it (of the first frame whose choice count passes it),
 * and on which CPU they happened.  A step that emits no events makes no
 * frame, so the row shows the next step that did.
 */
export function scheduleRows(rec: Recording, fmt: (e: KEvent) => string): ScheduleRow[] {
  const sch = rec.schedule;
  if (sch === undefined) return [];
  const fr = rec.frames;
  const out: ScheduleRow[] = [];
  let fi = 0;
  sch.choices.forEach((answer, i) => {
    while (fi < fr.length && (fr[fi]!.c ?? 0) <= i) fi++;
    const label = sch.labels?.[i] ?? '';
    if (fi >= fr.length || fi === 0) { out.push({ i, answer, label, cpu: -1, text: '', at: -1 }); return; }
    const e = rec.events[fr[fi - 1]!.e];
    out.push({ i, answer, label, cpu: e === undefined ? -1 : e.cpu, text: e === undefined ? '' : fmt(e), at: fr[fi]!.e });
  });
  return out;
}

/**
 * NetBSD ps's lstate() letters (src/report/ps.ts) from a ps row: O R S I D
 * T U Z, then K for LW_SYSTEM and '-' for LPR_DETACHED.  `slept`: ticks
 * asleep, if known ('I' from MAXSLP_TICKS on).
 */
export function lstateOf(r: PsRow, slept: number | undefined, maxslp: number): string {
  let s: string;
  switch (r.stat) {
    case 'STOP': s = 'T'; break;
    case 'SLEEP': s = r.flags.includes('LW_SINTR') ? (slept !== undefined && slept >= maxslp ? 'I' : 'S') : 'D'; break;
    case 'RUN': case 'IDL': s = 'R'; break;
    case 'ONPROC': s = 'O'; break;
    case 'ZOMB': s = 'Z'; break;
    case 'SUSPENDED': s = 'U'; break;
  }
  if (r.flags.includes('LW_SYSTEM')) s += 'K';
  if (r.flags.includes('LPR_DETACHED')) s += '-';
  return s;
}

/** The 1.172 header's transition diagram: its edges, as from>to. */
export const EDGES_1172: readonly [StatName, StatName][] = [
  ['RUN', 'ONPROC'], ['ONPROC', 'RUN'], ['ONPROC', 'SLEEP'], ['ONPROC', 'STOP'], ['ONPROC', 'SUSPENDED'],
  ['ONPROC', 'ZOMB'], ['ONPROC', 'IDL'], ['STOP', 'RUN'], ['STOP', 'SLEEP'], ['SUSPENDED', 'RUN'],
  ['SLEEP', 'ONPROC'], ['SLEEP', 'RUN'], ['SLEEP', 'STOP'], ['IDL', 'RUN'], ['IDL', 'SUSPENDED'],
  ['IDL', 'STOP'], ['IDL', 'ONPROC'],
];
