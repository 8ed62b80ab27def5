/*
 * lwpkit explore and lwpkit replay.
 *
 *   lwpkit explore prog.ts [--strategy S] [--runs N] [--time 60s] [--seed S] [--depth d]
 *                          [--bound B] [--workers N] [--out fail.json] [--ncpu N]
 *   lwpkit replay prog.ts fail.json [--trace t.json] [--ftrace f.txt] [--ktrace k.txt] [--ps]
 *
 * The module exports the program as `default` or `main`; it may export
 * `check` (m, result) => message | null, and `scenario`, a function that
 * builds a fresh scenario per run (src/explore/run.ts), which then wins.
 *
 * explore: on a TTY, a progress line on stderr.  On a failure: the
 * message, the shrunk schedule as a per-CPU interleaving table, the file
 * written (--out, default lwpkit-fail.json); exit 1.  Otherwise "N runs,
 * no failure" (and "every schedule within bound B explored" for an
 * exhausted dfs); exit 0.  replay: reruns the schedule, prints the
 * outcome, the table, and writes the traces asked for; exit 1 when the
 * failure reproduces, 0 when the run passes, 2 when the replay diverges.
 * A lock-order reversal (a cycle in the order graph of the kernel locks
 * taken over all the runs) is printed with its two acquisition paths and
 * makes the exit status 1 even when no run failed.
 * Usage errors: one line, exit 64.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { explore, replay, STRATEGIES, type ExploreReport, type StrategyName } from '../explore/explore.ts';
import { exploreParallel } from '../explore/workers.ts';
import { labelSchedule, interleavingTable } from '../explore/labels.ts';
import { formatReversal } from '../explore/lockorder.ts';
import { ReplayDivergence, scenarioOf, type ScenarioFn } from '../explore/run.ts';
import { parseSchedule, type Schedule } from '../explore/schedule.ts';
import { toChromeTrace } from '../trace/chrome.ts';
import { namesFromMachine } from '../trace/common.ts';
import { toFtrace } from '../trace/ftrace.ts';
import { toKtrace } from '../trace/ktrace.ts';
import { psTable } from '../report/ps.ts';
import type { KEvent } from '../kern/events.ts';
import type { Io } from './main.ts';

class ExploreUsage extends Error {}

export const EXPLORE_HELP = `usage: lwpkit explore <program.ts> [options]

Runs the program under many schedules (src/explore) and reports the first
that fails, shrunk, as a per-CPU interleaving table.  The module exports
the program as default or main; it may export check(m, result) and a
scenario() that builds a fresh test per run.  A run fails by default on a
panic, a deadlock, or a process killed by a fault.

options:
  --strategy S   ${STRATEGIES.join(' | ')} (default portfolio)
  --runs N       runs at most (default 10000)
  --time T       wall-time limit: 60s, 2m, 500ms (default none)
  --seed S       seed of the exploration (default 1)
  --depth d      pct's depth (default 3)
  --bound B      delay's and dfs's bound (default 2)
  --workers N    spread the runs over N worker threads (default 1)
  --out FILE     where to write the failing schedule (default lwpkit-fail.json)
  --ncpu N       CPUs (default: the scenario's, else 2)
  -h, --help     this help

exit status: 0 no failure, 1 a failure or a lock-order reversal found, 64 usage error`;

export const REPLAY_HELP = `usage: lwpkit replay <program.ts> <fail.json> [options]

Reruns a schedule written by lwpkit explore, exactly, and prints its
outcome and interleaving table.  A run that departs from the schedule
says at which decision, and stops.

options:
  --trace FILE    write a Chrome trace (Perfetto, chrome://tracing)
  --ftrace FILE   write a Linux ftrace text trace
  --ktrace FILE   write a kdump-style system call trace
  --ps            print the ps -s table at the end
  -h, --help      this help

exit status: 0 the run passes, 1 it fails, 2 the replay diverged, 64 usage error`;

/** A duration: 60s, 2m, 500ms, or plain milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (m === null) throw new ExploreUsage(`--time: expected a duration such as 60s, 2m or 500ms, got '${s}'`);
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000);
}

function intArg(name: string, v: string | undefined, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ExploreUsage(`--${name}: expected an integer from ${min} to ${max}, got '${v}'`);
  return n;
}

/** Load a program module as a scenario function. */
export async function loadScenario(cmd: string, arg: string, ncpu?: number): Promise<{ scenario: ScenarioFn; path: string }> {
  const path = resolve(arg);
  if (!existsSync(path)) throw new ExploreUsage(`${cmd}: ${arg}: no such file`);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(path).href) as Record<string, unknown>;
  } catch (e) {
    throw new ExploreUsage(`${cmd}: ${arg}: cannot load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  const base = scenarioOf(mod);
  if (base === null) throw new ExploreUsage(`${cmd}: ${arg}: exports neither a scenario nor a default or 'main' generator function`);
  const scenario: ScenarioFn = ncpu === undefined ? base : () => ({ ...base(), ncpu });
  return { scenario, path };
}

export async function exploreCommand(args: readonly string[], io: Io): Promise<number> {
  return guard(io, async () => {
    const p = parse(args, {
      strategy: { type: 'string' }, runs: { type: 'string' }, time: { type: 'string' }, seed: { type: 'string' },
      depth: { type: 'string' }, bound: { type: 'string' }, workers: { type: 'string' }, out: { type: 'string' },
      ncpu: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    });
    if (p.values.help) { io.out(EXPLORE_HELP); return 0; }
    if (p.positionals.length !== 1) throw new ExploreUsage('explore: expected one program (see lwpkit explore --help)');
    const v = p.values as Record<string, string | undefined>;
    const strategy = (v.strategy ?? 'portfolio') as StrategyName;
    if (!STRATEGIES.includes(strategy)) throw new ExploreUsage(`--strategy: unknown strategy '${strategy}' (known: ${STRATEGIES.join(', ')})`);
    const ncpu = v.ncpu === undefined ? undefined : intArg('ncpu', v.ncpu, 2, 1, 256);
    const opts = {
      strategy, runs: intArg('runs', v.runs, 10_000, 1), seed: intArg('seed', v.seed, 1, -(2 ** 31), 2 ** 31 - 1),
      depth: intArg('depth', v.depth, 3, 1, 10), bound: intArg('bound', v.bound, 2, 0, 100),
      timeLimitMs: v.time === undefined ? undefined : parseDuration(v.time),
      workers: intArg('workers', v.workers, 1, 1, 64),
    };
    const out = v.out ?? 'lwpkit-fail.json';
    const { scenario, path } = await loadScenario('explore', p.positionals[0]!, ncpu);
    const tty = process.stderr.isTTY === true;
    const onProgress = tty ? (q: { runs: number; decisions: number; elapsedMs: number }) => {
      process.stderr.write(`\r${q.runs} runs, ${Math.round(q.runs / (q.elapsedMs / 1000))} runs/s, ${q.decisions} decisions, ${strategy}   `);
    } : undefined;
    const report: ExploreReport = opts.workers > 1
      ? await exploreParallel(path, { ...opts, ncpu, onProgress })
      : explore(scenario, { ...opts, onProgress });
    if (tty) process.stderr.write('\r\x1b[K');
    for (const lor of report.lockOrder ?? []) io.out(formatReversal(lor));
    if (report.found === null) {
      const ex = report.exhausted !== undefined ? ` (exhaustive: every schedule within bound ${report.exhausted.bound} explored, ${report.exhausted.schedules} schedules)` : '';
      io.out(`${report.runs} runs, no failure${ex}`);
      for (const g of report.guarantees ?? []) io.out(`  ${g}`);
      return report.lockOrder === undefined ? 0 : 1;
    }
    const f = report.found;
    io.out(`failure in run ${f.run + 1} (${f.strategy}): ${f.message}`);
    const b = f.size, a = f.shrunkSize;
    io.out(`shrunk: ${b.nondefault} non-default decisions (${b.delays} delays, ${b.preemptions} preemptions) of ${b.decisions} -> ${a.nondefault} (${a.delays} delays, ${a.preemptions} preemptions) of ${a.decisions}`);
    const lab = labelSchedule(scenario, f.shrunk);
    io.out('');
    io.out(interleavingTable(lab.labels, f.shrunk.ncpu, lab.failure));
    io.out('');
    try {
      writeFileSync(out, JSON.stringify(f.shrunk) + '\n');
    } catch (e) {
      throw new ExploreUsage(`--out: cannot write ${out}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
    io.out(`wrote ${out} (replay: lwpkit replay ${p.positionals[0]} ${out})`);
    return 1;
  });
}

