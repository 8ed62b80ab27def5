/*
 * The lwpkit command line.
 *
 *   lwpkit run <program.ts|js|example:NAME> [--ncpu N] [--seed S] [--ticks T]
 *              [--personality netbsd-6|netbsd-4] [--trace out.json]
 *              [--ftrace out.txt] [--ktrace out.txt] [--ps] [--top] [--quiet]
 *   lwpkit sysctl [name | name=value ...] [run options] [program]
 *   lwpkit check <program.ts>
 *   lwpkit examples
 *   lwpkit help [command] | lwpkit [command] --help | lwpkit --version
 *
 * Contract:
 *  - main(argv, io) never throws and returns the exit status: for a run, 0
 *    idle, 1 deadlock, 2 panic, 3 limit, 4 idle but a process faulted (a
 *    program threw: killed by SIGSEGV); 64 (EX_USAGE) for a usage error,
 *    a program that cannot be loaded, an output file that cannot be
 *    written, or a sysctl name or value the machine refuses.  A usage error
 *    is ONE line on stderr, "lwpkit: <what>", no stack trace.  `check`
 *    exits 0 when the program type-checks, 1 when it does not, 69
 *    (EX_UNAVAILABLE) when no TypeScript compiler can be found.
 *  - Commands are the entries of COMMANDS: a name, a line of main help and
 *    a function (args, io, hooks) => exit status.  `lwpkit help NAME` is
 *    `lwpkit NAME --help`.
 *  - Numbers (options and sysctl values) are decimal integers: an optional
 *    sign, digits, optionally `_` between digits and an exponent (1e12,
 *    -5, 1_000_000); anything that is not a whole number is refused, and a
 *    whole number outside an option's range gets "N is out of range
 *    (MIN..MAX)".  A negative value may follow its option as its own
 *    argument (--seed -1).
 *  - A program module's default export, or else its export `main`, must be
 *    a generator function; it is spawned as process 1 under the module's
 *    base name, and the machine runs until it stops.
 *  - Output files (--trace, --ftrace, --ktrace) are opened before the run:
 *    one that cannot be written is a usage error and nothing runs.  Once a
 *    run has happened its outcome line is always printed, first.
 *  - stdout of a run (without --quiet): the outcome; each process's exit
 *    status (for a fault: the LWP, what it threw and the file:line of the
 *    throw); the run's ticks/steps and the switches per CPU; on a deadlock
 *    the wait-for graph (report/waitfor.ts); on a panic the panic report
 *    (report/panic.ts, which holds the ps table at the panic); then the
 *    ps -s table with --ps and the top -H view with --top.  With --quiet
 *    only the outcome line.
 *  - A closed stdout (EPIPE: `lwpkit sysctl | head`) stops the output
 *    quietly; the exit status is the command's own.
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
 *    files, never by importing them.  An example's description is the
 *    first sentence of its header comment, as one line.
 *  - hooks.machine, for tests only, sees each Machine before the settings
 *    are applied and the program spawned.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
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
import { exploreCommand, replayCommand } from './explore.ts';
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

/** stdout and stderr; a closed stdout (EPIPE) silences the rest of the output. */
let stdoutClosed = false;
let epipeWatched = false;
const stdio: Io = {
  out: (s) => {
    if (!epipeWatched) {
      epipeWatched = true;
      process.stdout.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EPIPE') throw e;
        stdoutClosed = true;
      });
    }
    if (!stdoutClosed) process.stdout.write(s + '\n');
  },
  err: (s) => process.stderr.write(s + '\n'),
};

export const EXIT = { idle: 0, deadlock: 1, panic: 2, limit: 3, fault: 4, usage: 64, unavailable: 69 } as const;

/** The package root (../../ from src/cli or dist/cli). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The examples directory: ../../examples from this file. */
export const EXAMPLES_DIR = join(ROOT, 'examples');
const HELPERS = new Set(['demo.ts', 'show.ts']);

/** Machine.run's own default step limit: slicing must not change it. */
const MAX_STEPS = 10_000_000;
/** Steps per slice when progress is shown. */
const SLICE_STEPS = 50_000;

/** A usage error: reported as one line, exit 64.  Commands in other modules throw it too. */
export class UsageError extends Error {}

