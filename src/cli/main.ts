/*
 * The lwpkit command line.
 *
 *   lwpkit run <program.ts|js|example:NAME> [--ncpu N] [--seed S] [--ticks T]
 *              [--personality netbsd-6|netbsd-4] [--trace out.json]
 *              [--ftrace out.txt] [--ktrace out.txt] [--ps] [--top] [--quiet]
 *   lwpkit sysctl [name | name=value ...] [run options] [program]
 *   lwpkit examples
 *   lwpkit [command] --help
 *
 * Contract:
 *  - main(argv, io) never throws and returns the exit status: for a run, 0
 *    idle, 1 deadlock, 2 panic, 3 limit; 64 (EX_USAGE) for a usage error,
 *    a program that cannot be loaded, an output file that cannot be
 *    written, or a sysctl name or value the machine refuses.  A usage error
 *    is ONE line on stderr, "lwpkit: <what>", no stack trace.
 *  - A program module's default export, or else its export `main`, must be
 *    a generator function; it is spawned as process 1 under the module's
 *    base name, and the machine runs until it stops.
 *  - stdout of a run (without --quiet): the outcome; each process's exit
 *    status; the run's ticks/steps and the switches per CPU; on a deadlock
 *    the wait-for graph (report/waitfor.ts); on a panic the panic report
 *    (report/panic.ts, which holds the ps table at the panic); then the
 *    ps -s table with --ps and the top -H view with --top.  With --quiet
 *    only the outcome line.
 *  - sysctl: one design, `lwpkit sysctl [settings] [program]`.  Without a
 *    program it lists the nodes of a fresh machine (all, or those named),
 *    as "name = value  description"; a name=value is checked against a
 *    fresh machine and shown as "name: old -> new".  With a program (the
 *    last argument: example:NAME or a .ts/.js/.mjs/.mts path) the settings
 *    are applied before the program is spawned, the run goes as with `run`
 *    (same options, output and exit status), and every node is listed
 *    after it, even with --quiet.  Unknown names, values that are not
 *    integers, read-only nodes and values a node rejects are usage errors.
 *  - Progress (cli/progress.ts): on a TTY, long runs show ticks done /
 *    limit and LWPs alive on stderr; the run then goes in slices of steps,
 *    which gives the same run as one call (Machine.run can be resumed).
 *  - Examples are examples/*.ts whose text exports a `main` (demo.ts and
 *    show.ts, the helpers, are skipped); they are found by reading the
 *    files, never by importing them.
 *  - hooks.machine, for tests only, sees each Machine before the settings
 *    are applied and the program spawned.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Machine, PERSONALITIES, SyscallError, type KEvent, type ProgramFn, type RunResult } from '../index.ts';
import { toChromeTrace } from '../trace/chrome.ts';
import { namesFromMachine } from '../trace/common.ts';
import { toFtrace } from '../trace/ftrace.ts';
import { toKtrace } from '../trace/ktrace.ts';
import { RunObserver } from '../report/observe.ts';
import { psTable } from '../report/ps.ts';
import { formatTop, topReport } from '../report/top.ts';
import { formatWaitFor, waitForGraph, type WaitForGraph } from '../report/waitfor.ts';
import { formatPanic, panicReport } from '../report/panic.ts';
import { startProgress } from './progress.ts';
import { Recorder, type Recording } from '../trace/record.ts';
import { view } from './view.ts';

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

export interface Hooks {
  /** Called with each new Machine before settings and spawn (tests). */
  machine?: (m: Machine) => void;
}

const stdio: Io = {
  out: (s) => process.stdout.write(s + '\n'),
  err: (s) => process.stderr.write(s + '\n'),
};

export const EXIT = { idle: 0, deadlock: 1, panic: 2, limit: 3, usage: 64 } as const;

/** The examples directory: ../../examples from this file. */
export const EXAMPLES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../examples');
const HELPERS = new Set(['demo.ts', 'show.ts']);

