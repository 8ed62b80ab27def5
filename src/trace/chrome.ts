/*
 * Chrome trace-event export: a recorded event stream as the JSON object
 * Perfetto (ui.perfetto.dev) and chrome://tracing open.
 *
 *   const events: KEvent[] = [];
 *   m.on((e) => events.push(e));
 *   const r = m.run();
 *   writeFileSync('out.json', JSON.stringify(toChromeTrace(events, { endTicks: r.ticks, deadlock: r.blocked })));
 *
 * Contract:
 *  - Time: tick t is t µs.  Events inside one tick are spread over
 *    [t, t+1) in emission order, at even multiples of 1/S µs (S a power of
 *    ten, at least 100 and at least twice the tick's event count), so two
 *    events never share a timestamp, nothing is zero-length, and a flow
 *    point placed at an odd multiple falls strictly inside a slice.  Every
 *    position is a whole number of nanoseconds.
 *  - Tracks: process "CPUs" (pid MACHINE_PID) holds one thread per CPU whose
 *    complete ('X') slices are the LWPs that ran there, from the 'switch' or
 *    'state ...->ONPROC' that put them there to the switch that took them
 *    off; an idle CPU has no slice.  An LWP that shows up on another CPU is
 *    first taken off the old one, so no LWP is on two CPUs and no CPU track
 *    has overlapping slices.  The same process holds an "interrupts" thread,
 *    with one short slice per wakeup done from interrupt context.
 *  - Every LWP (idle LWPs excepted) is a thread of its own process, with
 *    consecutive 'X' slices named by its state (args.why; args.wchan while
 *    SLEEP).  A zombie's slice ends when it is freed or its process reaped.
 *  - Each 'wakeup' is a flow: 's' inside the waker's current slice (or the
 *    interrupts track), 'f' with bp 'e' inside the wakee's next state slice.
 *  - Counters: "cpuN runnable" (MACHINE_PID) and "live LWPs" per process.
 *    Which run queue a runnable LWP is on is not in the stream: it is taken
 *    as the event's `runqCpu` if present, else the CPU the LWP last ran on,
 *    else the CPU of the event (0 for interrupt context).
 *  - Instants: 'panic' (global) at each panic event; 'deadlock' (global) at
 *    the end when opts.deadlock is non-empty, and 'blocked' on each blocked
 *    LWP's track; 'proc' events as process-scoped instants.
 *  - opts.waitFor (report/waitfor.ts): each entry's 'blocked' instant also
 *    says what it waits on and for whom, and whether it is in a cycle; each
 *    LWP -> LWP edge is a 'waits for' flow (cat 'waitfor') from the waiter's
 *    last state slice to the waited-for LWP's, both points at one time in
 *    the last stretch of the run that both slices cover, so the arrows
 *    stand together at the end like the graph; each cycle is a global
 *    'wait-for cycle' instant at the end.
 *  - Metadata ('M'): process_name, thread_name, sort indexes.
 * The result passes checkTrace (checkTrace.ts).
 */
import type { KEvent, StatName } from '../kern/events.ts';
import type { BlockedLwp } from '../report/view.ts';
import { cycleLabel, waitsFor, type WaitForGraph } from '../report/waitfor.ts';
import { cpusIn, idleCpuOf, lwpKey, Namer, TidMap, type TraceNames } from './common.ts';

/** The pid of the synthetic "CPUs" process. */
export const MACHINE_PID = 2_000_000;
/** Thread id of CPU i's track is CPU_TID_BASE + i; the interrupts track is CPU_TID_BASE - 1. */
export const CPU_TID_BASE = 2_100_000_000;
export const INTR_TID = CPU_TID_BASE - 1;

export interface ChromeTraceOptions {
  /** The LWPs of a deadlock (RunResult.blocked): marked at the end. */
  deadlock?: readonly BlockedLwp[];
  /** Virtual time at the end of the run (RunResult.ticks); default: the last event's tick. */
  endTicks?: number;
  /** Number of CPUs; default: inferred from the events. */
  ncpu?: number;
  /** Names the stream does not carry (see namesFromMachine). */
  names?: TraceNames;
  /** The wait-for graph at the end (report/waitfor.ts): drawn as flows and noted on 'blocked'. */
  waitFor?: WaitForGraph;
}

