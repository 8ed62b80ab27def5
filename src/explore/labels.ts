/*
 * Labels of decisions, for reports: which CPU, which LWP, what was about
 * to happen (the choice point's lock or object) and in which kernel
 * function; and the per-CPU interleaving table of a schedule (Lincheck's
 * table is the model: one column per CPU, one row per decision that
 * mattered).  Labels are computed only when a report is made, by
 * replaying the schedule, so exploring pays nothing for them.
 */
import type { DecisionKind } from '../engine/chooser.ts';
import { DELAY_TICKS, type Cpu } from '../engine/engine.ts';
import type { Gen } from '../engine/coroutine.ts';
import type { Machine } from '../machine.ts';
import * as exit from '../kern/exit.ts';
import * as lwkt from '../kern/lwkt.ts';
import * as lwp from '../kern/lwp.ts';
import * as lwpctl from '../kern/lwpctl.ts';
import * as mutex from '../kern/mutex.ts';
import * as park from '../kern/park.ts';
import * as proc from '../kern/proc.ts';
import * as resource from '../kern/resource.ts';
import * as sig from '../kern/sig.ts';
import * as single from '../kern/single.ts';
import * as sleepq from '../kern/sleepq.ts';
import * as specific from '../kern/specific.ts';
import * as synch from '../kern/synch.ts';
import * as sysLwp from '../sys/sys_lwp.ts';
import * as sysLwp2 from '../sys/sys_lwp2.ts';
import * as sysProc from '../sys/sys_proc.ts';
import * as sysSched from '../sys/sys_sched.ts';
import * as sysSig from '../sys/sys_sig.ts';
import { runScenario, strictPolicy, type ScenarioFn } from './run.ts';
import { parseSchedule, type Schedule } from './schedule.ts';

export interface DecisionLabel {
  index: number;
  kind: DecisionKind;
  options: number;
  answer: number;
  /** Virtual time of the decision. */
  t: number;
  cpu: number;
  /** pid.lid of the LWP on that CPU, or 'idle'. */
  lwp: string;
  /** The choice point's label (a lock, a token, an IPI), or '' in a burst or user code. */
  what: string;
  /** Innermost known kernel functions on the LWP's stack, innermost last. */
  fn: string;
}

let names: Map<object, string> | null = null;
/** Generator prototypes of the kernel's and system calls' exported generator functions, by name. */
function functionNames(): Map<object, string> {
  if (names !== null) return names;
  names = new Map();
  for (const mod of [exit, lwkt, lwp, lwpctl, mutex, park, proc, resource, sig, single, sleepq, specific, synch, sysLwp, sysLwp2, sysProc, sysSched, sysSig]) {
    for (const v of Object.values(mod)) {
      if (typeof v === 'function' && v.constructor?.name === 'GeneratorFunction' && v.prototype !== undefined) names.set(v.prototype as object, v.name);
    }
  }
  return names;
}

/** Name more generator functions in labels and panic paths (a test's or a module's own kernel code). */
export function nameKernelFunctions(fns: Record<string, unknown>): void {
  const map = functionNames();
  for (const [name, v] of Object.entries(fns)) {
    if (typeof v === 'function' && v.prototype !== undefined) map.set(v.prototype as object, name);
  }
}

const PLUMBING = new Set(['mutexEnter', 'lwpLock', 'call', 'sleeptabLookup']);

/** The two innermost named kernel functions of a stack, plumbing (lock entry) excepted. */
export function kernelFunction(frames: readonly Gen<unknown>[]): string {
  const map = functionNames();
  const out: string[] = [];
  for (let i = frames.length - 1; i >= 0 && out.length < 2; i--) {
    const n = map.get(Object.getPrototypeOf(frames[i]) as object);
    if (n !== undefined && !PLUMBING.has(n)) out.unshift(n);
  }
  return out.join(' > ');
}

/** Every named kernel function of a stack, outermost first. */
export function kernelPath(frames: readonly Gen<unknown>[]): string {
  const map = functionNames();
  const out: string[] = [];
  for (const f of frames) {
    const n = map.get(Object.getPrototypeOf(f) as object);
    if (n !== undefined) out.push(n);
  }
  return out.join(' > ');
}

const NOT_PATH = new Set(['kassert', 'take', 'panic', 'acquired', 'released', 'Error']);

/**
 * The generator functions running when `err` was made, outermost first:
 * the `yield*` chain of the engine frame being resumed (frames pushed by
 * call() are separate engine frames: see fullPath).
 */
