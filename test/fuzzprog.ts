/*
 * The fuzz programs: random LWP programs as plain data (fast-check
 * arbitraries) and the interpreter that runs one on a Machine.  Shared by
 * fuzz.test.ts (the properties) and golden.test.ts (pinned event streams).
 */
import fc from 'fast-check';
import {
  KernelPanic, LWP_DETACHED, LWP_SUSPENDED, Machine, SyscallError,
  type KEvent, type RunResult, type Sys,
} from '../src/index.ts';
export const MAX_TICKS = 200_000;
export const MAX_STEPS = 200_000;
/** Deepest chain of create/spawn from a root LWP. */
export const MAX_DEPTH = 3;
/** Creates plus spawns allowed in one run (the rest are skipped). */
export const BUDGET = 32;
export const MAX_SCRIPTS = 4;
export const MAX_OPS = 10;

/** Every errno a fuzzed program may legitimately see. */
export const ALLOWED_CODES = new Set(['ESRCH', 'EDEADLK', 'EINVAL', 'EINTR', 'ECHILD', 'ENOEXEC']);
/* ---------------------------------------------------------------- programs */

/**
 * An LWP target: the caller itself, one of its own children, any LWP ever
 * created in its process (live, zombie or gone), or any number.
 */
export type Target = { k: 'self' } | { k: 'child'; i: number } | { k: 'proc'; i: number } | { k: 'lit'; v: number };
/** A process target for waitpid: a child it spawned, or any number. */
export type PidTarget = { k: 'child'; i: number } | { k: 'lit'; v: number };

export type Op =
  | { op: 'create'; script: number; flags: number }
  | { op: 'wait'; t: Target }
  | { op: 'suspend'; t: Target }
  | { op: 'continue'; t: Target }
  | { op: 'detach'; t: Target }
  | { op: 'yield' }
  | { op: 'self' }
  | { op: 'compute'; n: number }
  | { op: 'sleep'; n: number }
  | { op: 'exit'; status: number }
  | { op: 'lwpExit' }
  | { op: 'throw' }
  | { op: 'spawn'; script: number }
  | { op: 'spawnThrower'; n: number }
  | { op: 'waitpid'; t: PidTarget }
  | { op: 'badCreate' }
  | { op: 'badSpawn' };

export type OpName = Op['op'];

export interface Program {
  ncpu: number;
  seed: number;
  /** Machine time slice and system-call cost (more preemption, other interleavings). */
  quantum: number;
  syscallCost: number;
  scripts: Op[][];
  /** Scripts the machine spawns as top-level processes. */
  roots: number[];
}

/** What the interpreter is told to do once its script is done (roots only). */
export type Final = { exit: number } | { throw: true } | null;

export interface LwpArg { s: number; d: number; fin?: Final }

export const LIDS_ANY = [0, 1, 2, 3, 4, 5, 6, 7, 8, -1, 999, 1.5, 0x7fffffff, 2 ** 31, -(2 ** 31) - 1, NaN];
/** Lids that cannot name another live LWP (no cycles of specific waits). */
export const LIDS_HARMLESS = [0, 0, 0, -1, 999, 1.5, 2 ** 31, NaN];
export const PIDS_ANY = [-1, 0, 1, 2, 3, 999, 1.5, -7];

export const flagsArb = fc.constantFrom(0, 0, 0, 0, LWP_DETACHED, LWP_DETACHED, LWP_SUSPENDED, LWP_DETACHED | LWP_SUSPENDED, 0x80000000, 0x100, -1, 1.5);
export const liveFlagsArb = fc.constantFrom(0, 0, 0, 0, LWP_DETACHED, LWP_DETACHED, 0x80000000, 0x100, -1, 1.5);