/** Machine.run's own default step limit: slicing must not change it. */
const MAX_STEPS = 10_000_000;
/** Steps per slice when progress is shown. */
const SLICE_STEPS = 50_000;

/** A usage error: reported as one line, exit 64. */
class UsageError extends Error {}

const MAIN_HELP = `usage: lwpkit <command> [options]

commands:
  run <program>   run a program on the model machine
  sysctl          list the machine's sysctl nodes, or set them for a run
  examples        list the example programs
  view <program|recording.json>   show a run in the browser, or be the scheduler (--play)

lwpkit <command> --help shows a command's options.`;

const RUN_OPTIONS = `  --ncpu N          number of CPUs, 1..256 (default 4)
  --seed S          seed of the scheduler's choices, an integer (default 1)
  --ticks T         stop after T ticks of virtual time, 1..1e12 (default 1000000)
  --personality P   kernel personality: ${Object.keys(PERSONALITIES).join(' | ')} (default netbsd-6)
  --trace FILE      write a Chrome trace (Perfetto, chrome://tracing)
  --ftrace FILE     write a Linux ftrace text trace
  --ktrace FILE     write a kdump-style system call trace
  --record FILE     write a recording for lwpkit view (src/trace/record.ts)
  --ps              print the ps -s table at the end
  --top             print the top -H view at the end: CPUs and busiest LWPs
  --quiet           print only the outcome line
  -h, --help        this help`;

const RUN_HELP = `usage: lwpkit run <program.ts|program.js|example:NAME> [options]

Runs the module's default export (or its export \`main\`), a generator
function (sys) => ..., as process 1, until nothing can run.  On a deadlock
it prints the wait-for graph; on a kernel panic, the panic report.  On a
terminal, long runs show their progress on stderr.

options:
${RUN_OPTIONS}

exit status: 0 idle, 1 deadlock, 2 panic, 3 limit, 64 usage error`;

const SYSCTL_HELP = `usage: lwpkit sysctl [name | name=value ...] [options] [program]

Without a program: lists the sysctl nodes of a fresh machine (all of them,
or the ones named) as "name = value  description", and checks each
name=value against it ("name: old -> new").

With a program (example:NAME or a .ts/.js path, last): sets each
name=value before the program starts, runs it as \`lwpkit run\` does, and
lists every node after the run, counters included, even with --quiet.

  lwpkit sysctl
  lwpkit sysctl hw.ncpu --ncpu 8
  lwpkit sysctl kern.nswtch example:workers
  lwpkit sysctl kern.maxlwp=100 example:workers

options (those of lwpkit run):
${RUN_OPTIONS}

exit status: as lwpkit run with a program, else 0; 64 for an unknown name,
a value that is not an integer, a read-only node or a value it refuses`;

const EXAMPLES_HELP = `usage: lwpkit examples

Lists the example programs, to run with: lwpkit run example:NAME`;

export async function main(argv: readonly string[], io: Io = stdio, hooks: Hooks = {}): Promise<number> {
  try {
    const [cmd, ...rest] = argv;
    if (cmd === undefined) throw new UsageError('missing command: run, sysctl or examples (see lwpkit --help)');
    if (cmd === '-h' || cmd === '--help' || cmd === 'help') {
      io.out(MAIN_HELP);
      return 0;
    }
    if (cmd === 'run') return await run(rest, io, hooks);
    if (cmd === 'sysctl') return await sysctl(rest, io, hooks);
    if (cmd === 'examples') return examples(rest, io);
    if (cmd === 'view') return await view(rest, io);
    throw new UsageError(`unknown command '${cmd}' (commands: run, sysctl, examples; see lwpkit --help)`);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`lwpkit: ${e.message}`);
      return EXIT.usage;
    }
    io.err(`lwpkit: internal error: ${e instanceof Error ? e.message : String(e)}`);
    return 70;
  }
}

// --- examples ---------------------------------------------------------------

