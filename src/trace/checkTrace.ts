/*
 * A checker of the Chrome Trace Event Format, strict enough that a trace it
 * accepts opens in Perfetto and chrome://tracing and shows what was meant.
 *
 *   const problems = checkTrace(JSON.parse(text));   // [] when valid
 *
 * Contract: checkTrace takes any parsed JSON value and returns a list of
 * problems, each naming the event index it is about; it never throws.  It
 * checks:
 *  - the container: an array of events, or an object with a traceEvents
 *    array and, if present, displayTimeUnit 'ms' or 'ns';
 *  - every event: a known phase; a string name (E may omit it); integer
 *    pid; integer tid where the phase is per-thread; finite numeric ts >= 0
 *    (in microseconds) except on metadata;
 *  - 'X': finite dur >= 0; 'B'/'E': balanced per (pid, tid) in timestamp
 *    order (file order breaks ties), an E's name matching its B's if given;
 *  - per (pid, tid) track, every slice (X, and B..E pairs) either disjoint
 *    from or nested in every other: touching end-to-start is fine, a
 *    partial overlap is not (differences under EPS, a picosecond, are
 *    float rounding of ts + dur and count as touching);
 *  - 'i'/'I': scope s, if present, one of g, p, t;
 *  - 'C': an args object with at least one value, all finite numbers;
 *  - 'M': a known metadata name with args.name a string (…_name) or
 *    args.sort_index a number (…_sort_index);
 *  - flows 's'/'t'/'f': an id; bp, if present, 'e'; each id starts with one
 *    's' before its steps and end; 's', 't' and 'f' with bp 'e' lie inside
 *    (inclusive) a slice on their own track, an 'f' without bp at or before
 *    the start of a slice on its track ("next slice" binding).
 */

const PHASES = new Set(['B', 'E', 'X', 'i', 'I', 'C', 'M', 's', 't', 'f', 'b', 'n', 'e', 'S', 'T', 'F', 'p', 'P', 'O', 'N', 'D', 'R', 'c', '(', ')', 'V', 'v']);
const THREAD_PHASES = new Set(['B', 'E', 'X', 's', 't', 'f']);
const META = new Set(['process_name', 'process_labels', 'process_sort_index', 'thread_name', 'thread_sort_index', 'process_uptime_seconds', 'num_cpus', 'trace_buffer_overflowed']);

/** Times closer than this (µs) are equal: ts + dur is floating point. */
export const EPS = 1e-6;

interface Slice { start: number; end: number; index: number }

type Ev = Record<string, unknown>;

export function checkTrace(trace: unknown): string[] {
  const problems: string[] = [];
  const events = container(trace, problems);
  if (events === null) return problems;
  const c = new TraceChecker(problems);
  for (const i of byTime(events)) c.event(events[i], i);
  c.unfinished();
  c.nesting();
  c.flowBinding();
  return problems;
}

/** The events of an array or of a { traceEvents } object (its displayTimeUnit checked); null: not a trace. */
function container(trace: unknown, problems: string[]): unknown[] | null {
  if (Array.isArray(trace)) return trace;
  if (isObject(trace) && Array.isArray(trace.traceEvents)) {
    const unit = trace.displayTimeUnit;
    if (unit !== undefined && unit !== 'ms' && unit !== 'ns') problems.push(`displayTimeUnit must be 'ms' or 'ns', got ${JSON.stringify(unit)}`);
    return trace.traceEvents;
  }
  problems.push('not a trace: expected an array of events or an object with a traceEvents array');
  return null;
}

/** Event indexes in timestamp order, stably (B/E are matched in this order). */
function byTime(events: unknown[]): number[] {
  const tsOf = (i: number) => { const e = events[i]; return isObject(e) && typeof e.ts === 'number' ? e.ts : 0; };
  return events.map((_, i) => i).sort((a, b) => tsOf(a) - tsOf(b) || a - b);
}

