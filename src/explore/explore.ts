/*
 * explore() and replay(): the API of schedule exploration.
 *
 *   const report = explore(scenario, { strategy: 'portfolio', runs: 20_000, seed: 1 });
 *   if (report.found) replay(scenario, report.found.shrunk);
 *
 * Runs are numbered from 0; run r uses the strategy's policy for r with a
 * PRNG seeded from (seed, r).  The first failing run (lowest index) is the
 * one reported, so a report depends only on the scenario, strategy, seed
 * and runs, not on how the runs were spread over workers.
 */
import { SeededChooser } from '../engine/chooser.ts';
import type { Machine, RunResult } from '../machine.ts';
import { DelayStrategy } from './delay.ts';
import { DfsStrategy } from './dfs.ts';
import { PctStrategy } from './pct.ts';
import { PortfolioStrategy } from './portfolio.ts';
import { PosStrategy } from './pos.ts';
import { RandomStrategy } from './random.ts';
import { SeedsStrategy } from './seeds.ts';
import { ReplayDivergence, runScenario, strictPolicy, type RunOutcome, type ScenarioFn } from './run.ts';
import { LWPKIT_VERSION, parseSchedule, scheduleSize, type Schedule, type ScheduleSize } from './schedule.ts';
import { shrinkSchedule } from './shrink.ts';
import { runSeed, type Strategy } from './strategy.ts';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { LockOrderWatcher, OrderGraph, type LockOrderReversal, type OrderEdge } from './lockorder.ts';

