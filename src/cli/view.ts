/*
 * lwpkit view: the run in a browser.
 *
 *   lwpkit view [run options] <program.ts|example:NAME>   record the run, show it
 *   lwpkit view <recording.json>                          show a recording (lwpkit run --record)
 *   lwpkit view --play [--ncpu N] <program.ts|example:NAME>   be the scheduler
 *   lwpkit view --schedule FILE [--ncpu N] [--seed S] <program>   run under a schedule, show it
 *
 * Contract: serves one page on 127.0.0.1 (src/web/serve.ts), prints its URL
 * and serves until SIGINT/SIGTERM, then returns 0.  Errors are main()'s:
 * one line "lwpkit: view: ...", exit 64.  A program run for viewing goes
 * through `lwpkit run ... --record` itself, so it takes exactly run's
 * options and errors.  startView is the same without the wait (tests).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { listExamples, main, type Io } from './main.ts';
import { checkRecording, Recorder } from '../trace/record.ts';
import { Machine, PERSONALITIES, SeededChooser, type ChoiceKind, type Chooser, type ProgramFn } from '../index.ts';
import { bundlePage, servePage, type ServedPage } from '../web/serve.ts';
import { DECISION_LABELS } from '../web/play.ts';
import { scenarioOf } from '../explore/run.ts';
import { LETTER_KIND, parseSchedule, type Schedule } from '../explore/schedule.ts';
import type { DecisionKind } from '../engine/chooser.ts';

export const VIEW_HELP = `usage: lwpkit view [run options] <program.ts|example:NAME>
       lwpkit view <recording.json>
       lwpkit view --play [--ncpu N] <program.ts|example:NAME>
       lwpkit view --schedule FILE [--ncpu N] [--seed S] <program.ts|example:NAME>

Shows a run in the browser: one lane per CPU, one row per LWP in the
seed's states, wakeups, errors and signals; a cursor to step through
(arrow keys) with the ps -s table, the events, the 1.172 state diagram,
the locks held and the wait-for graph at that moment.  With a program it
records the run first (as lwpkit run --record); with --play the page runs
the program itself and you choose which CPU moves at every choice (press d
to be asked delays and preemptions too).  The page's challenges are always
there (press p).

It serves the page on 127.0.0.1 and prints the URL; Ctrl-C stops it.
Nothing is loaded from the network.

options:
  --port N      port to serve on (default: a free one)
  --play        be the scheduler on the program (only --ncpu applies)
  --schedule F  run the program under the schedule in F: a failing schedule
                written by lwpkit explore --out (its own machine; every decision
                replayed), a recording's choices, or { "choices": [...],
                "labels": [...] } (the seed after they end); the page shows
                the schedule as a per-CPU table
  and the options of lwpkit run (lwpkit run --help)`;

function usage(io: Io, msg: string): number {
  io.err(`lwpkit: view: ${msg}`);
  return 64;
}

/** Start serving; a number is an exit status (help, or an error already reported). */
export async function startView(args: readonly string[], io: Io): Promise<ServedPage | number> {
  if (args.includes('-h') || args.includes('--help')) { io.out(VIEW_HELP); return 0; }
  const rest: string[] = [];
  let port = 0;
  let play = false;
  let schedule: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--play') play = true;
    else if (a === '--schedule') {
      schedule = args[++i];
      if (schedule === undefined || schedule === '') return usage(io, '--schedule: missing the file');
    }
    else if (a === '--port' || a.startsWith('--port=')) {
      const v = a === '--port' ? args[++i] : a.slice('--port='.length);
      if (v === undefined || !/^\d+$/.test(v) || Number(v) > 65535) return usage(io, `--port: expected a port number 0..65535, got '${v ?? ''}'`);
      port = Number(v);
    } else rest.push(a);
  }
  const positionals = rest.filter((a, i) => !a.startsWith('-') && !(i > 0 && /^--(ncpu|seed|ticks|personality|trace|ftrace|ktrace|record)$/.test(rest[i - 1]!)));
  if (schedule !== undefined && extname(positionals[0] ?? '') === '.json') return usage(io, '--schedule needs a program, not a recording');
  if (positionals.length === 0) return usage(io, 'missing the program or recording to show (see lwpkit view --help)');
  if (positionals.length > 1) return usage(io, `one program or recording only, got also '${positionals[1]}'`);
  const target = positionals[0]!;

  let js: string;
  let json: string | null = null;
  try {
    if (extname(target) === '.json') {
      if (play) return usage(io, '--play needs a program, not a recording');
      if (rest.length > 1) return usage(io, `a recording takes no run options, got '${rest.find((a) => a !== target)}'`);
      json = readRecording(target);
      js = await bundlePage({ mode: 'view' });
    } else if (schedule !== undefined) {
      if (play) return usage(io, '--schedule and --play do not go together');
      json = await recordSchedule(rest, target, schedule, io);
      js = await bundlePage({ mode: 'view' });
    } else if (play) {
      const { path, name, ncpu } = await playTarget(rest, target);
      js = await bundlePage({ mode: 'play', user: { path, name, ncpu } });
    } else {
      json = await recordProgram(rest, io);
      js = await bundlePage({ mode: 'view' });
    }
  } catch (e) {
    if (e instanceof ViewError) return e.reported ? 64 : usage(io, e.message);
    // esbuild's build failure: its first message, one line.
    const first = (e as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors?.[0];
    if (first !== undefined) return usage(io, `cannot bundle for the browser: ${first.location ? `${first.location.file}:${first.location.line}: ` : ''}${first.text}`);
    throw e;
  }
  const page = await servePage(js, json, port).catch((e: unknown) => {
    throw new ViewError(`cannot serve on 127.0.0.1:${port}: ${e instanceof Error ? e.message : String(e)}`);
  });
  io.out(`lwpkit view: serving ${page.url} (Ctrl-C to stop)`);
  return page;
}

