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

export function checkTrace(trace: unknown): string[] {
  const problems: string[] = [];
  let events: unknown[];
  if (Array.isArray(trace)) events = trace;
  else if (isObject(trace) && Array.isArray(trace.traceEvents)) {
    events = trace.traceEvents;
    const unit = trace.displayTimeUnit;
    if (unit !== undefined && unit !== 'ms' && unit !== 'ns') problems.push(`displayTimeUnit must be 'ms' or 'ns', got ${JSON.stringify(unit)}`);
  } else return ['not a trace: expected an array of events or an object with a traceEvents array'];

  const slices = new Map<string, Slice[]>();
  const open = new Map<string, { name: unknown; ts: number; index: number }[]>();
  const flowPoints: { track: string; ts: number; index: number; enclosing: boolean }[] = [];
  const flows = new Map<string, { started: number; ended: boolean }>();
  const addSlice = (track: string, s: Slice) => {
    const list = slices.get(track);
    if (list === undefined) slices.set(track, [s]); else list.push(s);
  };

  // B/E are matched in timestamp order; sort indexes stably by ts.
  const order = events.map((_, i) => i);
  const tsOf = (i: number) => { const e = events[i]; return isObject(e) && typeof e.ts === 'number' ? e.ts : 0; };
  order.sort((a, b) => tsOf(a) - tsOf(b) || a - b);

  for (const i of order) {
    const e = events[i];
    const at = `event ${i}`;
    if (!isObject(e)) { problems.push(`${at}: not an object`); continue; }
    const ph = e.ph;
    if (typeof ph !== 'string' || !PHASES.has(ph)) { problems.push(`${at}: unknown phase ${JSON.stringify(ph)}`); continue; }
    if (typeof e.name !== 'string' && !(ph === 'E' && e.name === undefined)) problems.push(`${at} (${ph}): name must be a string`);
    if (!isInt(e.pid)) { problems.push(`${at} (${ph}): pid must be an integer`); continue; }
    if (THREAD_PHASES.has(ph) && !isInt(e.tid)) { problems.push(`${at} (${ph}): tid must be an integer`); continue; }
    if (ph !== 'M' && !(typeof e.ts === 'number' && Number.isFinite(e.ts) && e.ts >= 0)) { problems.push(`${at} (${ph}): ts must be a finite number of microseconds >= 0`); continue; }
    const ts = e.ts as number;
    const track = `${e.pid}/${e.tid}`;
    switch (ph) {
      case 'X': {
        const dur = e.dur;
        if (!(typeof dur === 'number' && Number.isFinite(dur) && dur >= 0)) { problems.push(`${at} (X): dur must be a finite number >= 0`); break; }
        addSlice(track, { start: ts, end: ts + dur, index: i });
        break;
      }
      case 'B': {
        const stack = open.get(track) ?? [];
        stack.push({ name: e.name, ts, index: i });
        open.set(track, stack);
        break;
      }
      case 'E': {
        const b = open.get(track)?.pop();
        if (b === undefined) { problems.push(`${at} (E): no open B on track ${track}`); break; }
        if (e.name !== undefined && e.name !== b.name) problems.push(`${at} (E): name ${JSON.stringify(e.name)} does not match B ${JSON.stringify(b.name)} (event ${b.index})`);
        addSlice(track, { start: b.ts, end: ts, index: b.index });
        break;
      }
      case 'i': case 'I':
        if (e.s !== undefined && e.s !== 'g' && e.s !== 'p' && e.s !== 't') problems.push(`${at} (${ph}): scope must be g, p or t`);
        if ((e.s === undefined || e.s === 't') && !isInt(e.tid)) problems.push(`${at} (${ph}): thread-scoped instant needs an integer tid`);
        break;
      case 'C': {
        const args = e.args;
        if (!isObject(args) || Object.keys(args).length === 0) { problems.push(`${at} (C): args must be an object with at least one value`); break; }
        for (const [k, v] of Object.entries(args)) {
          if (!(typeof v === 'number' && Number.isFinite(v))) problems.push(`${at} (C): counter ${JSON.stringify(k)} is not a finite number`);
        }
        break;
      }
      case 'M': {
        const name = e.name as string;
        if (!META.has(name)) { problems.push(`${at} (M): unknown metadata ${JSON.stringify(name)}`); break; }
        const args = e.args;
        if (name.endsWith('_name') && !(isObject(args) && typeof args.name === 'string')) problems.push(`${at} (M ${name}): args.name must be a string`);
        if (name.endsWith('_sort_index') && !(isObject(args) && typeof args.sort_index === 'number')) problems.push(`${at} (M ${name}): args.sort_index must be a number`);
        if (name.startsWith('thread_') && !isInt(e.tid)) problems.push(`${at} (M ${name}): tid must be an integer`);
        break;
      }
      case 's': case 't': case 'f': {
        if (typeof e.id !== 'number' && typeof e.id !== 'string') { problems.push(`${at} (${ph}): flow needs an id`); break; }
        if (e.bp !== undefined && e.bp !== 'e') problems.push(`${at} (${ph}): bp must be 'e'`);
        const key = `${String(e.cat)}/${String(e.id)}`;
        const f = flows.get(key);
        if (ph === 's') {
          if (f !== undefined && !f.ended) problems.push(`${at} (s): flow ${key} already started (event ${f.started})`);
          flows.set(key, { started: i, ended: false });
        } else if (f === undefined || f.ended) {
          problems.push(`${at} (${ph}): flow ${key} has no open start`);
        } else if (ph === 'f') f.ended = true;
        flowPoints.push({ track, ts, index: i, enclosing: ph !== 'f' || e.bp === 'e' });
        break;
      }
      default:
        break;
    }
  }

  for (const [track, stack] of open) {
    for (const b of stack) problems.push(`event ${b.index} (B): never ended on track ${track}`);
  }
  for (const [key, f] of flows) if (!f.ended) problems.push(`event ${f.started} (s): flow ${key} never finished`);

  // Nesting: sort by start, longer first; a stack of enclosing slices.
  for (const [track, list] of slices) {
    const sorted = [...list].sort((a, b) => a.start - b.start || b.end - a.end || a.index - b.index);
    const stack: Slice[] = [];
    for (const s of sorted) {
      while (stack.length > 0 && stack[stack.length - 1]!.end <= s.start + EPS) stack.pop();
      const top = stack[stack.length - 1];
      if (top !== undefined && s.end > top.end + EPS) {
        problems.push(`event ${s.index}: slice [${s.start}, ${s.end}] overlaps slice [${top.start}, ${top.end}] (event ${top.index}) on track ${track} without nesting`);
        continue;
      }
      stack.push(s);
    }
  }

  // Flow binding.
  for (const p of flowPoints) {
    const list = slices.get(p.track) ?? [];
    const ok = p.enclosing
      ? list.some((s) => s.start <= p.ts && p.ts <= s.end)
      : list.some((s) => s.start >= p.ts || (s.start <= p.ts && p.ts <= s.end));
    if (!ok) problems.push(`event ${p.index}: flow point at ${p.ts} is not bound to a slice on track ${p.track}`);
  }
  return problems;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}