export const STRATEGIES = ['portfolio', 'random', 'pct', 'pos', 'delay', 'dfs', 'seeds'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

export interface ExploreOptions {
  strategy?: StrategyName | Strategy;
  /** Runs at most (dfs: schedules at most).  Default 1000. */
  runs?: number;
  seed?: number;
  /** Stop after this much wall time (checked between runs). */
  timeLimitMs?: number;
  /** pct's depth (default 3: the portfolio runs 1, 2 and 3). */
  depth?: number;
  /** delay's and dfs's bound B (default 2). */
  bound?: number;
  /** dfs: sleep-set partial-order reduction (default true; false searches the whole tree). */
  por?: boolean;
  /** Spread runs over N worker threads; needs `module` (the scenario's module path). */
  workers?: number;
  /** The module whose `scenario` export (or default/main) builds the scenario, for workers. */
  module?: string;
  /** A file to save progress in; an exploration started with the same file resumes it. */
  checkpoint?: string;
  /** Shrink the failing schedule (default true). */
  shrink?: boolean;
  /** Called every `progressEvery` runs (the CLI's progress line). */
  onProgress?: (p: { runs: number; decisions: number; elapsedMs: number }) => void;
}

export interface Found {
  run: number;
  strategy: string;
  message: string;
  schedule: Schedule;
  shrunk: Schedule;
  size: ScheduleSize;
  shrunkSize: ScheduleSize;
}

export interface StrategyStats { runs: number; decisions: number; failures: number }

export interface ExploreReport {
  found: Found | null;
  runs: number;
  decisions: number;
  elapsedMs: number;
  perStrategy: Record<string, StrategyStats>;
  /** dfs: every schedule within the bound was run. */
  exhausted?: { bound: number; schedules: number };
  /** Guarantees the strategies give (pct's bound). */
  guarantees?: string[];
  /** Lock-order reversals: cycles in the order graph of the kernel locks taken in all the runs. */
  lockOrder?: LockOrderReversal[];
}

/** Build the named strategy. */
export function makeStrategy(name: StrategyName, seed: number, depth = 3, bound = 2, por = true): Strategy {
  switch (name) {
    case 'random': return new RandomStrategy();
    case 'pct': return new PctStrategy(depth);
    case 'pos': return new PosStrategy();
    case 'delay': return new DelayStrategy(bound);
    case 'dfs': return new DfsStrategy(bound, { por });
    case 'seeds': return new SeedsStrategy(seed);
    case 'portfolio':
      return new PortfolioStrategy([
        new RandomStrategy(), new PctStrategy(1), new DelayStrategy(1), new PctStrategy(2), new PosStrategy(),
        new DelayStrategy(2), new PctStrategy(3), new RandomStrategy({ pDelay: 0.2, pJitter: 0.2, pPreempt: 0.1 }), new DelayStrategy(4),
      ]);
  }
  throw new RangeError(`unknown strategy '${String(name)}' (known: ${STRATEGIES.join(', ')})`);
}

/** Decisions of a run with every default answer, and the threads it ran: what strategies calibrate on. */
export function calibrate(scenario: ScenarioFn, strategy: Strategy): void {
  if (strategy.calibrate === undefined) return;
  const tids = new Set<number>();
  let steps = 0;
  runScenario(scenario(), (engine) => ({
    decide(kind, _n, cpu) {
      if (kind === 'cpu') {
        for (const c of engine.readyCpus()) tids.add(c.thread.tid);
        steps++;
      } else if (kind === 'delay') {
        tids.add(engine.cpus[cpu]!.thread.tid);
        steps++;
      }
      return 0;
    },
  }));
  strategy.calibrate(steps, tids.size);
}

export interface RunRecord {
  run: number;
  strategy: string;
  decisions: number;
  failure: string | null;
  schedule: Schedule | null;
  /** Lock-order edges this run made (held -> taken). */
  edges: OrderEdge[];
}

/** Run r of a strategy (already calibrated); the schedule is kept only for a failure. */
export function exploreRun(scenario: ScenarioFn, strategy: Strategy, seed: number, run: number, watcher: LockOrderWatcher | null = null): RunRecord {
  const sc = scenario();
  const member = strategy instanceof PortfolioStrategy ? strategy.member(run) : strategy;
  let out = runScenario(sc, (engine) => strategy.begin({ engine, rng: new SeededChooser(runSeed(seed, run)), run }), undefined, watcher);
  strategy.end?.(out.log);
  if (watcher !== null && !watcher.capture && (watcher.fresh || out.failure !== null)) out = withPaths(scenario, out, watcher);
  const schedule = out.failure === null ? null : {
    lwpkit: LWPKIT_VERSION, strategy: member.name, seed, run,
    ncpu: sc.ncpu ?? 2, machine: { ...(sc.machine ?? {}) } as Record<string, unknown>, maxTicks: sc.maxTicks ?? 200_000,
    kinds: out.log.kinds.join(''), options: out.log.options, answers: out.log.answers,
  };
  return { run, strategy: member.name, decisions: out.log.length, failure: out.failure, schedule, edges: watcher === null ? [] : [...watcher.runEdges.values()] };
}

/**
 * Replay a run exactly with the watcher capturing: the paths of the edges
 * it made first, and for a failure, where its panic took the locks it
 * held.  A scenario that does not replay keeps the run as it was.
 */
function withPaths(scenario: ScenarioFn, out: RunOutcome, watcher: LockOrderWatcher): RunOutcome {
  const sc = scenario();
  const log = { kinds: out.log.kinds.join(''), options: out.log.options, answers: out.log.answers };
  watcher.capture = true;
  watcher.replays++;
  try {
    const again = runScenario(sc, () => strictPolicy(log), undefined, watcher);
    return { ...again, log: out.log };
  } catch (e) {
    if (e instanceof ReplayDivergence) return out;
    throw e;
  } finally {
    watcher.capture = false;
    watcher.learn(watcher.runEdges.values());
  }
}

export function explore(scenario: ScenarioFn, opts: ExploreOptions = {}): ExploreReport {
  if ((opts.workers ?? 1) > 1) throw new Error('explore: workers > 1 runs asynchronously: use exploreParallel (or the CLI --workers)');
  const t0 = performance.now();
  const seed = opts.seed ?? 1;
  const runs = opts.runs ?? 1000;
  const strategy = typeof opts.strategy === 'object' ? opts.strategy : makeStrategy(opts.strategy ?? 'portfolio', seed, opts.depth, opts.bound, opts.por);
  calibrate(scenario, strategy);
  const state = opts.checkpoint !== undefined ? loadCheckpoint(opts.checkpoint, strategy.name, seed) : null;
  const perStrategy: Record<string, StrategyStats> = state?.perStrategy ?? {};
  let decisions = state?.decisions ?? 0;
  let r = state?.runs ?? 0;
  let failed: RunRecord | null = state?.found ?? null;
  if (state !== null && strategy.sequential) throw new Error(`explore: a ${strategy.name} exploration cannot resume from a checkpoint`);
  const watcher = new LockOrderWatcher(false);
  const graph = new OrderGraph();
  graph.add(state?.edges ?? []);
  watcher.learn(graph.edges.values());
  for (; failed === null && r < runs; r++) {
    if (strategy.exhausted?.() === true) break;
    if (opts.timeLimitMs !== undefined && performance.now() - t0 > opts.timeLimitMs) break;
    const rec = exploreRun(scenario, strategy, seed, r, watcher);
    graph.add(rec.edges);
    tally(perStrategy, rec);
    decisions += rec.decisions;
    if (rec.failure !== null) failed = rec;
    if (opts.onProgress !== undefined && (r & 255) === 255) opts.onProgress({ runs: r + 1, decisions, elapsedMs: performance.now() - t0 });
    if (opts.checkpoint !== undefined && (r & 1023) === 1023) saveCheckpoint(opts.checkpoint, { strategy: strategy.name, seed, runs: r + 1, decisions, perStrategy, found: failed, edges: [...graph.edges.values()] });
  }
  if (failed !== null && r === failed.run) r++;
  if (opts.checkpoint !== undefined) saveCheckpoint(opts.checkpoint, { strategy: strategy.name, seed, runs: r, decisions, perStrategy, found: failed, edges: [...graph.edges.values()] });
  return finish(scenario, strategy, failed, r, decisions, perStrategy, t0, opts.shrink ?? true, graph);
}

export function tally(perStrategy: Record<string, StrategyStats>, rec: RunRecord): void {
  const s = (perStrategy[rec.strategy] ??= { runs: 0, decisions: 0, failures: 0 });
  s.runs++;
  s.decisions += rec.decisions;
  if (rec.failure !== null) s.failures++;
}

export function finish(
  scenario: ScenarioFn, strategy: Strategy, failed: RunRecord | null, runs: number, decisions: number,
  perStrategy: Record<string, StrategyStats>, t0: number, shrink: boolean, graph: OrderGraph,
): ExploreReport {
  let found: Found | null = null;
  if (failed !== null) {
    const schedule = failed.schedule!;
    const shrunk = shrink ? shrinkSchedule(scenario, schedule, failed.failure!).schedule : schedule;
    found = { run: failed.run, strategy: failed.strategy, message: failed.failure!, schedule, shrunk, size: scheduleSize(schedule), shrunkSize: scheduleSize(shrunk) };
  }
  const report: ExploreReport = { found, runs, decisions, elapsedMs: Math.round(performance.now() - t0), perStrategy };
  const members = strategy instanceof PortfolioStrategy ? strategy.members : [strategy];
  const guarantees = members.map((s) => s.guarantee?.() ?? null).filter((g): g is string => g !== null);
  if (guarantees.length !== 0) report.guarantees = [...new Set(guarantees)];
  const lor = graph.reversals();
  if (lor.length !== 0) report.lockOrder = lor;
  if (found === null && strategy.exhausted?.() === true) report.exhausted = { bound: (strategy as DfsStrategy).bound, schedules: runs };
  return report;
}

/**
 * Rerun a schedule exactly.  A run that asks a decision the schedule does
 * not have at that point throws a ReplayDivergence saying where.
 */
export function replay(scenario: ScenarioFn, schedule: Schedule | unknown, onMachine?: (m: Machine) => void): { m: Machine; result: RunResult; failure: string | null } {
  const s = parseSchedule(schedule);
  const sc = scenario();
  const out = runScenario({ ...sc, ncpu: s.ncpu, maxTicks: s.maxTicks }, () => strictPolicy(s), onMachine);
  if (out.log.length !== s.answers.length) {
    throw new ReplayDivergence(`replay diverged: the run ended after ${out.log.length} decisions; the schedule has ${s.answers.length}`);
  }
  return { m: out.m, result: out.result, failure: out.failure };
}