export async function replayCommand(args: readonly string[], io: Io): Promise<number> {
  return guard(io, async () => {
    const p = parse(args, {
      trace: { type: 'string' }, ftrace: { type: 'string' }, ktrace: { type: 'string' }, ps: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (p.values.help) { io.out(REPLAY_HELP); return 0; }
    if (p.positionals.length !== 2) throw new ExploreUsage('replay: expected a program and a schedule file (see lwpkit replay --help)');
    const [prog, file] = p.positionals as [string, string];
    const v = p.values as Record<string, string | boolean | undefined>;
    const { scenario } = await loadScenario('replay', prog);
    let schedule: Schedule;
    try {
      schedule = parseSchedule(JSON.parse(readFileSync(file, 'utf8')));
    } catch (e) {
      throw new ExploreUsage(`replay: ${file}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
    const events: KEvent[] = [];
    let r;
    try {
      r = replay(scenario, schedule, (m) => { if (v.trace || v.ftrace || v.ktrace) m.on((e) => events.push(e)); });
    } catch (e) {
      if (e instanceof ReplayDivergence) { io.out(e.message); return 2; }
      throw e;
    }
    const { m, result, failure } = r;
    io.out(`outcome: ${result.outcome} at tick ${result.ticks}${failure === null ? ', no failure' : `: ${failure}`}`);
    const lab = labelSchedule(scenario, schedule);
    io.out('');
    io.out(interleavingTable(lab.labels, schedule.ncpu, null));
    const names = namesFromMachine(m);
    const write = (opt: string, f: string, text: string): void => {
      try {
        writeFileSync(f, text);
      } catch (e) {
        throw new ExploreUsage(`--${opt}: cannot write ${f}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      }
      io.out(`wrote ${f}`);
    };
    if (typeof v.trace === 'string') write('trace', v.trace, JSON.stringify(toChromeTrace(events, { endTicks: result.ticks, deadlock: result.blocked, ncpu: schedule.ncpu, names })));
    if (typeof v.ftrace === 'string') write('ftrace', v.ftrace, toFtrace(events, { ncpu: schedule.ncpu, names }));
    if (typeof v.ktrace === 'string') write('ktrace', v.ktrace, toKtrace(events, { ncpu: schedule.ncpu, names }));
    if (v.ps === true) {
      io.out('');
      io.out(psTable(m));
    }
    return failure === null ? 0 : 1;
  });
}

function parse(args: readonly string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new ExploreUsage(e instanceof Error ? e.message.split('\n')[0]! : String(e));
  }
}

async function guard(io: Io, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ExploreUsage) {
      io.err(`lwpkit: ${e.message}`);
      return 64;
    }
    io.err(`lwpkit: internal error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    return 70;
  }
}