/** `lwpkit view ...`, for main(): serve until a signal. */
export async function view(args: readonly string[], io: Io): Promise<number> {
  let page: ServedPage | number;
  try {
    page = await startView(args, io);
  } catch (e) {
    if (e instanceof ViewError) return usage(io, e.message);
    throw e;
  }
  if (typeof page === 'number') return page;
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await page.close();
  return 0;
}

class ViewError extends Error {
  constructor(msg: string, readonly reported = false) { super(msg); }
}

function readRecording(file: string): string {
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) throw new ViewError(`${file}: no such file`);
  const text = readFileSync(path, 'utf8');
  let x: unknown;
  try { x = JSON.parse(text); } catch (e) { throw new ViewError(`${file}: not JSON: ${e instanceof Error ? e.message : String(e)}`); }
  const bad = checkRecording(x);
  if (bad !== null) throw new ViewError(`${file}: ${bad}`);
  return text;
}

/** Run the program through `lwpkit run --record` and return the recording's text. */
async function recordProgram(args: readonly string[], io: Io): Promise<string> {
  if (args.some((a) => a === '--record' || a.startsWith('--record='))) throw new ViewError('--record is not an option of view (use lwpkit run --record)');
  const dir = mkdtempSync(join(tmpdir(), 'lwpkit-view-'));
  const file = join(dir, 'recording.json');
  try {
    const lines: string[] = [];
    const code = await main(['run', ...args, '--record', file, '--quiet'], { out: (s) => lines.push(s), err: (s) => io.err(s.replace(/^lwpkit: (run: )?/, 'lwpkit: view: ')) });
    if (code === 64 || code === 70) throw new ViewError('', true);
    for (const l of lines) io.out(l);
    return readFileSync(file, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The program to play and its CPUs; refuses options play does not take. */
async function playTarget(args: readonly string[], target: string): Promise<{ path: string; name: string; ncpu: number }> {
  let ncpu = 2;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === target) continue;
    if (a === '--ncpu') {
      const v = args[++i] ?? '';
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 16) throw new ViewError(`--ncpu: play mode takes 1..16 CPUs, got '${v}'`);
      ncpu = Number(v);
    } else throw new ViewError(`--play takes only --ncpu, got '${a}'`);
  }
  const { path, name } = await loadTarget(target);
  return { path, name, ncpu };
}