export function stackChain(err: Error): string[] {
  const out: string[] = [];
  for (const line of (err.stack ?? '').split('\n').slice(1)) {
    const m = /^\s*at (?:Kernel\.)?([\w$.]+) \(/.exec(line);
    if (m === null) continue;
    const name = m[1]!;
    if (name.startsWith('Engine.') || name === 'runDetached') break;
    if (name.includes('.') || NOT_PATH.has(name)) continue;
    out.push(name);
  }
  return out.reverse();
}

/** The whole kernel path: the engine frames below the running one, then the running frame's yield* chain from `err`. */
export function fullPath(frames: readonly Gen<unknown>[], err: Error): string {
  const outer = kernelPath(frames.slice(0, -1));
  const inner = stackChain(err).join(' > ');
  return [outer, inner].filter((x) => x !== '').join(' > ');
}

function lwpOf(m: Machine, cpu: number): string {
  const l = m.kernel.cpus[cpu]?.curlwp;
  if (l === undefined || l === m.kernel.cpus[cpu]!.idlelwp) return 'idle';
  return `${l.proc.pid}.${l.lid}`;
}

/** Replay a schedule, labelling every decision. */
export function labelSchedule(scenario: ScenarioFn, schedule: Schedule): { labels: DecisionLabel[]; failure: string | null; m: Machine } {
  const s = parseSchedule(schedule);
  const labels: DecisionLabel[] = [];
  let mref: Machine | null = null;
  const sc = scenario();
  const out = runScenario({ ...sc, ncpu: s.ncpu, maxTicks: s.maxTicks }, (engine) => {
    const strict = strictPolicy(s);
    return {
      decide(kind, n, cpu) {
        const a = strict.decide(kind, n, cpu);
        const c: Cpu = kind === 'cpu' ? engine.readyCpus()[a]! : engine.cpus[cpu]!;
        const m = mref;
        labels.push({
          index: labels.length, kind, options: n, answer: a, t: engine.now, cpu: c.index,
          lwp: m === null ? '?' : lwpOf(m, c.index), what: c.what, fn: kernelFunction(c.thread.frames),
        });
        return a;
      },
    };
  }, (m) => { mref = m; });
  return { labels, failure: out.failure, m: out.m };
}

/** What a non-default answer did, in words. */
function effect(l: DecisionLabel): string {
  switch (l.kind) {
    case 'cpu': return 'runs first';
    case 'delay': return l.answer === 1 ? 'held back' : `stalled ${DELAY_TICKS[l.answer - 2]} ticks`;
    case 'jitter': return l.answer === 1 ? 'burst +1 tick' : 'burst x2';
    case 'preempt': return l.answer === 1 ? 'clock tick after 1' : 'clock tick halfway';
  }
}

/**
 * The interleaving table: one column per CPU, one row per decision that
 * mattered: every choice point an LWP passed (a lock it was about to take:
 * the order of these across the columns is the interleaving), and every
 * non-default answer (a CPU held back or stalled, a longer burst, an early
 * clock tick, another CPU first), each naming the LWP, the kernel function
 * and the lock.  The idle loops' choice points are left out unless a
 * decision there was not the default.
 */
export function interleavingTable(labels: readonly DecisionLabel[], ncpu: number, failure: string | null): string {
  const rows: string[][] = [];
  for (const l of labels) {
    const passed = l.kind === 'delay' && l.lwp !== 'idle';
    if (l.answer === 0 && !passed) continue;
    const cells = Array.from({ length: ncpu }, () => '');
    const what = l.what === '' ? '' : ` [${l.what}]`;
    const fn = l.fn === '' ? '' : ` ${l.fn}`;
    cells[l.cpu] = `${l.lwp}${fn}${what}${l.answer === 0 ? '' : ` ${effect(l)}`}`;
    rows.push([`${l.index}`, `${l.t}`, ...cells]);
  }
  const head = ['#', 't', ...Array.from({ length: ncpu }, (_, i) => `cpu${i}`)];
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.min(60, Math.max(...all.map((r) => r[i]!.length))));
  const fmt = (r: string[]): string => r.map((c, i) => (c.length > widths[i]! ? c.slice(0, widths[i]! - 1) + '…' : c.padEnd(widths[i]!))).join(' | ').trimEnd();
  const lines = [fmt(head), widths.map((w) => '-'.repeat(w)).join('-+-'), ...rows.map(fmt)];
  if (failure !== null) lines.push(`=> ${failure}`);
  return lines.join('\n');
}