/** One trace event, as the Trace Event Format describes it. */
export interface TraceEvent {
  name: string;
  ph: string;
  ts?: number;
  dur?: number;
  pid: number;
  tid?: number;
  cat?: string;
  id?: number | string;
  bp?: 'e';
  s?: 'g' | 'p' | 't';
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms' | 'ns';
  otherData: Record<string, string | number>;
}

/** Timestamps: event i at an even sub-tick position, flow points at odd ones. */
class Clock {
  private readonly pos: number[] = [];
  private readonly scale: number[] = [];
  constructor(events: readonly KEvent[]) {
    const count = new Map<number, number>();
    for (const e of events) count.set(e.t, (count.get(e.t) ?? 0) + 1);
    const seen = new Map<number, number>();
    for (const e of events) {
      const k = seen.get(e.t) ?? 0;
      seen.set(e.t, k + 1);
      let s = 100;
      while (s < 2 * (count.get(e.t)! + 1)) s *= 10;
      this.pos.push(2 * k);
      this.scale.push(s);
    }
  }
  /** Timestamp (µs) of event i, plus `half` odd half-steps. */
  at(events: readonly KEvent[], i: number, half = 0): number {
    const s = this.scale[i]!;
    return (events[i]!.t * s + this.pos[i]! + half) / s;
  }
}

const round = (us: number): number => Math.round(us * 1e6) / 1e6;

interface Open { name: string; start: number; args: Record<string, unknown> }
interface OnCpu { pid: number; lid: number; start: number }
type Entry = WaitForGraph['entries'][number];

export function toChromeTrace(events: readonly KEvent[], opts: ChromeTraceOptions = {}): ChromeTrace {
  const b = new ChromeBuilder(events, opts);
  events.forEach((e, i) => b.event(e, i));
  b.endPendingFlows();
  b.markDeadlock(opts.deadlock);
  b.drawWaitFor();
  return b.finish();
}

/** The state of one export: open slices, counters and flows, and the events written so far. */
class ChromeBuilder {
  readonly ncpu: number;
  private readonly namer: Namer;
  private readonly tids = new TidMap();
  private readonly clock: Clock;
  private readonly out: TraceEvent[] = [];
  /** The end of the trace: the run's end if later than every event, else just after the last event. */
  readonly end: number;
  private readonly pids = new Set<number>();
  private readonly threads = new Map<string, { pid: number; lid: number }>();
  /* CPU tracks. */
  private readonly onCpu: (OnCpu | null)[];
  private readonly cpuOf = new Map<string, number>();   // LWP -> CPU it is on now
  private readonly lastCpu = new Map<string, number>(); // LWP -> CPU it last ran on
  /* LWP state tracks. */
  private readonly state = new Map<string, Open>();
  private readonly stat = new Map<string, StatName>();
  /* Counters. */
  private readonly runq = new Map<string, number>();   // runnable LWP -> CPU queue
  private readonly runnable: number[];
  private readonly live = new Map<number, Set<string>>();
  /* Flows. */
  private flowId = 0;
  private readonly pendingFlows = new Map<string, number[]>(); // wakee -> flow ids to end
  /* The wait-for graph, when drawn, and the LWPs marked blocked. */
  private readonly wf: WaitForGraph | undefined;
  private readonly marked = new Set<string>();

  constructor(private readonly events: readonly KEvent[], opts: ChromeTraceOptions) {
    this.ncpu = opts.ncpu ?? cpusIn(events);
    this.namer = new Namer(events, opts.names);
    this.wf = opts.waitFor;
    this.clock = new Clock(events);
    const lastT = events.length === 0 ? 0 : events[events.length - 1]!.t;
    this.end = opts.endTicks !== undefined && opts.endTicks > lastT
      ? opts.endTicks
      : events.length === 0 ? 0 : this.clock.at(events, events.length - 1, 2);
    this.onCpu = new Array(this.ncpu).fill(null);
    this.runnable = new Array(this.ncpu).fill(0);
    for (let c = 0; c < this.ncpu; c++) this.counter(`cpu${c} runnable`, MACHINE_PID, 0, { runnable: 0 });
  }