/** A program argument (a path or example:NAME), loaded here so that a broken one is one line. */
async function loadTarget(target: string): Promise<{ path: string; name: string; program: ProgramFn }> {
  let path: string;
  if (target.startsWith('example:')) {
    const ex = listExamples().find((e) => e.name === target.slice('example:'.length));
    if (ex === undefined) throw new ViewError(`no example '${target.slice('example:'.length)}' (lwpkit examples lists them)`);
    path = ex.path;
  } else {
    path = resolve(target);
    if (!existsSync(path) || !statSync(path).isFile()) throw new ViewError(`${target}: no such file`);
    if (!['.ts', '.js', '.mjs', '.mts'].includes(extname(path))) throw new ViewError(`${target}: expected a .ts or .js module`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(path).href) as Record<string, unknown>;
  } catch (e) {
    throw new ViewError(`${target}: cannot load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  const fn = typeof mod.default === 'function' ? mod.default : mod.main;
  if (typeof fn !== 'function' || Object.prototype.toString.call(fn) !== '[object GeneratorFunction]') {
    throw new ViewError(`${target}: exports no generator function (default or main)`);
  }
  return { path, name: basename(path).replace(/\.[^.]+$/, '').replace(/^cli-/, ''), program: fn as ProgramFn };
}

/** Replays a schedule's answers, then lets the seeded chooser go on; an answer that does not fit is an error. */
class ScheduleChooser implements Chooser {
  private i = 0;
  private readonly rest: SeededChooser;
  constructor(private readonly answers: readonly number[], seed: number) { this.rest = new SeededChooser(seed); }
  choose(n: number, kind: ChoiceKind): number {
    if (this.i >= this.answers.length) return this.rest.choose(n);
    const c = this.answers[this.i++]!;
    if (c >= n) throw new ViewError(`the schedule diverges at answer ${this.i - 1}: ${c} for a choice among ${n}`);
    void kind;
    return c;
  }
}

/**
 * Replays the decisions of an explore schedule (src/explore/schedule.ts) as
 * the engine asks them, kind by kind; past its end, the default hardware
 * (option 0).  A decision of another kind or size is an error.
 */
class DecisionReplay implements Chooser {
  private i = 0;
  constructor(private readonly s: Schedule) {}
  choose(): number { throw new Error('DecisionReplay: the engine asks decide()'); }
  decide(kind: DecisionKind, n: number): number {
    const s = this.s;
    if (this.i >= s.answers.length) return 0;
    const i = this.i++;
    const k = LETTER_KIND[s.kinds[i]!]!, m = s.options[i]!;
    if (k !== kind || m !== n) throw new ViewError(`the schedule diverges at decision ${i}: it has ${k} of ${m}, the run asks ${kind} of ${n}`);
    return s.answers[i]!;
  }
}

const JITTER_LABELS = ['as given', 'one tick more', 'twice as long'];

/** One line per decision of an explore schedule: "delay cpu? hold back ...". */
function decisionLabel(kind: DecisionKind, n: number, a: number): string {
  const l = kind === 'cpu' ? `ready CPU ${a} of ${n}` : kind === 'jitter' ? JITTER_LABELS[a] : DECISION_LABELS[kind][a];
  return `${kind}: ${l ?? a}`;
}

/** Run a program (or explore scenario) under an explore schedule and record it; the schedule carries the machine. */
async function recordExploreSchedule(target: string, file: string, s: Schedule, ncpu: number | undefined, io: Io): Promise<string> {
  if (ncpu !== undefined && ncpu !== s.ncpu) throw new ViewError(`--schedule: ${file} was explored on ${s.ncpu} CPUs, not ${ncpu}`);
  let path = resolve(target);
  if (target.startsWith('example:')) {
    const ex = listExamples().find((e) => e.name === target.slice('example:'.length));
    if (ex === undefined) throw new ViewError(`no example '${target.slice('example:'.length)}' (lwpkit examples lists them)`);
    path = ex.path;
  } else if (!existsSync(path) || !statSync(path).isFile()) throw new ViewError(`${target}: no such file`);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(path).href) as Record<string, unknown>;
  } catch (e) {
    throw new ViewError(`${target}: cannot load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  const base = scenarioOf(mod);
  if (base === null) throw new ViewError(`${target}: exports neither a scenario nor a default or 'main' generator function`);
  const sc = base();
  const m = new Machine({ ...sc.machine, ncpu: s.ncpu, chooser: new DecisionReplay(s), record: true });
  const r = new Recorder(m);
  sc.setup?.(m);
  const name = basename(path).replace(/\.[^.]+$/, '').replace(/^cli-/, '');
  m.spawn(sc.main, { name: sc.main.name || 'main', uid: sc.uid ?? 0 });
  const { rec, result } = r.run({ program: name, seed: s.seed, maxTicks: s.maxTicks });
  const cause = result.panic?.cause;
  if (cause instanceof ViewError) throw cause;
  const labels = s.answers.map((a, i) => decisionLabel(LETTER_KIND[s.kinds[i]!]!, s.options[i]!, a));
  rec.schedule = { source: file, choices: [...s.answers], labels };
  const verdict = sc.check !== undefined ? sc.check(m, result) : null;
  io.out(`outcome: ${result.outcome} at tick ${result.ticks}${result.panic ? `: ${result.panic.message}` : ''}${typeof verdict === 'string' && verdict !== '' ? ` (${verdict})` : ''}`);
  return JSON.stringify(rec);
}

/**
 * The answers of a schedule file: `choices` (a recording, or a plain
 * { choices, labels? }), or `schedule.choices`, or `decisions` when that is
 * a list of numbers or of objects with a numeric `answer`.
 */
export function scheduleFrom(x: unknown): { choices: number[]; labels?: string[] } | null {
  if (typeof x !== 'object' || x === null) return null;
  const o = x as Record<string, unknown>;
  const ints = (v: unknown): number[] | null => Array.isArray(v) && v.every((c) => Number.isInteger(c) && (c as number) >= 0) ? v as number[] : null;
  const labels = (v: unknown): string[] | undefined => Array.isArray(v) && v.every((l) => typeof l === 'string') ? v as string[] : undefined;
  const direct = ints(o.choices);
  if (direct !== null) return { choices: direct, labels: labels(o.labels) };
  if (typeof o.schedule === 'object' && o.schedule !== null) return scheduleFrom(o.schedule);
  if (Array.isArray(o.decisions)) {
    const d = o.decisions.map((v) => (typeof v === 'number' ? v : typeof v === 'object' && v !== null ? (v as { answer?: unknown }).answer : undefined));
    const c = ints(d);
    if (c !== null) return { choices: c, labels: o.decisions.map((v) => (typeof v === 'object' && v !== null && typeof (v as { label?: unknown }).label === 'string' ? (v as { label: string }).label : '')) };
  }
  return null;
}

/** Run the program under a schedule file's answers and record it, the schedule attached. */
async function recordSchedule(args: readonly string[], target: string, file: string, io: Io): Promise<string> {
  let ncpu = 4;
  let ncpuGiven: number | undefined;
  let seed = 1;
  let personality = 'netbsd-6';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === target) continue;
    const v = args[++i] ?? '';
    if (a === '--ncpu') {
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 256) throw new ViewError(`--ncpu: expected 1..256, got '${v}'`);
      ncpu = Number(v);
      ncpuGiven = ncpu;
    } else if (a === '--seed') {
      if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new ViewError(`--seed: expected an integer, got '${v}'`);
      seed = Number(v);
    } else if (a === '--personality') {
      if (PERSONALITIES[v] === undefined) throw new ViewError(`--personality: unknown personality '${v}'`);
      personality = v;
    } else throw new ViewError(`--schedule takes only --ncpu, --seed and --personality, got '${a}'`);
  }
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) throw new ViewError(`--schedule: ${file}: no such file`);
  let x: unknown;
  try { x = JSON.parse(readFileSync(path, 'utf8')); } catch (e) { throw new ViewError(`--schedule: ${file}: not JSON: ${e instanceof Error ? e.message : String(e)}`); }
  if (typeof x === 'object' && x !== null && typeof (x as { kinds?: unknown }).kinds === 'string') {
    let s: Schedule;
    try { s = parseSchedule(x); } catch (e) { throw new ViewError(`--schedule: ${file}: ${e instanceof Error ? e.message : String(e)}`); }
    return recordExploreSchedule(target, file, s, ncpuGiven, io);
  }
  const sch = scheduleFrom(x);
  if (sch === null) throw new ViewError(`--schedule: ${file}: no list of answers (choices, schedule.choices or decisions)`);
  const { name, program } = await loadTarget(target);
  const m = new Machine({ ncpu, seed, personality, chooser: new ScheduleChooser(sch.choices, seed), record: true });
  const r = new Recorder(m);
  m.spawn(program, { name });
  const { rec, result } = r.run({ program: name, seed, personality });
  const cause = result.panic?.cause;
  if (cause instanceof ViewError) throw cause;
  rec.schedule = { source: file, choices: sch.choices, ...(sch.labels ? { labels: sch.labels } : {}) };
  io.out(`outcome: ${result.outcome} at tick ${result.ticks}${result.panic ? `: ${result.panic.message}` : ''}`);
  return JSON.stringify(rec);
}
