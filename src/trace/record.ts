/*
 * Recordings: a run as one JSON document, for the viewer (src/web) and for
 * anyone who wants the whole run as data.  `lwpkit run --record out.json`
 * writes one; `lwpkit view out.json` shows it.
 *
 *   const r = new Recorder(m);          // before m.spawn, to keep the spawn events
 *   m.spawn(main);
 *   const { rec } = r.run({ program: 'cycle', maxTicks: 1e6 });
 *   writeFileSync('out.json', JSON.stringify(rec));
 *
 * The format, version 1 (format: 'lwpkit-recording'):
 *  - meta: the run's options and outcome (ncpu, seed, personality, ticks,
 *    steps, outcome, and the panic message for a panic).
 *  - events: every KEvent the kernel emitted, in order (src/kern/events.ts).
 *    "Cursor c" means: the first c events have happened.
 *  - frames: the first look, then one per engine step that emitted events.
 *    A frame says what `m.ps()` and the held locks were right after engine
 *    step `s`, when `e` events had been emitted and the clock read `t`:
 *      k  the whole m.ps() (a keyframe: the first frame, then whenever
 *         the deltas since the last one reach KEYFRAME_ROWS times its
 *         rows, or after KEYFRAME_FRAMES frames), or
 *      d  the rows that changed since the previous frame, and
 *      g  the "pid.lid" keys of rows that went away;
 *      locks  the held kernel mutexes, present only when they changed;
 *      c  the chooser answers given so far (when choices are recorded),
 *         which places each answer of `choices` or `schedule` on a step.
 *    The ps table at step s is the last keyframe at or before it with the
 *    later frames' d and g applied; it equals m.ps() of the same machine
 *    run with maxSteps = s (test/web.test.ts checks that).
 *  - names: process names by pid, and LWP names by "pid.lid" (the first
 *    name each had in the frames).
 *  - blocked and waitFor: for a deadlock, the LWPs that can never run and
 *    the wait-for graph (src/report/waitfor.ts) at the end.
 *  - choices: every answer the chooser gave, in order: with the same
 *    program and options a ReplayChooser on them gives the same run.
 *  - schedule (optional): an attached schedule, e.g. a failing one from an
 *    explorer: its source, its answers and per-answer labels.  The viewer
 *    shows it beside the lanes when present.
 *
 * Contract: Recorder.run runs m step by step (Machine.run resumed with one
 * more step each time, which gives the same run as one call) and reads the
 * machine only between steps.  It keeps the events from its construction; m must
 * have been built with { record: true } to fill `choices`, else it is [].
 */
import type { KEvent } from '../kern/events.ts';
import type { KMutex } from '../kern/h/mutex.ts';
import type { Machine, Outcome, PsRow, RunResult, BlockedLwp } from '../machine.ts';
import { allLocks, ownerLabel } from '../report/common.ts';
import { waitForGraph, type WaitForGraph } from '../report/waitfor.ts';

export const RECORDING_FORMAT = 'lwpkit-recording';
export const RECORDING_VERSION = 1;
/** A keyframe once the deltas since the last one hold this many times its rows... */
export const KEYFRAME_ROWS = 2;
/** ...or after this many frames. */
export const KEYFRAME_FRAMES = 1024;

export interface LockRow {
  name: string;
  /** "lwp 1.2 (name)", "interrupt context". */
  owner: string;
  /** CPUs spinning on it. */
  spinners: number[];
}

export interface Frame {
  /** Engine steps taken. */
  s: number;
  /** Events emitted so far. */
  e: number;
  /** Virtual time. */
  t: number;
  /** Chooser answers given so far (with { record: true }). */
  c?: number;
  k?: PsRow[];
  d?: PsRow[];
  g?: string[];
  locks?: LockRow[];
}

export interface Schedule {
  /** Where it came from: 'lwpkit explore', a file name, ... */
  source: string;
  /** The chooser's answers, in order. */
  choices: number[];
  /** Optional label per answer (what that step did). */
  labels?: string[];
}