export interface Example { name: string; path: string; summary: string }

/** Example programs: examples/*.ts exporting `main`, with their header's first line. */
export function listExamples(dir = EXAMPLES_DIR): Example[] {
  if (!existsSync(dir)) return [];
  const out: Example[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.ts') || HELPERS.has(f)) continue;
    const path = join(dir, f);
    const text = readFileSync(path, 'utf8');
    if (!/export\s+(default\s+)?(async\s+)?function\s*\*?\s*main\b|export\s+(const|let)\s+main\b|export\s+default\b|export\s*\{[^}]*\bmain\b/.test(text)) continue;
    const header = /\/\*+\s*\n?\s*\*?\s*(.+)/.exec(text);
    out.push({ name: f.replace(/\.ts$/, '').replace(/^cli-/, ''), path, summary: header ? header[1]!.replace(/\*\/\s*$/, '').trim() : '' });
  }
  return out;
}

function examples(args: readonly string[], io: Io): number {
  if (args.includes('-h') || args.includes('--help')) { io.out(EXAMPLES_HELP); return 0; }
  if (args.length > 0) throw new UsageError(`examples takes no arguments, got '${args[0]}'`);
  const list = listExamples();
  const width = Math.max(0, ...list.map((e) => e.name.length));
  for (const e of list) io.out(`${e.name.padEnd(width)}  ${e.summary}`);
  return 0;
}

// --- options shared by run and sysctl ---------------------------------------

interface RunArgs {
  ncpu: number;
  seed: number;
  ticks: number;
  personality: string;
  trace?: string;
  ftrace?: string;
  ktrace?: string;
  record?: string;
  ps: boolean;
  top: boolean;
  quiet: boolean;
}

function intOption(name: string, v: string | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!/^-?\d+$/.test(v.trim())) throw new UsageError(`--${name}: expected an integer, got '${v}'`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name}: ${v} is out of range (${min}..${max})`);
  return n;
}

/** Parse the run options; positionals come back untouched.  'help' for -h. */
function parseOptions(cmd: string, args: readonly string[]): { opts: RunArgs; positionals: string[] } | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        ncpu: { type: 'string' }, seed: { type: 'string' }, ticks: { type: 'string' },
        personality: { type: 'string' }, trace: { type: 'string' }, ftrace: { type: 'string' },
        ktrace: { type: 'string' }, record: { type: 'string' }, ps: { type: 'boolean' }, top: { type: 'boolean' }, quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    // parseArgs' messages are long and multi-line: keep the first sentence.
    const msg = e instanceof Error ? e.message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '') : String(e);
    throw new UsageError(`${cmd}: ${msg} (see lwpkit ${cmd} --help)`);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const personality = v.personality ?? 'netbsd-6';
  if (PERSONALITIES[personality] === undefined) throw new UsageError(`--personality: unknown personality '${personality}' (known: ${Object.keys(PERSONALITIES).join(', ')})`);
  const opts: RunArgs = {
    ncpu: intOption('ncpu', v.ncpu, 4, 1, 256),
    seed: intOption('seed', v.seed, 1, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    ticks: intOption('ticks', v.ticks, 1_000_000, 1, 1e12),
    personality,
    ps: v.ps ?? false,
    top: v.top ?? false,
    quiet: v.quiet ?? false,
  };
  for (const k of ['trace', 'ftrace', 'ktrace', 'record'] as const) {
    const f = v[k];
    if (f === undefined) continue;
    if (f === '') throw new UsageError(`--${k}: empty file name`);
    const dir = dirname(resolve(f));
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--${k}: cannot write ${f}: directory ${dir} does not exist`);
    opts[k] = f;
  }
  return { opts, positionals: parsed.positionals };
}