export function targetArb(lits: number[], sibs: boolean): fc.Arbitrary<Target> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ k: fc.constant('child' as const), i: fc.nat(7) }) },
    { weight: sibs ? 4 : 0, arbitrary: fc.record({ k: fc.constant('proc' as const), i: fc.nat(15) }) },
    { weight: 1, arbitrary: fc.constant({ k: 'self' as const }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('lit' as const), v: fc.constantFrom(...lits) }) },
  );
}

export const pidTargetArb: fc.Arbitrary<PidTarget> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('child' as const), i: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('lit' as const), v: fc.constantFrom(...PIDS_ANY) }) },
);

export interface OpSet {
  /** Which ops, with weights. */
  weights: Partial<Record<OpName, number>>;
  flags: fc.Arbitrary<number>;
  /** Targets of _lwp_wait. */
  waitT: fc.Arbitrary<Target>;
  /** Targets of suspend/continue/detach. */
  ctlT: fc.Arbitrary<Target>;
}

/** Everything. */
export const FULL: OpSet = {
  weights: {
    create: 8, wait: 6, suspend: 5, continue: 5, detach: 3, yield: 2, self: 1, compute: 5, sleep: 2,
    exit: 1, lwpExit: 2, throw: 1, spawn: 2, spawnThrower: 1, waitpid: 3, badCreate: 1, badSpawn: 1,
  },
  flags: flagsArb,
  waitT: targetArb(LIDS_ANY, true),
  ctlT: targetArb(LIDS_ANY, true),
};

/*
 * Programs that cannot deadlock on NetBSD either: nothing is ever
 * suspended, and specific waits only name the waiter's own children, so
 * there is no cycle of waits; every script is finite.  These must go idle.
 */
export const LIVE: OpSet = {
  weights: {
    create: 8, wait: 6, continue: 2, detach: 3, yield: 2, self: 1, compute: 5, sleep: 2,
    exit: 1, lwpExit: 2, throw: 1, spawn: 2, spawnThrower: 1, waitpid: 3, badCreate: 1, badSpawn: 1,
  },
  flags: liveFlagsArb,
  waitT: targetArb(LIDS_HARMLESS, false),
  ctlT: targetArb(LIDS_ANY, true),
};

/** LIVE without anything that ends the process early (for the isolation property). */
export const QUIET: OpSet = { ...LIVE, weights: { ...LIVE.weights, exit: 0, throw: 0, lwpExit: 0 } };

export function opArb(set: OpSet): fc.Arbitrary<Op> {
  const all: Record<OpName, fc.Arbitrary<Op>> = {
    create: fc.record({ op: fc.constant('create' as const), script: fc.nat(MAX_SCRIPTS - 1), flags: set.flags }),
    wait: fc.record({ op: fc.constant('wait' as const), t: set.waitT }),
    suspend: fc.record({ op: fc.constant('suspend' as const), t: set.ctlT }),
    continue: fc.record({ op: fc.constant('continue' as const), t: set.ctlT }),
    detach: fc.record({ op: fc.constant('detach' as const), t: set.ctlT }),
    yield: fc.constant({ op: 'yield' as const }),
    self: fc.constant({ op: 'self' as const }),
    compute: fc.record({ op: fc.constant('compute' as const), n: fc.integer({ min: 0, max: 60 }) }),
    sleep: fc.record({ op: fc.constant('sleep' as const), n: fc.integer({ min: 0, max: 120 }) }),
    exit: fc.record({ op: fc.constant('exit' as const), status: fc.constantFrom(0, 1, 7, 42, 255, 300, -1, 1.5) }),
    lwpExit: fc.constant({ op: 'lwpExit' as const }),
    throw: fc.constant({ op: 'throw' as const }),
    spawn: fc.record({ op: fc.constant('spawn' as const), script: fc.nat(MAX_SCRIPTS - 1) }),
    spawnThrower: fc.record({ op: fc.constant('spawnThrower' as const), n: fc.integer({ min: 0, max: 40 }) }),
    waitpid: fc.record({ op: fc.constant('waitpid' as const), t: pidTargetArb }),
    badCreate: fc.constant({ op: 'badCreate' as const }),
    badSpawn: fc.constant({ op: 'badSpawn' as const }),
  };
  const arbs: fc.WeightedArbitrary<Op>[] = [];
  for (const [name, w] of Object.entries(set.weights) as [OpName, number][]) {
    if (w > 0) arbs.push({ weight: w, arbitrary: all[name] });
  }
  return fc.oneof(...arbs);
}