  private isIdle(pid: number, lid: number): boolean {
    return idleCpuOf(pid, lid, this.ncpu) >= 0;
  }

  /** The thread id of pid.lid, which gets a track of its own. */
  private thread(pid: number, lid: number): number {
    const key = lwpKey(pid, lid);
    if (!this.threads.has(key)) this.threads.set(key, { pid, lid });
    this.pids.add(pid);
    return this.tids.tid(pid, lid);
  }

  /* --- CPU tracks ------------------------------------------------------ */

  private closeCpu(c: number, ts: number): void {
    const cur = this.onCpu[c];
    if (cur === null || cur === undefined) return;
    this.onCpu[c] = null;
    this.cpuOf.delete(lwpKey(cur.pid, cur.lid));
    if (ts > cur.start) {
      this.out.push({ name: this.namer.label(cur.pid, cur.lid), ph: 'X', ts: cur.start, dur: ts - cur.start, pid: MACHINE_PID, tid: CPU_TID_BASE + c, cat: 'cpu', args: { pid: cur.pid, lid: cur.lid } });
    }
  }

  private putOnCpu(c: number, pid: number, lid: number, ts: number): void {
    if (c < 0 || c >= this.ncpu) return;
    const cur = this.onCpu[c];
    if (cur && cur.pid === pid && cur.lid === lid) return;
    this.closeCpu(c, ts);
    if (this.isIdle(pid, lid)) return;
    const key = lwpKey(pid, lid);
    const other = this.cpuOf.get(key);
    if (other !== undefined) this.closeCpu(other, ts); // migrated: off the old CPU first
    this.onCpu[c] = { pid, lid, start: ts };
    this.cpuOf.set(key, c);
    this.lastCpu.set(key, c);
  }

  /* --- LWP state tracks ------------------------------------------------ */

  private closeState(pid: number, lid: number, ts: number): void {
    const key = lwpKey(pid, lid);
    const cur = this.state.get(key);
    if (cur === undefined) return;
    this.state.delete(key);
    this.out.push({ name: cur.name, ph: 'X', ts: cur.start, dur: ts - cur.start, pid, tid: this.thread(pid, lid), cat: 'state', args: cur.args });
  }

  /* --- counters -------------------------------------------------------- */

  private counter(name: string, pid: number, ts: number, args: Record<string, number>): void {
    this.out.push({ name, ph: 'C', ts, pid, args });
  }

  private setRunq(key: string, q: number | undefined, ts: number): void {
    const old = this.runq.get(key);
    if (old === q) return;
    if (old !== undefined) {
      this.runq.delete(key);
      this.counter(`cpu${old} runnable`, MACHINE_PID, ts, { runnable: --this.runnable[old]! });
    }
    if (q !== undefined && q >= 0 && q < this.ncpu) {
      this.runq.set(key, q);
      this.counter(`cpu${q} runnable`, MACHINE_PID, ts, { runnable: ++this.runnable[q]! });
    }
  }

  private setLive(pid: number, key: string, alive: boolean, ts: number): void {
    let set = this.live.get(pid);
    if (set === undefined) this.live.set(pid, set = new Set());
    if (set.has(key) === alive) return;
    if (alive) set.add(key); else set.delete(key);
    this.counter('live LWPs', pid, ts, { lwps: set.size });
  }

  /* --- flows ----------------------------------------------------------- */

  private endFlow(pid: number, lid: number, id: number, ts: number): void {
    this.out.push({ name: 'wakeup', ph: 'f', bp: 'e', ts, pid, tid: this.thread(pid, lid), cat: 'wakeup', id });
  }

  /** Flows whose wakee never changed state again end inside its current slice. */
  endPendingFlows(): void {
    for (const [key, ids] of this.pendingFlows) {
      const [pid, lid] = key.split('.').map(Number) as [number, number];
      const open = this.state.get(key);
      if (open === undefined) continue;
      for (const id of ids) this.endFlow(pid, lid, id, (open.start + this.end) / 2);
    }
  }

