/*
 * The lwpkit command line.
 *
 *   lwpkit run <program.ts|js|example:NAME> [--ncpu N] [--seed S] [--ticks T]
 *              [--personality netbsd-6|netbsd-4] [--trace out.json]
 *              [--ftrace out.txt] [--ktrace out.txt] [--ps] [--quiet]
 *   lwpkit examples
 *   lwpkit [command] --help
 *
 * Contract:
 *  - main(argv, io) never throws and returns the exit status: for run, 0
 *    idle, 1 deadlock, 2 panic, 3 limit; 64 (EX_USAGE) for a usage error,
 *    a program that cannot be loaded or an output file that cannot be
 *    written.  A usage error is ONE line on stderr, "lwpkit: <what>", no
 *    stack trace.
 *  - A program module's default export, or else its export `main`, must be
 *    a generator function; it is spawned as process 1 under the module's
 *    base name, and the machine runs until it stops.
 *  - stdout (without --quiet): the outcome, each process's exit status, the
 *    run's ticks/steps and the switches per CPU (kernel.cpus[i].nswtch),
 *    then the ps table with --ps.  With --quiet only the outcome line.
 *  - Examples are examples/*.ts whose text exports a `main` (demo.ts and
 *    show.ts, the helpers, are skipped); they are found by reading the
 *    files, never by importing them.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Machine, PERSONALITIES, type KEvent, type ProgramFn, type RunResult } from '../index.ts';
import { toChromeTrace } from '../trace/chrome.ts';
import { namesFromMachine } from '../trace/common.ts';
import { toFtrace } from '../trace/ftrace.ts';
import { toKtrace } from '../trace/ktrace.ts';

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

const stdio: Io = {
  out: (s) => process.stdout.write(s + '\n'),
  err: (s) => process.stderr.write(s + '\n'),
};

export const EXIT = { idle: 0, deadlock: 1, panic: 2, limit: 3, usage: 64 } as const;

/** The examples directory: ../../examples from this file. */
export const EXAMPLES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../examples');
const HELPERS = new Set(['demo.ts', 'show.ts']);

/** A usage error: reported as one line, exit 64. */
class UsageError extends Error {}

const MAIN_HELP = `usage: lwpkit <command> [options]

commands:
  run <program>   run a program on the model machine
  examples        list the example programs

lwpkit <command> --help shows a command's options.`;

const RUN_HELP = `usage: lwpkit run <program.ts|program.js|example:NAME> [options]

Runs the module's default export (or its export \`main\`), a generator
function (sys) => ..., as process 1, until nothing can run.

options:
  --ncpu N          number of CPUs, 1..256 (default 4)
  --seed S          seed of the scheduler's choices, an integer (default 1)
  --ticks T         stop after T ticks of virtual time, 1..1e12 (default 1000000)
  --personality P   kernel personality: ${Object.keys(PERSONALITIES).join(' | ')} (default netbsd-6)
  --trace FILE      write a Chrome trace (Perfetto, chrome://tracing)
  --ftrace FILE     write a Linux ftrace text trace
  --ktrace FILE     write a kdump-style system call trace
  --ps              print the ps table at the end
  --quiet           print only the outcome line
  -h, --help        this help

exit status: 0 idle, 1 deadlock, 2 panic, 3 limit, 64 usage error`;

const EXAMPLES_HELP = `usage: lwpkit examples

Lists the example programs, to run with: lwpkit run example:NAME`;

export async function main(argv: readonly string[], io: Io = stdio): Promise<number> {
  try {
    const [cmd, ...rest] = argv;
    if (cmd === undefined) throw new UsageError('missing command: run or examples (see lwpkit --help)');
    if (cmd === '-h' || cmd === '--help' || cmd === 'help') {
      io.out(MAIN_HELP);
      return 0;
    }
    if (cmd === 'run') return await run(rest, io);
    if (cmd === 'examples') return examples(rest, io);
    throw new UsageError(`unknown command '${cmd}' (commands: run, examples; see lwpkit --help)`);
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

// --- run ---------------------------------------------------------------------

interface RunArgs {
  file: string;
  ncpu: number;
  seed: number;
  ticks: number;
  personality: string;
  trace?: string;
  ftrace?: string;
  ktrace?: string;
  ps: boolean;
  quiet: boolean;
}

function intOption(name: string, v: string | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!/^-?\d+$/.test(v.trim())) throw new UsageError(`--${name}: expected an integer, got '${v}'`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name}: ${v} is out of range (${min}..${max})`);
  return n;
}

function parseRun(args: readonly string[]): RunArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        ncpu: { type: 'string' }, seed: { type: 'string' }, ticks: { type: 'string' },
        personality: { type: 'string' }, trace: { type: 'string' }, ftrace: { type: 'string' },
        ktrace: { type: 'string' }, ps: { type: 'boolean' }, quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    // parseArgs' messages are long and multi-line: keep the first sentence.
    const msg = e instanceof Error ? e.message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '') : String(e);
    throw new UsageError(`run: ${msg} (see lwpkit run --help)`);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (parsed.positionals.length === 0) throw new UsageError('run: missing the program to run (see lwpkit run --help)');
  if (parsed.positionals.length > 1) throw new UsageError(`run: one program only, got also '${parsed.positionals[1]}'`);
  const personality = v.personality ?? 'netbsd-6';
  if (PERSONALITIES[personality] === undefined) throw new UsageError(`--personality: unknown personality '${personality}' (known: ${Object.keys(PERSONALITIES).join(', ')})`);
  const out: RunArgs = {
    file: parsed.positionals[0]!,
    ncpu: intOption('ncpu', v.ncpu, 4, 1, 256),
    seed: intOption('seed', v.seed, 1, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    ticks: intOption('ticks', v.ticks, 1_000_000, 1, 1e12),
    personality,
    ps: v.ps ?? false,
    quiet: v.quiet ?? false,
  };
  for (const k of ['trace', 'ftrace', 'ktrace'] as const) {
    const f = v[k];
    if (f === undefined) continue;
    if (f === '') throw new UsageError(`--${k}: empty file name`);
    const dir = dirname(resolve(f));
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--${k}: cannot write ${f}: directory ${dir} does not exist`);
    out[k] = f;
  }
  return out;
}

