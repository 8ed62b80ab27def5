/* Shared test helpers: run a program to completion and return what it saw. */
import assert from 'node:assert/strict';
import { Machine, SyscallError, type MachineOptions, type RunResult, type Sys } from '../src/index.ts';

export interface Ran<T> {
  m: Machine;
  r: RunResult;
  pid: number;
  /** What main returned (its `out` object). */
  out: T;
}

/** Run main(sys, out) as a process and return the machine, result and out. */
let current: Machine | null = null;

/** The machine runMain is running now: programs read its clock and ps through it (tests only). */
export function running(): Machine {
  if (current === null) throw new Error('running(): no runMain in progress');
  return current;
}

export function runMain<T extends object>(
  main: (sys: Sys, out: T) => Generator<any, unknown, any>,
  out: T,
  opts: MachineOptions = {},
  maxTicks = 1_000_000,
): Ran<T> {
  const m = new Machine({ ncpu: 2, seed: 1, ...opts });
  const pid = m.spawn(main, { name: 'test', arg: out });
  current = m;
  const r = m.run({ maxTicks });
  current = null;
  return { m, r, pid, out };
}

/** Run a system call and return its errno code ('' on success). */
export function* errnoOf(g: Generator<any, unknown, any>): Generator<any, string, any> {
  try {
    yield* g;
    return '';
  } catch (e) {
    if (e instanceof SyscallError) return e.code;
    throw e;
  }
}

export function assertIdle(r: RunResult): void {
  assert.equal(r.outcome, 'idle', r.panic ? `panic: ${r.panic.message}` : `outcome ${r.outcome} ${JSON.stringify(r.blocked ?? '')}`);
}