  /* --- the events, one kind at a time ---------------------------------- */

  event(e: KEvent, i: number): void {
    const ts = this.clock.at(this.events, i);
    switch (e.type) {
      case 'switch': this.putOnCpu(e.cpu, e.toPid, e.toLid, ts); break;
      case 'state': this.onState(e, i, ts); break;
      case 'wakeup': this.onWakeup(e, i, ts); break;
      case 'free': this.onFree(e, ts); break;
      case 'proc': this.onProc(e, ts); break;
      case 'kse': this.onKse(e, ts); break;
      case 'panic': this.onPanic(e, ts); break;
      default: break;
    }
  }

  private onState(e: KEvent & { type: 'state' }, i: number, ts: number): void {
    if (this.isIdle(e.pid, e.lid)) return;
    const key = lwpKey(e.pid, e.lid);
    this.closeState(e.pid, e.lid, ts);
    this.thread(e.pid, e.lid);
    const args: Record<string, unknown> = { why: e.why };
    if (e.to === 'SLEEP' && e.wchan !== undefined) args.wchan = e.wchan;
    this.state.set(key, { name: e.to, start: ts, args });
    this.stat.set(key, e.to);
    if (e.to === 'ONPROC') this.putOnCpu(e.cpu, e.pid, e.lid, ts);
    this.setRunq(key, e.to === 'RUN' ? this.queueOf(e, key) : undefined, ts);
    this.setLive(e.pid, key, e.to !== 'ZOMB', ts);
    // A wakeup's flow ends inside the wakee's new slice.
    const flows = this.pendingFlows.get(key);
    if (flows !== undefined) {
      this.pendingFlows.delete(key);
      for (const id of flows) this.endFlow(e.pid, e.lid, id, this.clock.at(this.events, i, 1));
    }
  }

  /** The run queue an LWP made runnable joins: the event's runqCpu, else where it last ran, else the event's CPU. */
  private queueOf(e: KEvent & { type: 'state' }, key: string): number {
    const hint = (e as { runqCpu?: unknown }).runqCpu;
    return typeof hint === 'number' ? hint : this.lastCpu.get(key) ?? (e.cpu >= 0 ? e.cpu : 0);
  }

  private onWakeup(e: KEvent & { type: 'wakeup' }, i: number, ts: number): void {
    const id = ++this.flowId;
    const mid = this.clock.at(this.events, i, 1);
    const waker = lwpKey(e.wakerPid, e.wakerLid);
    if (e.wakerPid >= 0 && this.state.has(waker)) {
      this.out.push({ name: 'wakeup', ph: 's', ts: mid, pid: e.wakerPid, tid: this.thread(e.wakerPid, e.wakerLid), cat: 'wakeup', id });
    } else {
      this.out.push({ name: e.wakerPid >= 0 ? `wakeup by ${e.wakerPid}.${e.wakerLid}` : 'interrupt', ph: 'X', ts, dur: this.clock.at(this.events, i, 2) - ts, pid: MACHINE_PID, tid: INTR_TID, cat: 'interrupt', args: { wakee: `${e.pid}.${e.lid}` } });
      this.out.push({ name: 'wakeup', ph: 's', ts: mid, pid: MACHINE_PID, tid: INTR_TID, cat: 'wakeup', id });
    }
    const key = lwpKey(e.pid, e.lid);
    const list = this.pendingFlows.get(key) ?? [];
    list.push(id);
    this.pendingFlows.set(key, list);
  }

  private onFree(e: KEvent & { type: 'free' }, ts: number): void {
    const fp = (e as { freedPid?: unknown }).freedPid;
    const pid = typeof fp === 'number' ? fp : e.pid;
    // Without freedPid, e.pid is the freeing LWP's process: only trust it for a zombie.
    if (this.stat.get(lwpKey(pid, e.freedLid)) === 'ZOMB') this.closeState(pid, e.freedLid, ts);
  }