/** The file a program argument names: a path, or example:NAME. */
function programPath(arg: string): string {
  if (arg.startsWith('example:')) {
    const name = arg.slice('example:'.length);
    const ex = listExamples().find((e) => e.name === name);
    if (ex === undefined) {
      const known = listExamples().map((e) => e.name).join(', ');
      throw new UsageError(`run: no example '${name}' (examples: ${known || 'none'})`);
    }
    return ex.path;
  }
  const path = resolve(arg);
  if (!existsSync(path)) throw new UsageError(`run: ${arg}: no such file`);
  if (!statSync(path).isFile()) throw new UsageError(`run: ${arg}: not a file`);
  const ext = extname(path);
  if (!['.ts', '.js', '.mjs', '.mts'].includes(ext)) throw new UsageError(`run: ${arg}: expected a .ts or .js module`);
  return path;
}

async function loadProgram(path: string, shown: string): Promise<ProgramFn> {
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(path).href) as Record<string, unknown>;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new UsageError(`run: ${shown}: cannot load: ${msg}`);
  }
  const fn = typeof mod.default === 'function' ? mod.default : mod.main;
  if (typeof fn !== 'function') throw new UsageError(`run: ${shown}: exports neither a default nor a 'main' function`);
  if (Object.prototype.toString.call(fn) !== '[object GeneratorFunction]') {
    throw new UsageError(`run: ${shown}: '${fn.name || 'default'}' is not a generator function (function*)`);
  }
  return fn as ProgramFn;
}

async function run(args: readonly string[], io: Io): Promise<number> {
  const a = parseRun(args);
  if (a === 'help') { io.out(RUN_HELP); return 0; }
  const path = programPath(a.file);
  const program = await loadProgram(path, a.file);
  const name = basename(path).replace(/\.[^.]+$/, '').replace(/^cli-/, '');

  const m = new Machine({ ncpu: a.ncpu, seed: a.seed, personality: a.personality });
  const events: KEvent[] = [];
  if (a.trace !== undefined || a.ftrace !== undefined || a.ktrace !== undefined) m.on((e) => events.push(e));
  let r: RunResult;
  try {
    m.spawn(program, { name });
    r = m.run({ maxTicks: a.ticks });
  } catch (e) {
    throw new UsageError(`run: ${a.file}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }

  const names = namesFromMachine(m);
  const write = (opt: string, file: string, text: string) => {
    try {
      writeFileSync(file, text);
    } catch (e) {
      throw new UsageError(`--${opt}: cannot write ${file}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  };
  if (a.trace !== undefined) write('trace', a.trace, JSON.stringify(toChromeTrace(events, { endTicks: r.ticks, deadlock: r.blocked, ncpu: a.ncpu, names })));
  if (a.ftrace !== undefined) write('ftrace', a.ftrace, toFtrace(events, { ncpu: a.ncpu, names }));
  if (a.ktrace !== undefined) write('ktrace', a.ktrace, toKtrace(events, { ncpu: a.ncpu, names }));

  io.out(`outcome: ${r.outcome} at tick ${r.ticks}${r.panic ? `: ${r.panic.message}` : ''}`);
  if (!a.quiet) {
    if (r.blocked) for (const b of r.blocked) io.out(`  blocked: ${b.pid}.${b.lid} ${b.stat} ${b.wchan}`.trimEnd());
    for (const p of m.procs()) {
      const how = p.exitStatus !== null ? `exit status ${p.exitStatus}`
        : p.signal !== null ? `killed by signal ${p.signal}${p.fault ? ` (${p.fault})` : ''}`
        : `still ${p.stat}`;
      io.out(`process ${p.pid} (${p.name}): ${how}`);
    }
    const sw = m.kernel.cpus.map((c, i) => `cpu${i} ${c.nswtch}`).join(', ');
    io.out(`ticks ${r.ticks}, steps ${r.steps}, switches: ${sw}`);
    if (a.ps) {
      io.out('');
      io.out(psTable(m));
    }
  }
  return EXIT[r.outcome];
}

/** The ps table: one row per LWP not yet reaped. */
export function psTable(m: Machine): string {
  const head = ['PID', 'LID', 'STAT', 'CPU', 'PRI', 'WCHAN', 'NAME', 'FLAGS'];
  const cells = m.ps().map((r) => [r.pid, r.lid, r.stat, r.cpu, r.pri, r.wchan || '-', r.name || '-', r.flags.join(',') || '-'].map(String));
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const fmt = (c: string[]) => c.map((s, i) => s.padEnd(width[i]!)).join('  ').trimEnd();
  return [fmt(head), ...cells.map(fmt)].join('\n');
}