export interface RecordingMeta {
  program: string;
  ncpu: number;
  seed: number;
  personality: string;
  ticks: number;
  steps: number;
  outcome: Outcome;
  panic?: string;
}

export interface Recording {
  format: typeof RECORDING_FORMAT;
  version: typeof RECORDING_VERSION;
  meta: RecordingMeta;
  names: { procs: Record<string, string>; lwps: Record<string, string> };
  events: KEvent[];
  frames: Frame[];
  blocked?: BlockedLwp[];
  waitFor?: WaitForGraph;
  choices: number[];
  schedule?: Schedule;
}

export interface RecordOptions {
  program: string;
  seed?: number;
  personality?: string;
  maxTicks?: number;
  maxSteps?: number;
}

const rowKey = (r: PsRow): string => `${r.pid}.${r.lid}`;
const rowSig = (r: PsRow): string => `${r.stat}|${r.cpu}|${r.pri}|${r.wchan}|${r.name}|${r.flags.join(',')}`;

/** Held kernel mutexes and the CPUs spinning on them, by name (`locks`: allLocks(m), or a copy still current). */
export function heldLocks(m: Machine, locks: ReadonlyMap<string, KMutex> = allLocks(m)): LockRow[] {
  const spin = m.engine.spinning();
  const out: LockRow[] = [];
  for (const [name, mx] of locks) {
    if (mx.owner === null) continue;
    out.push({ name, owner: ownerLabel(mx.owner), spinners: spin.filter((s) => s.what === name).map((s) => s.cpu) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function choicesSoFar(m: Machine): number | undefined {
  try { return m.choices.length; } catch { return undefined; }
}

/** Builds frames from successive looks at a machine. */
export class FrameWriter {
  readonly frames: Frame[] = [];
  private prev = new Map<string, string>();
  private prevLocks = '[]';
  private framesSinceKey = 0;
  private rowsSinceKey = 0;
  /** allLocks(m), found again whenever an LWP or process comes or goes. */
  private lockSet: Map<string, KMutex> | null = null;

  /**
   * Look at m after a step; adds a frame if events were emitted since the
   * last frame (or, for the first look, always).  Steps without events are
   * skipped: the viewer's cursor moves by events.
   */
  look(m: Machine, events: number): void {
    const last = this.frames[this.frames.length - 1];
    if (last !== undefined && last.e === events) return;
    const rows = m.ps();
    const now = new Map<string, string>();
    const d: PsRow[] = [];
    let born = false;
    for (const r of rows) {
      const k = rowKey(r);
      const sig = rowSig(r);
      now.set(k, sig);
      const was = this.prev.get(k);
      if (was === undefined) born = true;
      if (was !== sig) d.push(r);
    }
    const g = [...this.prev.keys()].filter((k) => !now.has(k));
    if (this.lockSet === null || born || g.length > 0) this.lockSet = allLocks(m);
    const locks = heldLocks(m, this.lockSet);
    const lockSig = JSON.stringify(locks);
    const f: Frame = { s: m.engine.steps, e: events, t: m.now };
    const c = choicesSoFar(m);
    if (c !== undefined) f.c = c;
    if (last === undefined || this.framesSinceKey >= KEYFRAME_FRAMES || this.rowsSinceKey >= KEYFRAME_ROWS * rows.length) {
      f.k = rows;
      this.framesSinceKey = 0;
      this.rowsSinceKey = 0;
    } else {
      if (d.length > 0) f.d = d;
      if (g.length > 0) f.g = g;
      this.framesSinceKey++;
      this.rowsSinceKey += d.length + g.length;
    }
    if (lockSig !== this.prevLocks || last === undefined) f.locks = locks;
    this.prev = now;
    this.prevLocks = lockSig;
    this.frames.push(f);
  }
}

/**
 * Records machine m from now on: build it before spawning the programs, so
 * that their spawn events are kept, then run().
 */
export class Recorder {
  readonly events: KEvent[] = [];
  private readonly off: () => void;
  constructor(readonly m: Machine) {
    this.off = m.on((e) => this.events.push(e));
  }

  /** Run m to its end (or opts' limits), recording it; with the run's result. */
  run(opts: RecordOptions): { rec: Recording; result: RunResult } {
    const m = this.m;
    const events = this.events;
    const w = new FrameWriter();
    const maxTicks = opts.maxTicks ?? 1_000_000;
    const maxSteps = opts.maxSteps ?? 10_000_000;
    let r: RunResult;
    try {
      w.look(m, events.length);
      for (;;) {
        const budget = Math.min(m.engine.steps + 1, maxSteps);
        r = m.run({ maxTicks, maxSteps: budget });
        w.look(m, events.length);
        if (r.outcome !== 'limit' || m.engine.steps < budget || budget >= maxSteps) break;
      }
    } finally {
      this.off();
    }
    return { rec: finishRecording(m, r, events, w.frames, opts), result: r };
  }
}

/** The Recording of a run that has ended with r. */
export function finishRecording(m: Machine, r: RunResult, events: KEvent[], frames: Frame[], opts: RecordOptions): Recording {
  const procs: Record<string, string> = {};
  const lwps: Record<string, string> = {};
  for (const p of m.procs()) procs[String(p.pid)] = p.name;
  // The first name seen: an exiting LWP is renamed "(zombie)".
  for (const f of frames) for (const row of f.k ?? f.d ?? []) if (row.name !== '' && lwps[rowKey(row)] === undefined) lwps[rowKey(row)] = row.name;
  let choices: number[] = [];
  try { choices = [...m.choices]; } catch { /* not recorded */ }
  const rec: Recording = {
    format: RECORDING_FORMAT,
    version: RECORDING_VERSION,
    meta: {
      program: opts.program, ncpu: m.ncpu, seed: opts.seed ?? 1, personality: opts.personality ?? 'netbsd-6',
      ticks: r.ticks, steps: r.steps, outcome: r.outcome,
    },
    names: { procs, lwps },
    events,
    frames,
    choices,
  };
  if (r.panic !== undefined) rec.meta.panic = r.panic.message;
  if (r.outcome === 'deadlock') {
    rec.blocked = r.blocked;
    rec.waitFor = waitForGraph(m);
  }
  return rec;
}

/** Check the shape of a parsed recording; returns an error message or null. */
export function checkRecording(x: unknown): string | null {
  if (typeof x !== 'object' || x === null) return 'not a JSON object';
  const o = x as Partial<Recording>;
  if (o.format !== RECORDING_FORMAT) return `not an lwpkit recording (format is ${JSON.stringify(o.format)})`;
  if (o.version !== RECORDING_VERSION) return `recording version ${String(o.version)} is not supported (this lwpkit reads ${RECORDING_VERSION})`;
  if (!Array.isArray(o.events) || !Array.isArray(o.frames) || typeof o.meta !== 'object' || o.meta === null) return 'recording lacks events, frames or meta';
  if (o.frames.length === 0 || o.frames[0]!.k === undefined) return 'recording has no first keyframe';
  return null;
}

/** The ps rows at frame index fi, from the keyframe before it and the deltas after. */
export function psAtFrame(frames: readonly Frame[], fi: number): PsRow[] {
  let k = fi;
  while (k > 0 && frames[k]!.k === undefined) k--;
  const rows = new Map<string, PsRow>();
  for (const r of frames[k]!.k!) rows.set(rowKey(r), r);
  for (let i = k + 1; i <= fi; i++) {
    const f = frames[i]!;
    for (const g of f.g ?? []) rows.delete(g);
    for (const r of f.d ?? []) rows.set(rowKey(r), r);
  }
  return [...rows.values()].sort((a, b) => a.pid - b.pid || a.lid - b.lid);
}

/** The held locks at frame index fi. */
export function locksAtFrame(frames: readonly Frame[], fi: number): LockRow[] {
  for (let i = fi; i >= 0; i--) if (frames[i]!.locks !== undefined) return frames[i]!.locks!;
  return [];
}