  private onProc(e: KEvent & { type: 'proc' }, ts: number): void {
    if (e.what === 'reap') {
      const m = /^pid (\d+)/.exec(e.detail);
      if (m === null) return;
      const pid = Number(m[1]);
      for (const t of this.threads.values()) if (t.pid === pid) this.closeState(t.pid, t.lid, ts);
    } else if (e.pid >= 0 && !this.isIdle(e.pid, e.lid)) {
      this.out.push({ name: `proc ${e.what}`, ph: 'i', s: 'p', ts, pid: e.pid, tid: this.thread(e.pid, e.lid), cat: 'proc', args: { detail: e.detail } });
    }
  }

  /** KSE upcalls, loans and reassignments, as instant events on the thread concerned. */
  private onKse(e: KEvent & { type: 'kse' }, ts: number): void {
    if (e.pid < 0 || this.isIdle(e.pid, e.lid)) return;
    this.out.push({ name: `kse ${e.what}`, ph: 'i', s: 't', ts, pid: e.pid, tid: this.thread(e.pid, e.lid), cat: 'kse', args: { kse: `${e.kg}.${e.kse}`, detail: e.detail } });
  }

  private onPanic(e: KEvent & { type: 'panic' }, ts: number): void {
    this.out.push({ name: 'panic', ph: 'i', s: 'g', ts, pid: MACHINE_PID, tid: e.cpu >= 0 ? CPU_TID_BASE + e.cpu : INTR_TID, cat: 'panic', args: { message: e.message, cpu: e.cpu, lwp: `${e.pid}.${e.lid}` } });
  }

  /* --- the end: deadlock and the wait-for graph ------------------------ */

  private entryOf(pid: number, lid: number): Entry | undefined {
    return this.wf?.entries.find((x) => x.pid === pid && x.lid === lid);
  }

  private waitArgs(pid: number, lid: number): Record<string, unknown> {
    const w = this.entryOf(pid, lid);
    return w === undefined ? {} : { on: w.on, how: w.how, waitsFor: waitsFor(w), stuck: w.stuck, cycle: w.cycle >= 0 ? w.cycle + 1 : 0 };
  }

  /** A global 'deadlock' instant at the end, and 'blocked' on each blocked LWP. */
  markDeadlock(deadlock: readonly BlockedLwp[] | undefined): void {
    if (deadlock === undefined || deadlock.length === 0) return;
    const what = deadlock.map((b) => `${b.pid}.${b.lid} ${b.stat} ${b.wchan}`.trimEnd()).join(', ');
    this.out.push({ name: 'deadlock', ph: 'i', s: 'g', ts: this.end, pid: MACHINE_PID, tid: INTR_TID, cat: 'deadlock', args: { blocked: what } });
    for (const b of deadlock) {
      this.marked.add(lwpKey(b.pid, b.lid));
      this.out.push({ name: 'blocked', ph: 'i', s: 't', ts: this.end, pid: b.pid, tid: this.thread(b.pid, b.lid), cat: 'deadlock', args: { stat: b.stat, wchan: b.wchan, ...this.waitArgs(b.pid, b.lid) } });
    }
  }

  /** Each waiter's 'blocked' instant, each cycle's instant, and each LWP -> LWP edge as a flow. */
  drawWaitFor(): void {
    const wf = this.wf;
    if (wf === undefined) return;
    for (const w of wf.entries) {
      if (this.marked.has(lwpKey(w.pid, w.lid))) continue;
      this.out.push({ name: 'blocked', ph: 'i', s: 't', ts: this.end, pid: w.pid, tid: this.thread(w.pid, w.lid), cat: 'deadlock', args: { stat: w.stat, wchan: w.on, ...this.waitArgs(w.pid, w.lid) } });
    }
    wf.cycles.forEach((c, i) => {
      this.out.push({ name: 'wait-for cycle', ph: 'i', s: 'g', ts: this.end, pid: MACHINE_PID, tid: INTR_TID, cat: 'deadlock', args: { cycle: i + 1, lwps: cycleLabel(c) } });
    });
    this.waitForFlows(wf);
  }

