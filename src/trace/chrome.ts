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
import type { BlockedLwp } from '../machine.ts';
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

export function toChromeTrace(events: readonly KEvent[], opts: ChromeTraceOptions = {}): ChromeTrace {
  const ncpu = opts.ncpu ?? cpusIn(events);
  const namer = new Namer(events, opts.names);
  const tids = new TidMap();
  const clock = new Clock(events);
  const out: TraceEvent[] = [];
  const lastT = events.length === 0 ? 0 : events[events.length - 1]!.t;
  // The end: the run's end if later than every event, else just after the last event.
  const end = opts.endTicks !== undefined && opts.endTicks > lastT
    ? opts.endTicks
    : events.length === 0 ? 0 : clock.at(events, events.length - 1, 2);

  const pids = new Set<number>();
  const threads = new Map<string, { pid: number; lid: number }>();
  const isIdle = (pid: number, lid: number) => idleCpuOf(pid, lid, ncpu) >= 0;
  const thread = (pid: number, lid: number): number => {
    const key = lwpKey(pid, lid);
    if (!threads.has(key)) threads.set(key, { pid, lid });
    pids.add(pid);
    return tids.tid(pid, lid);
  };

  // --- CPU tracks --------------------------------------------------------
  const onCpu: (OnCpu | null)[] = new Array(ncpu).fill(null);
  const cpuOf = new Map<string, number>();   // LWP -> CPU it is on now
  const lastCpu = new Map<string, number>(); // LWP -> CPU it last ran on
  const closeCpu = (c: number, ts: number) => {
    const cur = onCpu[c];
    if (cur === null || cur === undefined) return;
    onCpu[c] = null;
    cpuOf.delete(lwpKey(cur.pid, cur.lid));
    if (ts > cur.start) {
      out.push({ name: namer.label(cur.pid, cur.lid), ph: 'X', ts: cur.start, dur: ts - cur.start, pid: MACHINE_PID, tid: CPU_TID_BASE + c, cat: 'cpu', args: { pid: cur.pid, lid: cur.lid } });
    }
  };
  const putOnCpu = (c: number, pid: number, lid: number, ts: number) => {
    if (c < 0 || c >= ncpu) return;
    const cur = onCpu[c];
    if (cur && cur.pid === pid && cur.lid === lid) return;
    closeCpu(c, ts);
    if (isIdle(pid, lid)) return;
    const key = lwpKey(pid, lid);
    const other = cpuOf.get(key);
    if (other !== undefined) closeCpu(other, ts); // migrated: off the old CPU first
    onCpu[c] = { pid, lid, start: ts };
    cpuOf.set(key, c);
    lastCpu.set(key, c);
  };

  // --- LWP state tracks --------------------------------------------------
  const state = new Map<string, Open>();
  const stat = new Map<string, StatName>();
  const closeState = (pid: number, lid: number, ts: number) => {
    const key = lwpKey(pid, lid);
    const cur = state.get(key);
    if (cur === undefined) return;
    state.delete(key);
    out.push({ name: cur.name, ph: 'X', ts: cur.start, dur: ts - cur.start, pid, tid: thread(pid, lid), cat: 'state', args: cur.args });
  };

  // --- counters -----------------------------------------------------------
  const runq = new Map<string, number>();   // runnable LWP -> CPU queue
  const runnable: number[] = new Array(ncpu).fill(0);
  const live = new Map<number, Set<string>>();
  const counter = (name: string, pid: number, ts: number, args: Record<string, number>) =>
    out.push({ name, ph: 'C', ts, pid, args });
  const setRunq = (key: string, q: number | undefined, ts: number) => {
    const old = runq.get(key);
    if (old === q) return;
    if (old !== undefined) {
      runq.delete(key);
      counter(`cpu${old} runnable`, MACHINE_PID, ts, { runnable: --runnable[old]! });
    }
    if (q !== undefined && q >= 0 && q < ncpu) {
      runq.set(key, q);
      counter(`cpu${q} runnable`, MACHINE_PID, ts, { runnable: ++runnable[q]! });
    }
  };
  const setLive = (pid: number, key: string, alive: boolean, ts: number) => {
    let set = live.get(pid);
    if (set === undefined) live.set(pid, set = new Set());
    if (set.has(key) === alive) return;
    if (alive) set.add(key); else set.delete(key);
    counter('live LWPs', pid, ts, { lwps: set.size });
  };
  for (let c = 0; c < ncpu; c++) counter(`cpu${c} runnable`, MACHINE_PID, 0, { runnable: 0 });

  // --- flows ---------------------------------------------------------------
  let flowId = 0;
  const pendingFlows = new Map<string, number[]>(); // wakee -> flow ids to end
  const endFlow = (pid: number, lid: number, id: number, ts: number) =>
    out.push({ name: 'wakeup', ph: 'f', bp: 'e', ts, pid, tid: thread(pid, lid), cat: 'wakeup', id });

  events.forEach((e, i) => {
    const ts = clock.at(events, i);
    switch (e.type) {
      case 'switch':
        putOnCpu(e.cpu, e.toPid, e.toLid, ts);
        break;
      case 'state': {
        if (isIdle(e.pid, e.lid)) break;
        const key = lwpKey(e.pid, e.lid);
        closeState(e.pid, e.lid, ts);
        thread(e.pid, e.lid);
        const args: Record<string, unknown> = { why: e.why };
        if (e.to === 'SLEEP' && e.wchan !== undefined) args.wchan = e.wchan;
        state.set(key, { name: e.to, start: ts, args });
        stat.set(key, e.to);
        if (e.to === 'ONPROC') putOnCpu(e.cpu, e.pid, e.lid, ts);
        // Run-queue counters.
        if (e.to === 'RUN') {
          const hint = (e as { runqCpu?: unknown }).runqCpu;
          const q = typeof hint === 'number' ? hint : lastCpu.get(key) ?? (e.cpu >= 0 ? e.cpu : 0);
          setRunq(key, q, ts);
        } else setRunq(key, undefined, ts);
        setLive(e.pid, key, e.to !== 'ZOMB', ts);
        // A wakeup's flow ends inside the wakee's new slice.
        const flows = pendingFlows.get(key);
        if (flows !== undefined) {
          pendingFlows.delete(key);
          for (const id of flows) endFlow(e.pid, e.lid, id, clock.at(events, i, 1));
        }
        break;
      }
      case 'wakeup': {
        const id = ++flowId;
        const mid = clock.at(events, i, 1);
        const waker = lwpKey(e.wakerPid, e.wakerLid);
        if (e.wakerPid >= 0 && state.has(waker)) {
          out.push({ name: 'wakeup', ph: 's', ts: mid, pid: e.wakerPid, tid: thread(e.wakerPid, e.wakerLid), cat: 'wakeup', id });
        } else {
          out.push({ name: e.wakerPid >= 0 ? `wakeup by ${e.wakerPid}.${e.wakerLid}` : 'interrupt', ph: 'X', ts, dur: clock.at(events, i, 2) - ts, pid: MACHINE_PID, tid: INTR_TID, cat: 'interrupt', args: { wakee: `${e.pid}.${e.lid}` } });
          out.push({ name: 'wakeup', ph: 's', ts: mid, pid: MACHINE_PID, tid: INTR_TID, cat: 'wakeup', id });
        }
        const key = lwpKey(e.pid, e.lid);
        const list = pendingFlows.get(key) ?? [];
        list.push(id);
        pendingFlows.set(key, list);
        break;
      }
      case 'free': {
        const fp = (e as { freedPid?: unknown }).freedPid;
        const pid = typeof fp === 'number' ? fp : e.pid;
        // Without freedPid, e.pid is the freeing LWP's process: only trust it for a zombie.
        if (stat.get(lwpKey(pid, e.freedLid)) === 'ZOMB') closeState(pid, e.freedLid, ts);
        break;
      }
      case 'proc': {
        if (e.what === 'reap') {
          const m = /^pid (\d+)/.exec(e.detail);
          if (m !== null) {
            const pid = Number(m[1]);
            for (const t of threads.values()) if (t.pid === pid) closeState(t.pid, t.lid, ts);
          }
        } else if (e.pid >= 0 && !isIdle(e.pid, e.lid)) {
          out.push({ name: `proc ${e.what}`, ph: 'i', s: 'p', ts, pid: e.pid, tid: thread(e.pid, e.lid), cat: 'proc', args: { detail: e.detail } });
        }
        break;
      }
      case 'kse':
        // KSE upcalls, loans and reassignments, as instant events on the thread concerned.
        if (e.pid >= 0 && !isIdle(e.pid, e.lid)) {
          out.push({ name: `kse ${e.what}`, ph: 'i', s: 't', ts, pid: e.pid, tid: thread(e.pid, e.lid), cat: 'kse', args: { kse: `${e.kg}.${e.kse}`, detail: e.detail } });
        }
        break;
      case 'panic':
        out.push({ name: 'panic', ph: 'i', s: 'g', ts, pid: MACHINE_PID, tid: e.cpu >= 0 ? CPU_TID_BASE + e.cpu : INTR_TID, cat: 'panic', args: { message: e.message, cpu: e.cpu, lwp: `${e.pid}.${e.lid}` } });
        break;
      default:
        break;
    }
  });

  // Flows whose wakee never changed state again end inside its current slice.
  for (const [key, ids] of pendingFlows) {
    const [pid, lid] = key.split('.').map(Number) as [number, number];
    const open = state.get(key);
    if (open === undefined) continue;
    for (const id of ids) endFlow(pid, lid, id, (open.start + end) / 2);
  }

  const wf = opts.waitFor;
  const entryOf = (pid: number, lid: number) => wf?.entries.find((x) => x.pid === pid && x.lid === lid);
  const waitArgs = (pid: number, lid: number): Record<string, unknown> => {
    const w = entryOf(pid, lid);
    return w === undefined ? {} : { on: w.on, how: w.how, waitsFor: waitsFor(w), stuck: w.stuck, cycle: w.cycle >= 0 ? w.cycle + 1 : 0 };
  };
  const marked = new Set<string>();
  if (opts.deadlock !== undefined && opts.deadlock.length > 0) {
    const what = opts.deadlock.map((b) => `${b.pid}.${b.lid} ${b.stat} ${b.wchan}`.trimEnd()).join(', ');
    out.push({ name: 'deadlock', ph: 'i', s: 'g', ts: end, pid: MACHINE_PID, tid: INTR_TID, cat: 'deadlock', args: { blocked: what } });
    for (const b of opts.deadlock) {
      marked.add(lwpKey(b.pid, b.lid));
      out.push({ name: 'blocked', ph: 'i', s: 't', ts: end, pid: b.pid, tid: thread(b.pid, b.lid), cat: 'deadlock', args: { stat: b.stat, wchan: b.wchan, ...waitArgs(b.pid, b.lid) } });
    }
  }
  if (wf !== undefined) {
    for (const w of wf.entries) {
      if (marked.has(lwpKey(w.pid, w.lid))) continue;
      out.push({ name: 'blocked', ph: 'i', s: 't', ts: end, pid: w.pid, tid: thread(w.pid, w.lid), cat: 'deadlock', args: { stat: w.stat, wchan: w.on, ...waitArgs(w.pid, w.lid) } });
    }
    wf.cycles.forEach((c, i) => {
      out.push({ name: 'wait-for cycle', ph: 'i', s: 'g', ts: end, pid: MACHINE_PID, tid: INTR_TID, cat: 'deadlock', args: { cycle: i + 1, lwps: cycleLabel(c) } });
    });
    // Flows need a slice at each end: only LWPs with a state slice still
    // open.  All at one time, inside every slice involved.
    const edges: { w: typeof wf.entries[number]; pid: number; lid: number }[] = [];
    let latest = 0;
    for (const w of wf.entries) {
      const from = state.get(lwpKey(w.pid, w.lid));
      if (from === undefined) continue;
      for (const t of w.targets) {
        if (t.kind !== 'lwp') continue;
        const to = state.get(lwpKey(t.pid, t.lid));
        if (to === undefined) continue;
        edges.push({ w, pid: t.pid, lid: t.lid });
        latest = Math.max(latest, from.start, to.start);
      }
    }
    const ts = (latest + end) / 2;
    edges.forEach(({ w, pid, lid }, i) => {
      const args = { how: w.how, cycle: w.cycle >= 0 && entryOf(pid, lid)?.cycle === w.cycle };
      out.push({ name: 'waits for', ph: 's', ts, pid: w.pid, tid: thread(w.pid, w.lid), cat: 'waitfor', id: i + 1, args });
      out.push({ name: 'waits for', ph: 'f', bp: 'e', ts, pid, tid: thread(pid, lid), cat: 'waitfor', id: i + 1, args });
    });
  }

  for (let c = 0; c < ncpu; c++) closeCpu(c, end);
  for (const t of [...threads.values()]) closeState(t.pid, t.lid, end);

  // Metadata first, then everything by time (stable: emission order breaks ties).
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
  for (const pid of [...pids].sort((a, b) => a - b)) {
    meta.push({ name: 'process_name', ph: 'M', pid, args: { name: namer.proc(pid) } });
  }
  for (const t of threads.values()) {
    const tid = tids.tid(t.pid, t.lid);
    meta.push({ name: 'thread_name', ph: 'M', pid: t.pid, tid, args: { name: `${namer.lwp(t.pid, t.lid) ?? 'lwp'} ${t.lid}` } });
    meta.push({ name: 'thread_sort_index', ph: 'M', pid: t.pid, tid, args: { sort_index: t.lid } });
  }
  // Round times to the picosecond: no float noise like 7.9399999999999995 in the file.
  for (const ev of out) {
    if (ev.dur !== undefined) ev.dur = round(ev.ts! + ev.dur) - round(ev.ts!);
    if (ev.dur !== undefined) ev.dur = round(ev.dur);
    ev.ts = round(ev.ts!);
  }
  const timed = out.map((ev, k) => ({ ev, k })).sort((a, b) => a.ev.ts! - b.ev.ts! || a.k - b.k).map((x) => x.ev);
  return {
    traceEvents: [...meta, ...timed],
    displayTimeUnit: 'ns',
    otherData: { generator: 'lwpkit', clock: '1 tick = 1 us; events within a tick are spread over it in order', ncpu },
  };
}