/** The file a program argument names: a path, or example:NAME. */
function programPath(cmd: string, arg: string): string {
  if (arg.startsWith('example:')) {
    const name = arg.slice('example:'.length);
    const ex = listExamples().find((e) => e.name === name);
    if (ex === undefined) {
      const known = listExamples().map((e) => e.name).join(', ');
      throw new UsageError(`${cmd}: no example '${name}' (examples: ${known || 'none'})`);
    }
    return ex.path;
  }
  const path = resolve(arg);
  if (!existsSync(path)) throw new UsageError(`${cmd}: ${arg}: no such file`);
  if (!statSync(path).isFile()) throw new UsageError(`${cmd}: ${arg}: not a file`);
  const ext = extname(path);
  if (!MODULE_EXTS.includes(ext)) throw new UsageError(`${cmd}: ${arg}: expected a .ts or .js module`);
  return path;
}

const MODULE_EXTS = ['.ts', '.js', '.mjs', '.mts'];

async function loadProgram(cmd: string, path: string, shown: string): Promise<ProgramFn> {
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(path).href) as Record<string, unknown>;
  } catch (e) {
    // One line: a compile error's own "file:line:col: ERROR: what" when there is one.
    const lines = e instanceof Error ? e.message.split('\n') : [String(e)];
    const where = lines.find((x) => /:\d+:\d+: ERROR: /.test(x));
    const msg = where !== undefined ? where.replace(/^.*?(\d+:\d+: ERROR: )/, 'line $1').replace('ERROR: ', '') : lines[0];
    throw new UsageError(`${cmd}: ${shown}: cannot load: ${msg}`);
  }
  const fn = typeof mod.default === 'function' ? mod.default : mod.main;
  if (typeof fn !== 'function') throw new UsageError(`${cmd}: ${shown}: exports neither a default nor a 'main' function`);
  if (Object.prototype.toString.call(fn) !== '[object GeneratorFunction]') {
    throw new UsageError(`${cmd}: ${shown}: '${fn.name || 'default'}' is not a generator function (function*)`);
  }
  return fn as ProgramFn;
}

// --- run ---------------------------------------------------------------------

async function run(args: readonly string[], io: Io, hooks: Hooks): Promise<number> {
  const parsed = parseOptions('run', args);
  if (parsed === 'help') { io.out(RUN_HELP); return 0; }
  const { opts, positionals } = parsed;
  if (positionals.length === 0) throw new UsageError('run: missing the program to run (see lwpkit run --help)');
  if (positionals.length > 1) throw new UsageError(`run: one program only, got also '${positionals[1]}'`);
  const { code } = await execute('run', positionals[0]!, opts, [], io, hooks);
  return code;
}

interface Setting { name: string; value: number }

function newMachine(a: RunArgs, hooks: Hooks): Machine {
  const m = new Machine({ ncpu: a.ncpu, seed: a.seed, personality: a.personality, record: a.record !== undefined });
  hooks.machine?.(m);
  return m;
}

/** Set a node, turning the machine's errno into one usage line. */
function applySetting(m: Machine, s: Setting): number {
  try {
    return m.sysctl(s.name, s.value);
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    if (e.code === 'ENOENT') throw new UsageError(`sysctl: unknown node '${s.name}' (lwpkit sysctl lists them)`);
    if (e.code === 'EPERM') throw new UsageError(`sysctl: ${s.name} is read-only`);
    throw new UsageError(`sysctl: ${s.name}=${s.value}: value refused (${e.code})`);
  }
}