  /**
   * Flows need a slice at each end: only LWPs with a state slice still
   * open.  All at one time, inside every slice involved.
   */
  private waitForFlows(wf: WaitForGraph): void {
    const edges: { w: Entry; pid: number; lid: number }[] = [];
    let latest = 0;
    for (const w of wf.entries) {
      const from = this.state.get(lwpKey(w.pid, w.lid));
      if (from === undefined) continue;
      for (const t of w.targets) {
        if (t.kind !== 'lwp') continue;
        const to = this.state.get(lwpKey(t.pid, t.lid));
        if (to === undefined) continue;
        edges.push({ w, pid: t.pid, lid: t.lid });
        latest = Math.max(latest, from.start, to.start);
      }
    }
    const ts = (latest + this.end) / 2;
    edges.forEach(({ w, pid, lid }, i) => {
      const args = { how: w.how, cycle: w.cycle >= 0 && this.entryOf(pid, lid)?.cycle === w.cycle };
      this.out.push({ name: 'waits for', ph: 's', ts, pid: w.pid, tid: this.thread(w.pid, w.lid), cat: 'waitfor', id: i + 1, args });
      this.out.push({ name: 'waits for', ph: 'f', bp: 'e', ts, pid, tid: this.thread(pid, lid), cat: 'waitfor', id: i + 1, args });
    });
  }

  /* --- the file -------------------------------------------------------- */

  /** Close every open slice, and lay the file out: metadata first, then everything by time. */
  finish(): ChromeTrace {
    for (let c = 0; c < this.ncpu; c++) this.closeCpu(c, this.end);
    for (const t of [...this.threads.values()]) this.closeState(t.pid, t.lid, this.end);
    const meta = this.metadata();
    roundTimes(this.out);
    // Stable: emission order breaks ties.
    const timed = this.out.map((ev, k) => ({ ev, k })).sort((a, b) => a.ev.ts! - b.ev.ts! || a.k - b.k).map((x) => x.ev);
    return {
      traceEvents: [...meta, ...timed],
      displayTimeUnit: 'ns',
      otherData: { generator: 'lwpkit', clock: '1 tick = 1 us; events within a tick are spread over it in order', ncpu: this.ncpu },
    };
  }

  /** process_name, thread_name and the sort indexes: the CPUs first, then each process and LWP. */
  private metadata(): TraceEvent[] {
    const ncpu = this.ncpu;
    const meta: TraceEvent[] = [
      { name: 'process_name', ph: 'M', pid: MACHINE_PID, args: { name: 'CPUs' } },
      { name: 'process_sort_index', ph: 'M', pid: MACHINE_PID, args: { sort_index: -1 } },
      { name: 'thread_name', ph: 'M', pid: MACHINE_PID, tid: INTR_TID, args: { name: 'interrupts' } },
      { name: 'thread_sort_index', ph: 'M', pid: MACHINE_PID, tid: INTR_TID, args: { sort_index: ncpu } },
    ];
    for (let c = 0; c < ncpu; c++) {
      meta.push({ name: 'thread_name', ph: 'M', pid: MACHINE_PID, tid: CPU_TID_BASE + c, args: { name: `cpu${c}` } });
      meta.push({ name: 'thread_sort_index', ph: 'M', pid: MACHINE_PID, tid: CPU_TID_BASE + c, args: { sort_index: c } });
    }
    for (const pid of [...this.pids].sort((a, b) => a - b)) {
      meta.push({ name: 'process_name', ph: 'M', pid, args: { name: this.namer.proc(pid) } });
    }
    for (const t of this.threads.values()) {
      const tid = this.tids.tid(t.pid, t.lid);
      meta.push({ name: 'thread_name', ph: 'M', pid: t.pid, tid, args: { name: `${this.namer.lwp(t.pid, t.lid) ?? 'lwp'} ${t.lid}` } });
      meta.push({ name: 'thread_sort_index', ph: 'M', pid: t.pid, tid, args: { sort_index: t.lid } });
    }
    return meta;
  }
}

/** Round times to the picosecond: no float noise like 7.9399999999999995 in the file. */
function roundTimes(out: TraceEvent[]): void {
  for (const ev of out) {
    if (ev.dur !== undefined) ev.dur = round(ev.ts! + ev.dur) - round(ev.ts!);
    if (ev.dur !== undefined) ev.dur = round(ev.dur);
    ev.ts = round(ev.ts!);
  }
}
