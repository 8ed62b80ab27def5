/*
 * One run of a scenario under a policy: build a fresh test and machine,
 * answer every decision through the policy, record the answers, judge the
 * outcome.
 */
import { Machine, type MachineOptions, type RunResult } from '../machine.ts';
import type { Chooser, DecisionKind } from '../engine/chooser.ts';
import type { Engine } from '../engine/engine.ts';
import type { ProgramFn } from '../sys/sys.ts';
import { SIGNAL_NAMES } from '../kern/h/signal.ts';
import { DecisionLog, KIND_LETTER, LETTER_KIND, type Schedule } from './schedule.ts';
import type { RunPolicy } from './strategy.ts';
import { setLockWatcher } from '../kern/mutex.ts';
import type { LockOrderWatcher } from './lockorder.ts';
import { fullPath } from './labels.ts';

/** What a scenario function returns: one fresh test. */
export interface Scenario {
  ncpu?: number;
  /** Spawned as pid 1. */
  main: ProgramFn;
  /** A failure message, or null.  Without it, the default check (see defaultCheck). */
  check?: (m: Machine, result: RunResult) => string | null | undefined | false;
  /** Machine options (ncpu, seed and chooser are set by the explorer). */
  machine?: Omit<MachineOptions, 'ncpu' | 'chooser' | 'record'>;
  maxTicks?: number;
  uid?: number;
  /** Called with the fresh machine before main is spawned (sysctl settings, kernel threads). */
  setup?: (m: Machine) => void;
}
export type ScenarioFn = () => Scenario;

/** The scenario a module describes: its `scenario` export, else its program (default or main) with its `check`. */
export function scenarioOf(mod: Record<string, unknown>): ScenarioFn | null {
  if (typeof mod.scenario === 'function') return mod.scenario as ScenarioFn;
  const main = typeof mod.default === 'function' ? mod.default : mod.main;
  if (typeof main !== 'function' || Object.prototype.toString.call(main) !== '[object GeneratorFunction]') return null;
  const check = typeof mod.check === 'function' ? (mod.check as Scenario['check']) : undefined;
  return () => ({ ncpu: 2, main: main as Scenario['main'], check });
}

export const DEFAULT_MAX_TICKS = 200_000;

/**
 * The default check: the run failed if it panicked or deadlocked, or if a
 * process was killed by a fault (a program that threw).
 */
export function defaultCheck(m: Machine, r: RunResult): string | null {
  if (r.outcome === 'panic') return `panic: ${r.panic!.message}`;
  if (r.outcome === 'deadlock') {
    return `deadlock: ${r.blocked!.map((b) => `${b.pid}.${b.lid} ${b.stat}${b.wchan === '' ? '' : ` on ${b.wchan}`}`).join(', ')}`;
  }
  for (const p of m.procs()) {
    if (p.fault !== null) return `process ${p.pid} killed by ${SIGNAL_NAMES[p.signal ?? 0] ?? `signal ${p.signal}`}: ${p.fault}`;
  }
  return null;
}

/** A replay whose run asks for a decision the schedule does not have there. */
export class ReplayDivergence extends Error {
  override readonly name = 'ReplayDivergence';
}

/** The chooser an explored machine runs on: asks the policy, records the answers. */
export class ExploreChooser implements Chooser {
  readonly log = new DecisionLog();
  policy: RunPolicy | null = null;
  /** Set when a strict replay diverged (the engine's error is also a panic of the run). */
  divergence: ReplayDivergence | null = null;
  choose(): number {
    throw new Error('ExploreChooser: choose() is not used; the engine asks decide()');
  }
  decide(kind: DecisionKind, n: number, cpu: number): number {
    let a: number;
    try {
      a = this.policy!.decide(kind, n, cpu);
    } catch (e) {
      if (e instanceof ReplayDivergence) this.divergence = e;
      throw e;
    }
    this.log.push(kind, n, a);
    return a;
  }
}

export interface RunOutcome {
  m: Machine;
  result: RunResult;
  log: DecisionLog;
  /** The failure message, or null. */
  failure: string | null;
}