/** Load, run and report one program; returns the exit status and the machine. */
async function execute(cmd: string, arg: string, a: RunArgs, settings: readonly Setting[], io: Io, hooks: Hooks): Promise<{ code: number; m: Machine }> {
  const path = programPath(cmd, arg);
  const program = await loadProgram(cmd, path, arg);
  const name = basename(path).replace(/\.[^.]+$/, '').replace(/^cli-/, '');

  const m = newMachine(a, hooks);
  for (const s of settings) applySetting(m, s);
  const events: KEvent[] = [];
  if (a.trace !== undefined || a.ftrace !== undefined || a.ktrace !== undefined) m.on((e) => events.push(e));
  const observer = a.ps || a.top ? new RunObserver(m) : undefined;
  let r: RunResult;
  let recording: Recording | undefined;
  const recorder = a.record !== undefined ? new Recorder(m) : undefined;
  try {
    m.spawn(program, { name });
    if (recorder !== undefined) {
      ({ rec: recording, result: r } = recorder.run({ program: name, seed: a.seed, personality: a.personality, maxTicks: a.ticks, maxSteps: MAX_STEPS }));
    } else r = await runWithProgress(m, a.ticks);
  } catch (e) {
    throw new UsageError(`${cmd}: ${arg}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }

  // The wait-for graph: for a deadlock, and for the spinning CPUs of a spin deadlock.
  let graph: WaitForGraph | undefined;
  const panic = r.panic ? panicReport(m, r.panic, { observer }) : undefined;
  if (r.outcome === 'deadlock') graph = waitForGraph(m);
  else if (panic?.waitFor !== undefined) graph = panic.waitFor;

  const names = namesFromMachine(m);
  const write = (opt: string, file: string, text: string) => {
    try {
      writeFileSync(file, text);
    } catch (e) {
      throw new UsageError(`--${opt}: cannot write ${file}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  };
  if (a.trace !== undefined) write('trace', a.trace, JSON.stringify(toChromeTrace(events, { endTicks: r.ticks, deadlock: r.blocked, ncpu: a.ncpu, names, waitFor: graph })));
  if (a.ftrace !== undefined) write('ftrace', a.ftrace, toFtrace(events, { ncpu: a.ncpu, names }));
  if (recording !== undefined) write('record', a.record!, JSON.stringify(recording));
  if (a.ktrace !== undefined) write('ktrace', a.ktrace, toKtrace(events, { ncpu: a.ncpu, names }));

  io.out(`outcome: ${r.outcome} at tick ${r.ticks}${r.panic ? `: ${r.panic.message}` : ''}`);
  if (!a.quiet) {
    for (const p of m.procs()) {
      const how = p.exitStatus !== null ? `exit status ${p.exitStatus}`
        : p.signal !== null ? `killed by signal ${p.signal}${p.core ? ' (core dumped)' : ''}${p.fault ? ` (${p.fault})` : ''}`
        : `still ${p.stat}`;
      io.out(`process ${p.pid} (${p.name}): ${how}`);
    }
    const sw = m.kernel.cpus.map((c, i) => `cpu${i} ${c.nswtch}`).join(', ');
    io.out(`ticks ${r.ticks}, steps ${r.steps}, switches: ${sw}`);
    if (panic !== undefined) {
      io.out('');
      io.out(formatPanic(panic));
    } else if (graph !== undefined) {
      io.out('');
      io.out(formatWaitFor(graph));
    }
    // The panic report already holds the ps table at the panic.
    if (a.ps && panic === undefined) {
      io.out('');
      io.out(psTable(m, { observer }));
    }
    if (a.top) {
      io.out('');
      io.out(formatTop(topReport(m, { observer })));
    }
  }
  return { code: EXIT[r.outcome], m };
}

/** LWPs alive (not zombies) in user processes. */
function liveLwpCount(m: Machine): number {
  let n = 0;
  for (const p of m.kernel.procs.values()) if (p.pid !== 0 && !p.reaped) n += p.nlwps - p.nzlwps;
  return n;
}

/**
 * m.run to `maxTicks`, in slices of steps with a progress bar on a TTY.
 * A slice that stops on its step budget is resumed; any other stop (or the
 * real step limit) ends the run, so the result is the one-call result.
 */
async function runWithProgress(m: Machine, maxTicks: number): Promise<RunResult> {
  const bar = await startProgress(maxTicks);
  if (bar === null) return m.run({ maxTicks, maxSteps: MAX_STEPS });
  try {
    for (;;) {
      const budget = Math.min(m.engine.steps + SLICE_STEPS, MAX_STEPS);
      const r = m.run({ maxTicks, maxSteps: budget });
      if (r.outcome !== 'limit' || m.engine.steps < budget || budget >= MAX_STEPS) return r;
      bar.update(m.now, liveLwpCount(m));
    }
  } finally {
    bar.stop();
  }
}

// --- sysctl ------------------------------------------------------------------

/** Is this positional the program rather than a sysctl name? */
function isProgram(arg: string): boolean {
  return arg.startsWith('example:') || arg.includes('/') || MODULE_EXTS.includes(extname(arg));
}

const NAME = /^[A-Za-z_][\w-]*(\.[\w-]+)*$/;

/** name or name=value: the name, and the value's text if any. */
function splitSetting(arg: string): { name: string; text?: string } {
  const eq = arg.indexOf('=');
  const name = eq < 0 ? arg : arg.slice(0, eq);
  if (!NAME.test(name)) throw new UsageError(`sysctl: '${name}' is not a sysctl name (like kern.nswtch)`);
  return eq < 0 ? { name } : { name, text: arg.slice(eq + 1) };
}

function parseValue(name: string, text: string): number {
  const t = text.trim();
  if (!/^-?\d+$/.test(t) || !Number.isSafeInteger(Number(t))) throw new UsageError(`sysctl: ${name}: expected an integer value, got '${text}'`);
  return Number(t);
}

function formatNodes(nodes: readonly { name: string; value: number; description: string; writable: boolean }[]): string[] {
  const nw = Math.max(0, ...nodes.map((n) => n.name.length));
  const vw = Math.max(0, ...nodes.map((n) => String(n.value).length));
  return nodes.map((n) => `${n.name.padEnd(nw)} = ${String(n.value).padEnd(vw)}  ${n.description}${n.writable ? '' : ' (read-only)'}`.trimEnd());
}

async function sysctl(args: readonly string[], io: Io, hooks: Hooks): Promise<number> {
  const parsed = parseOptions('sysctl', args);
  if (parsed === 'help') { io.out(SYSCTL_HELP); return 0; }
  const { opts, positionals } = parsed;
  let program: string | undefined;
  const items = [...positionals];
  if (items.length > 0 && isProgram(items[items.length - 1]!)) program = items.pop();
  const stray = items.find(isProgram);
  if (stray !== undefined) throw new UsageError(`sysctl: the program must come last, and only one: '${stray}'`);
  const split = items.map(splitSetting);

  // Names first, against a fresh machine, then values: every error before any run.
  const fresh = newMachine(opts, hooks);
  const known = new Map(fresh.sysctls().map((n) => [n.name, n]));
  for (const { name } of split) {
    if (!known.has(name)) throw new UsageError(`sysctl: unknown node '${name}' (lwpkit sysctl lists them)`);
  }
  const names = split.filter((x) => x.text === undefined).map((x) => x.name);
  const settings: Setting[] = split.filter((x) => x.text !== undefined).map((x) => ({ name: x.name, value: parseValue(x.name, x.text!) }));

  if (program === undefined) {
    for (const s of settings) {
      const old = known.get(s.name)!.value;
      io.out(`${s.name}: ${old} -> ${applySetting(fresh, s)}`);
    }
    if (settings.length === 0) {
      const list = fresh.sysctls().filter((n) => names.length === 0 || names.includes(n.name));
      for (const line of formatNodes(list)) io.out(line);
    } else if (names.length > 0) {
      for (const line of formatNodes(fresh.sysctls().filter((n) => names.includes(n.name)))) io.out(line);
    }
    return 0;
  }

  const { code, m } = await execute('sysctl', program, opts, settings, io, hooks);
  io.out('');
  io.out(`sysctl after the run (tick ${m.now}):`);
  for (const line of formatNodes(m.sysctls())) io.out(`  ${line}`);
  return code;
}