export function scriptsArb(set: OpSet): fc.Arbitrary<Op[][]> {
  return fc.array(fc.array(opArb(set), { maxLength: MAX_OPS }), { minLength: 1, maxLength: MAX_SCRIPTS });
}

export const quantumArb = fc.constantFrom(100, 100, 1, 3, 20);
export const syscallCostArb = fc.constantFrom(1, 1, 0, 2);

export function programArb(set: OpSet, maxRoots = 2): fc.Arbitrary<Program> {
  return fc.record({
    ncpu: fc.integer({ min: 1, max: 8 }),
    seed: fc.integer({ min: 0, max: 0x7fffffff }),
    quantum: quantumArb,
    syscallCost: syscallCostArb,
    scripts: scriptsArb(set),
    roots: fc.array(fc.nat(MAX_SCRIPTS - 1), { minLength: 1, maxLength: maxRoots }),
  });
}

/* ------------------------------------------------------------- interpreter */

export interface ProcLog {
  /** Throws attempted by its LWPs. */
  throws: number;
  /** Statuses passed to exit() by its LWPs (attempts). */
  exits: number[];
  /** spawnThrower children it spawned. */
  throwers: Set<number>;
  /** Lids _lwp_create returned (and 1, the first LWP). */
  created: Set<number>;
  /** Lids _lwp_self returned to the interpreters that started. */
  selves: Set<number>;
  /** Lids known detached: created so, or detached by a successful _lwp_detach. */
  detached: Set<number>;
  /** Lids a successful _lwp_wait returned. */
  collected: number[];
}

export interface RunLog {
  codes: Map<string, number>;
  /** Broken expectations: disallowed codes, wrong results, exceptions that are not SyscallErrors. */
  unexpected: string[];
  procs: Map<number, ProcLog>;
  /** What waitpid returned. */
  reaped: { by: number; pid: number; status: number; signal: number }[];
  budget: number;
  skipped: number;
  /** Ops actually started, by name. */
  ops: Map<string, number>;
}

class FuzzFault extends Error {
  constructor() { super('fuzz-throw'); }
}

export function newLog(): RunLog {
  return { codes: new Map(), unexpected: [], procs: new Map(), reaped: [], budget: BUDGET, skipped: 0, ops: new Map() };
}

export function procLog(log: RunLog, pid: number): ProcLog {
  let pl = log.procs.get(pid);
  if (pl === undefined) {
    pl = { throws: 0, exits: [], throwers: new Set(), created: new Set([1]), selves: new Set(), detached: new Set(), collected: [] };
    log.procs.set(pid, pl);
  }
  return pl;
}

export function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

/** Lids no LWP can have: not an lwpid_t at all (EINVAL), or never allocated (ESRCH). */
export function badLid(v: number): 'EINVAL' | 'ESRCH' | null {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) return 'EINVAL';
  if (v < 0 || v >= 999) return 'ESRCH';
  return null;
}

export const NEVER_RETURNS = 'never-returns';