const RUN_OPTIONS = `  --ncpu N          number of CPUs, 1..256 (default 4)
  --seed S          seed of the scheduler's choices, any safe integer (default 1)
  --ticks T         stop after T ticks of virtual time, 1..1e12 (default 1e6)
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

numbers: decimal integers, with an optional sign, \`_\` between digits and
an exponent: 1e12, 1_000_000, -5.  A negative value may be its own
argument: --seed -1.

exit status: 0 idle, 1 deadlock, 2 panic, 3 tick limit, 4 idle but a
process faulted (a program threw), 64 usage error`;

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

const CHECK_HELP = `usage: lwpkit check <program.ts>

Type-checks a program against lwpkit's types, as \`lwpkit run\` does not:
tsx strips the types without checking them.  The program's imports of
'lwpkit' and 'lwpkit/...' are this lwpkit's.  Runs the TypeScript compiler
(tsc) of the program's project, else lwpkit's own, strict, without emitting.

exit status: 0 no errors, 1 type errors (tsc's messages on stdout),
64 usage error, 69 no TypeScript compiler found (npm install -D typescript)`;

/** A command: its name, its line in the main help, and what runs it (it answers --help itself). */
export interface Command {
  name: string;
  summary: string;
  run(args: readonly string[], io: Io, hooks: Hooks): number | Promise<number>;
}

/** The commands.  A new one is one entry here (plus its module). */
const COMMANDS: Command[] = [
  { name: 'run', summary: 'run <program>     run a program on the model machine', run },
  { name: 'sysctl', summary: 'sysctl            list the machine\'s sysctl nodes, or set them for a run', run: sysctl },
  { name: 'check', summary: 'check <program>   type-check a program against lwpkit\'s types', run: check },
  { name: 'examples', summary: 'examples          list the example programs', run: examples },
  { name: 'explore', summary: 'explore <program>  search schedules for one that fails, shrink it, show it', run: (args, io) => exploreCommand(args, io) },
  { name: 'replay', summary: 'replay <program> <fail.json>  rerun a schedule with traces', run: (args, io) => replayCommand(args, io) },
  { name: 'view', summary: 'view <program|recording.json>  show a run in the browser, or be the scheduler (--play)', run: (args, io) => view(args, io) },
  { name: 'help', summary: 'help [command]    this help, or a command\'s', run: help },
];

function mainHelp(): string {
  return `usage: lwpkit <command> [options]

commands:
${COMMANDS.map((c) => `  ${c.summary}`).join('\n')}

lwpkit <command> --help (or lwpkit help <command>) shows a command's options;
lwpkit --version its version.`;
}

function commandNames(): string {
  return COMMANDS.map((c) => c.name).join(', ');
}