/** Run the scenario once; `policy` gets the machine's engine. */
export function runScenario(
  sc: Scenario, makePolicy: (engine: Engine) => RunPolicy, onMachine?: (m: Machine) => void, watcher: LockOrderWatcher | null = null,
): RunOutcome {
  const chooser = new ExploreChooser();
  const m = new Machine({ ...sc.machine, ncpu: sc.ncpu ?? 2, chooser });
  chooser.policy = makePolicy(m.engine);
  onMachine?.(m);
  watcher?.startRun();
  setLockWatcher(watcher);
  // Deep enough for a kernel path in a panic's stack (kernelPath/stackChain).
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  let result: RunResult;
  try {
    sc.setup?.(m);
    m.spawn(sc.main, { name: sc.main.name || 'main', uid: sc.uid ?? 0 });
    result = m.run({ maxTicks: sc.maxTicks ?? DEFAULT_MAX_TICKS });
  } finally {
    setLockWatcher(null);
    Error.stackTraceLimit = limit;
  }
  if (chooser.divergence !== null) throw chooser.divergence;
  let verdict = sc.check !== undefined ? sc.check(m, result) : defaultCheck(m, result);
  if (typeof verdict === 'string' && verdict !== '' && result.outcome === 'panic') verdict += panicPath(m, result, watcher);
  return { m, result, log: chooser.log, failure: typeof verdict === 'string' && verdict !== '' ? verdict : null };
}

/**
 * Where a panic happened: the CPU, the LWP and its kernel path (every named
 * frame, outermost first), and with the lock detector on, the locks it held
 * and where it took them.
 */
export function panicPath(m: Machine, r: RunResult, watcher: LockOrderWatcher | null): string {
  const cpu = m.engine.cur;
  if (cpu === null) return '';
  const l = m.kernel.cpus[cpu.index]!.curlwp;
  const who = l === m.kernel.cpus[cpu.index]!.idlelwp ? 'the idle lwp' : `lwp ${l.proc.pid}.${l.lid}`;
  const held = watcher === null ? [] : watcher.heldBy(l);
  const err = (r.panic?.cause instanceof Error ? r.panic.cause : r.panic) ?? new Error();
  return ` [cpu${cpu.index}, ${who} in ${fullPath(cpu.thread.frames, err) || '?'}${held.length === 0 ? '' : `; holding ${held.join(', ')}`}]`;
}

/** A strict replay of a schedule: every decision must be the one recorded. */
export function strictPolicy(s: Pick<Schedule, 'kinds' | 'options' | 'answers'>): RunPolicy {
  let i = 0;
  return {
    decide(kind, n, cpu) {
      const at = i++;
      const where = `decision ${at} (${kind} with ${n} options${cpu >= 0 ? ` on cpu${cpu}` : ''})`;
      if (at >= s.answers.length) throw new ReplayDivergence(`replay diverged at ${where}: the schedule ends after ${s.answers.length} decisions`);
      const k = LETTER_KIND[s.kinds[at]!];
      if (k !== kind || s.options[at] !== n) throw new ReplayDivergence(`replay diverged at ${where}: the schedule has ${k} with ${s.options[at]} options there`);
      return s.answers[at]!;
    },
  };
}

/**
 * A guided replay (for shrinking): decision i takes the schedule's answer
 * when the run asks the same kind there and the answer fits, else 0; past
 * the end, 0.
 */
export function guidedPolicy(s: Pick<Schedule, 'kinds' | 'answers'>): RunPolicy {
  let i = 0;
  return {
    decide(kind, n) {
      const at = i++;
      if (at >= s.answers.length || s.kinds[at] !== KIND_LETTER[kind]) return 0;
      const a = s.answers[at]!;
      return a < n ? a : 0;
    },
  };
}

/** What a failure is, for "fails the same way": its message with numbers blanked. */
export function failureSignature(msg: string): string {
  return msg.replace(/\d+/g, '#');
}