/** The interpreter, closed over one run's program and log (its args stay plain data). */
export function makeInterp(prog: Program, log: RunLog) {
  function* thrower(sys: Sys, n: number) {
    const pid = yield* sys.getpid();
    procLog(log, pid).throws++;
    yield* sys.compute(n);
    throw new FuzzFault();
  }

  function* interp(sys: Sys, a: LwpArg): Generator<any, void, any> {
    const pid = yield* sys.getpid();
    const self = yield* sys.lwpSelf();
    const pl = procLog(log, pid);
    if (pl.selves.has(self)) log.unexpected.push(`${pid}.${self}: two LWPs got the same lid from _lwp_self`);
    pl.selves.add(self);
    const kids: number[] = [];
    const spawned: number[] = [];
    const lidOf = (t: Target): number => {
      switch (t.k) {
        case 'self': return self;
        case 'child': return kids.length === 0 ? 0 : kids[t.i % kids.length]!;
        case 'proc': return [...pl.created][t.i % pl.created.size]!;
        case 'lit': return t.v;
      }
    };
    const pidOf = (t: PidTarget): number =>
      t.k === 'child' ? (spawned.length === 0 ? -1 : spawned[t.i % spawned.length]!) : t.v;
    const canMake = (): boolean => {
      if (a.d >= MAX_DEPTH || log.budget <= 0) {
        log.skipped++;
        return false;
      }
      log.budget--;
      return true;
    };
    const script = prog.scripts[a.s % prog.scripts.length]!;
    for (const op of script) {
      bump(log.ops, op.op);
      /** What the op may end with: '' for success, an errno name, or null for any allowed errno. */
      let expect: string[] | null = null;
      let what: string = op.op;
      let got = '';
      try {
        switch (op.op) {
          case 'create': {
            const bad = !Number.isInteger(op.flags) || op.flags < 0;
            if (!canMake()) break;
            expect = [bad ? 'EINVAL' : ''];
            const lid = yield* sys.lwpCreate(interp, { s: op.script, d: a.d + 1 }, { flags: op.flags });
            if (pl.created.has(lid) || lid <= 1) log.unexpected.push(`${pid}.${self}: _lwp_create returned lid ${lid} twice`);
            pl.created.add(lid);
            if ((op.flags & LWP_DETACHED) !== 0) pl.detached.add(lid);
            kids.push(lid);
            break;
          }
          case 'wait': {
            const lid = lidOf(op.t);
            what = `wait(${lid})`;
            const bad = badLid(lid);
            expect = bad !== null ? [bad] : lid === self ? ['EDEADLK'] : null;
            const got = yield* sys.lwpWait(lid);
            if (lid !== 0 && got !== lid) log.unexpected.push(`${pid}.${self}: _lwp_wait(${lid}) returned ${got}`);
            if (got === self) log.unexpected.push(`${pid}.${self}: _lwp_wait(${lid}) collected itself`);
            pl.collected.push(got);
            break;
          }
          case 'suspend': {
            const lid = lidOf(op.t);
            what = `suspend(${lid})`;
            const bad = badLid(lid) ?? (lid === 0 ? 'ESRCH' : null);
            if (bad !== null) expect = [bad];
            yield* sys.lwpSuspend(lid);
            break;
          }
          case 'continue': {
            const lid = lidOf(op.t);
            what = `continue(${lid})`;
            const bad = badLid(lid) ?? (lid === 0 ? 'ESRCH' : null);
            expect = bad !== null ? [bad] : lid === self ? [''] : null;
            yield* sys.lwpContinue(lid);
            break;
          }
          case 'detach': {
            const lid = lidOf(op.t);
            what = `detach(${lid})`;
            const bad = badLid(lid) ?? (lid === 0 ? 'ESRCH' : null);
            if (bad !== null) expect = [bad];
            else if (pl.detached.has(lid)) expect = ['EINVAL', 'ESRCH'];
            yield* sys.lwpDetach(lid);
            pl.detached.add(lid);
            break;
          }
          case 'yield': expect = ['']; yield* sys.schedYield(); break;
          case 'self': {
            expect = [''];
            const again = yield* sys.lwpSelf();
            if (again !== self) log.unexpected.push(`${pid}.${self}: _lwp_self returned ${again}`);
            break;
          }
          case 'compute': expect = ['']; yield* sys.compute(op.n); break;
          case 'sleep': expect = ['']; yield* sys.sleep(op.n); break;
          case 'exit':
            pl.exits.push(op.status);
            expect = [Number.isInteger(op.status) ? NEVER_RETURNS : 'EINVAL'];
            yield* sys.exit(op.status);
            break;
          case 'lwpExit':
            expect = [NEVER_RETURNS];
            yield* sys.lwpExit();
            break;
          case 'throw':
            pl.throws++;
            throw new FuzzFault();
          case 'spawn': {
            expect = [''];
            if (!canMake()) break;
            const c = yield* sys.spawn(interp, { s: op.script, d: a.d + 1 });
            spawned.push(c);
            break;
          }
          case 'spawnThrower':
            expect = [''];
            if (canMake()) {
              const c = yield* sys.spawn(thrower, op.n);
              pl.throwers.add(c);
              spawned.push(c);
            }
            break;
          case 'waitpid': {
            const target = pidOf(op.t);
            what = `waitpid(${target})`;
            const bad = !Number.isInteger(target) || (target !== -1 && target <= 0);
            expect = bad ? ['EINVAL'] : target === -1 && spawned.length === 0 ? null : target === 999 ? ['ECHILD'] : null;
            const ws = yield* sys.waitpid(target);
            if (target !== -1 && ws.pid !== target) log.unexpected.push(`${pid}.${self}: waitpid(${target}) returned pid ${ws.pid}`);
            log.reaped.push({ by: pid, ...ws });
            break;
          }
          case 'badCreate':
            expect = ['EINVAL'];
            yield* sys.lwpCreate((function notAGenerator() {}) as any);
            break;
          case 'badSpawn':
            expect = ['ENOEXEC'];
            yield* sys.spawn((() => 1) as any);
            break;
        }
      } catch (e) {
        if (!(e instanceof SyscallError)) {
          if (e instanceof KernelPanic) log.unexpected.push(`${pid}.${self} ${what}: a kernel panic reached user code: ${e.message}`);
          else if (!(e instanceof FuzzFault)) log.unexpected.push(`${pid}.${self} ${what}: threw ${String(e)}`);
          throw e;
        }
        got = e.code;
        bump(log.codes, e.code);
        if (!ALLOWED_CODES.has(e.code)) log.unexpected.push(`${pid}.${self} ${what}: ${e.message}`);
      }
      if (expect !== null && !expect.includes(got)) {
        log.unexpected.push(`${pid}.${self} ${what}: got ${got || 'success'}, expected ${expect.map((x) => x || 'success').join(' or ')}`);
      }
    }
    const fin = a.fin ?? null;
    if (fin !== null && 'exit' in fin) {
      pl.exits.push(fin.exit);
      yield* sys.exit(fin.exit);
      log.unexpected.push(`${pid}.${self}: exit returned`);
    } else if (fin !== null && 'throw' in fin) {
      pl.throws++;
      throw new FuzzFault();
    }
  }
  return interp;
}

/* ---------------------------------------------------------------- running */

export interface Ran {
  m: Machine;
  r: RunResult;
  log: RunLog;
  /** Pids of the root processes, in spawn order. */
  roots: number[];
  events: string[] | null;
}

export function runProgram(prog: Program, opts: { trace?: boolean; fins?: Final[] } = {}): Ran {
  const log = newLog();
  const m = new Machine({ ncpu: prog.ncpu, seed: prog.seed, check: true, quantum: prog.quantum, syscallCost: prog.syscallCost });
  const events: string[] | null = opts.trace ? [] : null;
  if (events !== null) m.on((e: KEvent) => events.push(JSON.stringify(e, (_k, v) => (typeof v === 'function' ? `fn:${v.name}` : v))));
  const interp = makeInterp(prog, log);
  const roots = prog.roots.map((s, i) => m.spawn(interp, { name: `root${i}`, arg: { s, d: 0, fin: opts.fins?.[i] ?? null } }));
  const r = m.run({ maxTicks: MAX_TICKS, maxSteps: MAX_STEPS });
  return { m, r, log, roots, events };
}