/** This package's version, from its package.json. */
export function version(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

function help(args: readonly string[], io: Io, hooks: Hooks): number | Promise<number> {
  const [name, ...more] = args;
  if (name === undefined || name === '-h' || name === '--help') { io.out(mainHelp()); return 0; }
  if (more.length > 0) throw new UsageError(`help takes one command, got also '${more[0]}'`);
  const cmd = COMMANDS.find((c) => c.name === name);
  if (cmd === undefined) throw new UsageError(`help: unknown command '${name}' (commands: ${commandNames()})`);
  if (cmd.name === 'help') { io.out(mainHelp()); return 0; }
  return cmd.run(['--help'], io, hooks);
}

export async function main(argv: readonly string[], io: Io = stdio, hooks: Hooks = {}): Promise<number> {
  try {
    const [name, ...rest] = argv;
    if (name === undefined) throw new UsageError(`missing command: ${commandNames()} (see lwpkit --help)`);
    if (name === '-h' || name === '--help') { io.out(mainHelp()); return 0; }
    if (name === '-V' || name === '--version') { io.out(`lwpkit ${version()}`); return 0; }
    const cmd = COMMANDS.find((c) => c.name === name);
    if (cmd === undefined) throw new UsageError(`unknown command '${name}' (commands: ${commandNames()}; see lwpkit --help)`);
    return await cmd.run(rest, io, hooks);
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
    out.push({ name: f.replace(/\.ts$/, '').replace(/^cli-/, ''), path, summary: headerSummary(text) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The first sentence of a file's leading comment (up to a line ending in '.'), as one line. */
function headerSummary(text: string): string {
  const m = /^\s*\/\*+([\s\S]*?)\*\//.exec(text);
  if (m === null) return '';
  const lines = m[1]!.split('\n').map((l) => l.replace(/^\s*\*?\s?/, '').trim());
  const para: string[] = [];
  for (const l of lines) {
    if (l === '') { if (para.length > 0) break; continue; }
    if (/^Run with:/.test(l)) break;
    para.push(l);
    if (l.endsWith('.')) break;   // the first sentence that ends a line
  }
  return para.join(' ');
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

/** A number as the CLI reads them (see the contract): an integer, or null. */
export function parseInteger(text: string): number | null {
  const t = text.trim();
  if (!/^[+-]?\d+(_\d+)*(\.\d+)?([eE][+-]?\d+)?$/.test(t)) return null;
  const n = Number(t.replace(/_/g, ''));
  return Number.isInteger(n) ? n : null;
}

/** 1000000 -> 1e6 in messages, as the help writes big bounds. */
function showBound(n: number): string {
  return Math.abs(n) >= 1e6 && n % 10 ** Math.floor(Math.log10(Math.abs(n))) === 0 ? n.toExponential().replace('+', '') : String(n);
}

function intOption(name: string, v: string | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = parseInteger(v);
  if (n === null) throw new UsageError(`--${name}: expected an integer, got '${v}'`);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = min === Number.MIN_SAFE_INTEGER ? 'a safe integer' : `${showBound(min)}..${showBound(max)}`;
    throw new UsageError(`--${name}: ${v} is out of range (${range})`);
  }
  return n;
}

const VALUE_OPTIONS = new Set(['--ncpu', '--seed', '--ticks', '--personality', '--trace', '--ftrace', '--ktrace', '--record']);

/** `--seed -1` as `--seed=-1`: parseArgs would take -1 for an option. */
function joinNegativeValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (VALUE_OPTIONS.has(a) && next !== undefined && /^-[\d.]/.test(next)) { out.push(`${a}=${next}`); i++; }
    else out.push(a);
  }
  return out;
}

/** Parse the run options; positionals come back untouched.  'help' for -h. */
function parseOptions(cmd: string, args: readonly string[]): { opts: RunArgs; positionals: string[] } | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(args),
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
    if (existsSync(f) && statSync(f).isDirectory()) throw new UsageError(`--${k}: cannot write ${f}: it is a directory`);
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
  const outputs = openOutputs(a);
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

  io.out(`outcome: ${r.outcome} at tick ${r.ticks}${r.panic ? `: ${r.panic.message}` : ''}`);
  const faulted = [...m.kernel.procs.values()].filter((p) => p.fault !== null);
  if (!a.quiet) {
    for (const p of m.procs()) {
      const how = p.exitStatus !== null ? `exit status ${p.exitStatus}`
        : p.signal !== null ? `killed by signal ${p.signal}${p.core ? ' (core dumped)' : ''}${p.fault ? ` (${p.fault}${faultPlace(m.kernel.procs.get(p.pid)?.faultError)})` : ''}`
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

  const names = namesFromMachine(m);
  for (const o of outputs) {
    const text = o.opt === 'trace' ? JSON.stringify(toChromeTrace(events, { endTicks: r.ticks, deadlock: r.blocked, ncpu: a.ncpu, names, waitFor: graph }))
      : o.opt === 'ftrace' ? toFtrace(events, { ncpu: a.ncpu, names })
      : o.opt === 'record' ? JSON.stringify(recording)
      : toKtrace(events, { ncpu: a.ncpu, names });
    try {
      writeSync(o.fd, text);
    } catch (e) {
      throw new UsageError(`--${o.opt}: cannot write ${o.file}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    } finally {
      closeSync(o.fd);
    }
  }
  const code = r.outcome === 'idle' && faulted.length > 0 ? EXIT.fault : EXIT[r.outcome];
  return { code, m };
}

interface Output { opt: 'trace' | 'ftrace' | 'ktrace' | 'record'; file: string; fd: number }

/** Open every output file before the run, so that a bad path fails before it. */
function openOutputs(a: RunArgs): Output[] {
  const out: Output[] = [];
  for (const opt of ['trace', 'ftrace', 'ktrace', 'record'] as const) {
    const file = a[opt];
    if (file === undefined) continue;
    try {
      out.push({ opt, file, fd: openSync(file, 'w') });
    } catch (e) {
      for (const o of out) closeSync(o.fd);
      const why = (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
      throw new UsageError(`--${opt}: cannot write ${file}: ${why}`);
    }
  }
  return out;
}

/** Where a thrown error was thrown: " at file:line:col" of the first frame outside lwpkit. */
export function faultPlace(error: unknown, cwd = process.cwd()): string {
  if (!(error instanceof Error) || typeof error.stack !== 'string') return '';
  const own = [join(ROOT, 'src') + sep, join(ROOT, 'dist') + sep];
  for (const line of error.stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?\s*$/.exec(line);
    if (m === null) continue;
    const file = m[1]!.startsWith('file:') ? fileURLToPath(m[1]!) : m[1]!;
    // lwpkit's own code and dependencies are not the program; its bundled examples are.
    if (own.some((d) => file.startsWith(d))) continue;
    if (file.includes(`${sep}node_modules${sep}`) && !file.startsWith(ROOT + sep)) continue;
    const rel = relative(cwd, file);
    return ` at ${rel.startsWith('..') ? file : rel}:${m[2]}:${m[3]}`;
  }
  return '';
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

// --- check -------------------------------------------------------------------

/** The tsc of the program's project, else lwpkit's own; null when neither has one. */
function findTsc(program: string): string | null {
  for (const from of [program, join(ROOT, 'package.json')]) {
    try {
      const pkgJson = createRequire(from).resolve('typescript/package.json');
      const bin = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { bin?: { tsc?: string } }).bin?.tsc;
      if (bin !== undefined) return join(dirname(pkgJson), bin);
    } catch { /* not there: try the next */ }
  }
  return null;
}

/** node_modules/@types folders a program's check can use: its own project's, then lwpkit's. */
function typeRoots(program: string): string[] {
  const dirs: string[] = [];
  for (let d = dirname(program); ; d = dirname(d)) {
    dirs.push(join(d, 'node_modules', '@types'));
    if (dirname(d) === d) break;
  }
  dirs.push(join(ROOT, 'node_modules', '@types'), join(ROOT, '..', '@types'));
  return [...new Set(dirs)].filter((d) => existsSync(d));
}

/** paths for tsc: each `exports` subpath of lwpkit to its types (src/*.ts in a checkout). */
function lwpkitPaths(): Record<string, string[]> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | { types?: string }> };
  const fromSource = import.meta.url.endsWith('.ts');
  const paths: Record<string, string[]> = {};
  for (const [sub, entry] of Object.entries(pkg.exports)) {
    if (typeof entry === 'string' || entry.types === undefined) continue;
    const types = fromSource ? entry.types.replace(/^\.\/dist\//, './src/').replace(/\.d\.ts$/, '.ts') : entry.types;
    paths[sub === '.' ? 'lwpkit' : `lwpkit/${sub.slice(2)}`] = [join(ROOT, types)];
  }
  return paths;
}

function check(args: readonly string[], io: Io): number {
  if (args.includes('-h') || args.includes('--help')) { io.out(CHECK_HELP); return 0; }
  if (args.length === 0) throw new UsageError('check: missing the program to check (see lwpkit check --help)');
  if (args.length > 1) throw new UsageError(`check: one program only, got also '${args[1]}'`);
  const path = programPath('check', args[0]!);
  if (!/\.m?ts$/.test(path)) throw new UsageError(`check: ${args[0]}: expected a .ts or .mts program`);
  const tsc = findTsc(path);
  if (tsc === null) {
    io.err('lwpkit: check: no TypeScript compiler found; install one: npm install -D typescript');
    return EXIT.unavailable;
  }
  const roots = typeRoots(path);
  const withNode = roots.some((d) => existsSync(join(d, 'node')));
  const dir = mkdtempSync(join(tmpdir(), 'lwpkit-check-'));
  try {
    const config = {
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
        allowImportingTsExtensions: true, skipLibCheck: true, lib: withNode ? ['ES2022'] : ['ES2022', 'DOM'],
        typeRoots: roots, types: withNode ? ['node'] : [], paths: lwpkitPaths(),
      },
      files: [path],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config, null, 2));
    const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { encoding: 'utf8' });
    if (r.error !== undefined) throw new UsageError(`check: cannot run ${tsc}: ${r.error.message}`);
    const text = (r.stdout + r.stderr).trimEnd();
    if (r.status === 0) {
      io.out(`${args[0]}: no type errors`);
      return 0;
    }
    if (text !== '') io.out(text.split(/\r?\n/).map((l) => l.replace(path, args[0]!)).join('\n'));
    return 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
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
  const n = parseInteger(text);
  if (n === null || !Number.isSafeInteger(n)) throw new UsageError(`sysctl: ${name}: expected an integer value, got '${text}'`);
  return n;
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