/** What one check gathers as it reads the events: slices per track, open B's, flows and their points. */
class TraceChecker {
  private readonly slices = new Map<string, Slice[]>();
  private readonly open = new Map<string, { name: unknown; ts: number; index: number }[]>();
  private readonly flowPoints: { track: string; ts: number; index: number; enclosing: boolean }[] = [];
  private readonly flows = new Map<string, { started: number; ended: boolean }>();

  constructor(private readonly problems: string[]) {}

  private addSlice(track: string, s: Slice): void {
    const list = this.slices.get(track);
    if (list === undefined) this.slices.set(track, [s]); else list.push(s);
  }

  event(e: unknown, i: number): void {
    const at = `event ${i}`;
    if (!this.fields(e, at)) return;
    const ph = e.ph as string;
    const ts = e.ts as number;
    const track = `${e.pid}/${e.tid}`;
    switch (ph) {
      case 'X': this.complete(e, i, at, ts, track); break;
      case 'B': this.begin(e, i, ts, track); break;
      case 'E': this.endSlice(e, at, ts, track); break;
      case 'i': case 'I': this.instant(e, at, ph); break;
      case 'C': this.counter(e, at); break;
      case 'M': this.metadata(e, at); break;
      case 's': case 't': case 'f': this.flow(e, i, at, ph, ts, track); break;
      default: break;
    }
  }

  /** What every event needs: an object, a known phase, a name, integer pid (and tid), a time.  False: stop here. */
  private fields(e: unknown, at: string): e is Ev {
    const problems = this.problems;
    if (!isObject(e)) { problems.push(`${at}: not an object`); return false; }
    const ph = e.ph;
    if (typeof ph !== 'string' || !PHASES.has(ph)) { problems.push(`${at}: unknown phase ${JSON.stringify(ph)}`); return false; }
    if (typeof e.name !== 'string' && !(ph === 'E' && e.name === undefined)) problems.push(`${at} (${ph}): name must be a string`);
    if (!isInt(e.pid)) { problems.push(`${at} (${ph}): pid must be an integer`); return false; }
    if (THREAD_PHASES.has(ph) && !isInt(e.tid)) { problems.push(`${at} (${ph}): tid must be an integer`); return false; }
    if (ph !== 'M' && !(typeof e.ts === 'number' && Number.isFinite(e.ts) && e.ts >= 0)) { problems.push(`${at} (${ph}): ts must be a finite number of microseconds >= 0`); return false; }
    return true;
  }

  private complete(e: Ev, i: number, at: string, ts: number, track: string): void {
    const dur = e.dur;
    if (!(typeof dur === 'number' && Number.isFinite(dur) && dur >= 0)) { this.problems.push(`${at} (X): dur must be a finite number >= 0`); return; }
    this.addSlice(track, { start: ts, end: ts + dur, index: i });
  }

  private begin(e: Ev, i: number, ts: number, track: string): void {
    const stack = this.open.get(track) ?? [];
    stack.push({ name: e.name, ts, index: i });
    this.open.set(track, stack);
  }

  private endSlice(e: Ev, at: string, ts: number, track: string): void {
    const b = this.open.get(track)?.pop();
    if (b === undefined) { this.problems.push(`${at} (E): no open B on track ${track}`); return; }
    if (e.name !== undefined && e.name !== b.name) this.problems.push(`${at} (E): name ${JSON.stringify(e.name)} does not match B ${JSON.stringify(b.name)} (event ${b.index})`);
    this.addSlice(track, { start: b.ts, end: ts, index: b.index });
  }

  private instant(e: Ev, at: string, ph: string): void {
    if (e.s !== undefined && e.s !== 'g' && e.s !== 'p' && e.s !== 't') this.problems.push(`${at} (${ph}): scope must be g, p or t`);
    if ((e.s === undefined || e.s === 't') && !isInt(e.tid)) this.problems.push(`${at} (${ph}): thread-scoped instant needs an integer tid`);
  }

  private counter(e: Ev, at: string): void {
    const args = e.args;
    if (!isObject(args) || Object.keys(args).length === 0) { this.problems.push(`${at} (C): args must be an object with at least one value`); return; }
    for (const [k, v] of Object.entries(args)) {
      if (!(typeof v === 'number' && Number.isFinite(v))) this.problems.push(`${at} (C): counter ${JSON.stringify(k)} is not a finite number`);
    }
  }

  private metadata(e: Ev, at: string): void {
    const problems = this.problems;
    const name = e.name as string;
    if (!META.has(name)) { problems.push(`${at} (M): unknown metadata ${JSON.stringify(name)}`); return; }
    const args = e.args;
    if (name.endsWith('_name') && !(isObject(args) && typeof args.name === 'string')) problems.push(`${at} (M ${name}): args.name must be a string`);
    if (name.endsWith('_sort_index') && !(isObject(args) && typeof args.sort_index === 'number')) problems.push(`${at} (M ${name}): args.sort_index must be a number`);
    if (name.startsWith('thread_') && !isInt(e.tid)) problems.push(`${at} (M ${name}): tid must be an integer`);
  }

  private flow(e: Ev, i: number, at: string, ph: string, ts: number, track: string): void {
    const problems = this.problems;
    if (typeof e.id !== 'number' && typeof e.id !== 'string') { problems.push(`${at} (${ph}): flow needs an id`); return; }
    if (e.bp !== undefined && e.bp !== 'e') problems.push(`${at} (${ph}): bp must be 'e'`);
    const key = `${String(e.cat)}/${String(e.id)}`;
    const f = this.flows.get(key);
    if (ph === 's') {
      if (f !== undefined && !f.ended) problems.push(`${at} (s): flow ${key} already started (event ${f.started})`);
      this.flows.set(key, { started: i, ended: false });
    } else if (f === undefined || f.ended) {
      problems.push(`${at} (${ph}): flow ${key} has no open start`);
    } else if (ph === 'f') f.ended = true;
    this.flowPoints.push({ track, ts, index: i, enclosing: ph !== 'f' || e.bp === 'e' });
  }

  /** B's never ended, flows never finished. */
  unfinished(): void {
    for (const [track, stack] of this.open) {
      for (const b of stack) this.problems.push(`event ${b.index} (B): never ended on track ${track}`);
    }
    for (const [key, f] of this.flows) if (!f.ended) this.problems.push(`event ${f.started} (s): flow ${key} never finished`);
  }

  /** Per track, every slice disjoint from or nested in every other: sort by start, longer first; a stack of enclosing slices. */
  nesting(): void {
    for (const [track, list] of this.slices) {
      const sorted = [...list].sort((a, b) => a.start - b.start || b.end - a.end || a.index - b.index);
      const stack: Slice[] = [];
      for (const s of sorted) {
        while (stack.length > 0 && stack[stack.length - 1]!.end <= s.start + EPS) stack.pop();
        const top = stack[stack.length - 1];
        if (top !== undefined && s.end > top.end + EPS) {
          this.problems.push(`event ${s.index}: slice [${s.start}, ${s.end}] overlaps slice [${top.start}, ${top.end}] (event ${top.index}) on track ${track} without nesting`);
          continue;
        }
        stack.push(s);
      }
    }
  }

  /** Every flow point inside a slice of its track (or, an 'f' without bp, before one). */
  flowBinding(): void {
    for (const p of this.flowPoints) {
      const list = this.slices.get(p.track) ?? [];
      const ok = p.enclosing
        ? list.some((s) => s.start <= p.ts && p.ts <= s.end)
        : list.some((s) => s.start >= p.ts || (s.start <= p.ts && p.ts <= s.end));
      if (!ok) this.problems.push(`event ${p.index}: flow point at ${p.ts} is not bound to a slice on track ${p.track}`);
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}
