/*
 * Property-based fuzzing of the LWP kernel (node:test + fast-check).
 *
 * A random program is plain data: a few "scripts", each a list of op
 * descriptors, run by an interpreter generator in some LWP.  Scripts create
 * LWPs and spawn processes running other scripts (depth and a per-run
 * budget keep every run finite), wait for, suspend, continue and detach
 * random targets (themselves, their children, unknown and invalid lids),
 * compute, sleep, yield, exit, throw, and wait for child processes.
 *
 * The Machine's checker runs after every step, so any broken invariant is a
 * panic.  On top of that each run is checked from outside: the outcome, the
 * errno each call returned where it is determined (bad lids, self-waits,
 * invalid flags...), that _lwp_wait never collects an LWP twice or a
 * detached one, that an idle machine has only zombies left, that faults
 * come only from the programs' own throws, that a process stuck in exit is
 * never part of a deadlock, and that waitpid agrees with the process table.
 *
 * Properties:
 *  - any program: no panic, outcome idle/deadlock/limit, the checks above;
 *  - programs with no suspension and no cycle of specific waits (which
 *    cannot deadlock on NetBSD either): they always go idle;
 *  - isolation: a process that throws (SIGSEGV) never changes the exit
 *    status of an unrelated process;
 *  - determinism: same program, same seed, same event stream.
 *
 * Every property logs its fast-check seed and numRuns.  FC_SEED=<seed>
 * (and FC_PATH=<path>, both printed in a failure report) replays a
 * failure; FC_RUNS=<factor> scales numRuns for a longer soak.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  KernelPanic, LWP_DETACHED, LWP_SUSPENDED, Machine, SIGSEGV, SyscallError, formatEvent,
  type KEvent, type RunResult, type Sys,
} from '../src/index.ts';
import { PS_WEXIT } from '../src/kern/param.ts';

/* ------------------------------------------------------------------ config */

const DEFAULT_SEED = 0x1badb07;
const FC_SEED = process.env.FC_SEED !== undefined && process.env.FC_SEED !== '' ? Number(process.env.FC_SEED) : DEFAULT_SEED;
const FC_PATH = process.env.FC_PATH || undefined;
/** Multiply every numRuns (e.g. FC_RUNS=10 for a long soak). */
const FC_SCALE = process.env.FC_RUNS !== undefined ? Number(process.env.FC_RUNS) : 1;

const MAX_TICKS = 200_000;
const MAX_STEPS = 200_000;
/** Deepest chain of create/spawn from a root LWP. */
const MAX_DEPTH = 3;
/** Creates plus spawns allowed in one run (the rest are skipped). */
const BUDGET = 32;
const MAX_SCRIPTS = 4;
const MAX_OPS = 10;

/** Every errno a fuzzed program may legitimately see. */
const ALLOWED_CODES = new Set(['ESRCH', 'EDEADLK', 'EINVAL', 'EINTR', 'ECHILD', 'ENOEXEC']);

function runs(n: number): number {
  return Math.max(1, Math.round(n * FC_SCALE));
}

function fcParams(numRuns: number): fc.Parameters<unknown> {
  return { seed: FC_SEED, numRuns: runs(numRuns), ...(FC_PATH ? { path: FC_PATH } : {}), includeErrorInReport: true };
}

function announce(t: { diagnostic(msg: string): void }, name: string, numRuns: number): void {
  const msg = `fuzz ${name}: fast-check seed=${FC_SEED} numRuns=${runs(numRuns)}${FC_PATH ? ` path=${FC_PATH}` : ''}`;
  console.log(msg);
  t.diagnostic(msg);
}

/* ---------------------------------------------------------------- programs */

/**
 * An LWP target: the caller itself, one of its own children, any LWP ever
 * created in its process (live, zombie or gone), or any number.
 */
type Target = { k: 'self' } | { k: 'child'; i: number } | { k: 'proc'; i: number } | { k: 'lit'; v: number };
/** A process target for waitpid: a child it spawned, or any number. */
type PidTarget = { k: 'child'; i: number } | { k: 'lit'; v: number };

type Op =
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

type OpName = Op['op'];

interface Program {
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
type Final = { exit: number } | { throw: true } | null;

interface LwpArg { s: number; d: number; fin?: Final }

const LIDS_ANY = [0, 1, 2, 3, 4, 5, 6, 7, 8, -1, 999, 1.5, 0x7fffffff, 2 ** 31, -(2 ** 31) - 1, NaN];
/** Lids that cannot name another live LWP (no cycles of specific waits). */
const LIDS_HARMLESS = [0, 0, 0, -1, 999, 1.5, 2 ** 31, NaN];
const PIDS_ANY = [-1, 0, 1, 2, 3, 999, 1.5, -7];

const flagsArb = fc.constantFrom(0, 0, 0, 0, LWP_DETACHED, LWP_DETACHED, LWP_SUSPENDED, LWP_DETACHED | LWP_SUSPENDED, 0x80000000, 0x100, -1, 1.5);
const liveFlagsArb = fc.constantFrom(0, 0, 0, 0, LWP_DETACHED, LWP_DETACHED, 0x80000000, 0x100, -1, 1.5);

function targetArb(lits: number[], sibs: boolean): fc.Arbitrary<Target> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ k: fc.constant('child' as const), i: fc.nat(7) }) },
    { weight: sibs ? 4 : 0, arbitrary: fc.record({ k: fc.constant('proc' as const), i: fc.nat(15) }) },
    { weight: 1, arbitrary: fc.constant({ k: 'self' as const }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('lit' as const), v: fc.constantFrom(...lits) }) },
  );
}

const pidTargetArb: fc.Arbitrary<PidTarget> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('child' as const), i: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('lit' as const), v: fc.constantFrom(...PIDS_ANY) }) },
);

interface OpSet {
  /** Which ops, with weights. */
  weights: Partial<Record<OpName, number>>;
  flags: fc.Arbitrary<number>;
  /** Targets of _lwp_wait. */
  waitT: fc.Arbitrary<Target>;
  /** Targets of suspend/continue/detach. */
  ctlT: fc.Arbitrary<Target>;
}

/** Everything. */
const FULL: OpSet = {
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
const LIVE: OpSet = {
  weights: {
    create: 8, wait: 6, continue: 2, detach: 3, yield: 2, self: 1, compute: 5, sleep: 2,
    exit: 1, lwpExit: 2, throw: 1, spawn: 2, spawnThrower: 1, waitpid: 3, badCreate: 1, badSpawn: 1,
  },
  flags: liveFlagsArb,
  waitT: targetArb(LIDS_HARMLESS, false),
  ctlT: targetArb(LIDS_ANY, true),
};

/** LIVE without anything that ends the process early (for the isolation property). */
const QUIET: OpSet = { ...LIVE, weights: { ...LIVE.weights, exit: 0, throw: 0, lwpExit: 0 } };

function opArb(set: OpSet): fc.Arbitrary<Op> {
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

function scriptsArb(set: OpSet): fc.Arbitrary<Op[][]> {
  return fc.array(fc.array(opArb(set), { maxLength: MAX_OPS }), { minLength: 1, maxLength: MAX_SCRIPTS });
}

const quantumArb = fc.constantFrom(100, 100, 1, 3, 20);
const syscallCostArb = fc.constantFrom(1, 1, 0, 2);

function programArb(set: OpSet, maxRoots = 2): fc.Arbitrary<Program> {
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

interface ProcLog {
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

interface RunLog {
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

function newLog(): RunLog {
  return { codes: new Map(), unexpected: [], procs: new Map(), reaped: [], budget: BUDGET, skipped: 0, ops: new Map() };
}

function procLog(log: RunLog, pid: number): ProcLog {
  let pl = log.procs.get(pid);
  if (pl === undefined) {
    pl = { throws: 0, exits: [], throwers: new Set(), created: new Set([1]), selves: new Set(), detached: new Set(), collected: [] };
    log.procs.set(pid, pl);
  }
  return pl;
}

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

/** Lids no LWP can have: not an lwpid_t at all (EINVAL), or never allocated (ESRCH). */
function badLid(v: number): 'EINVAL' | 'ESRCH' | null {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) return 'EINVAL';
  if (v < 0 || v >= 999) return 'ESRCH';
  return null;
}

const NEVER_RETURNS = 'never-returns';

/** The interpreter, closed over one run's program and log (its args stay plain data). */
function makeInterp(prog: Program, log: RunLog) {
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

interface Ran {
  m: Machine;
  r: RunResult;
  log: RunLog;
  /** Pids of the root processes, in spawn order. */
  roots: number[];
  events: string[] | null;
}

function runProgram(prog: Program, opts: { trace?: boolean; fins?: Final[] } = {}): Ran {
  const log = newLog();
  const m = new Machine({ ncpu: prog.ncpu, seed: prog.seed, check: true, quantum: prog.quantum, syscallCost: prog.syscallCost });
  const events: string[] | null = opts.trace ? [] : null;
  if (events !== null) m.on((e: KEvent) => events.push(JSON.stringify(e, (_k, v) => (typeof v === 'function' ? `fn:${v.name}` : v))));
  const interp = makeInterp(prog, log);
  const roots = prog.roots.map((s, i) => m.spawn(interp, { name: `root${i}`, arg: { s, d: 0, fin: opts.fins?.[i] ?? null } }));
  const r = m.run({ maxTicks: MAX_TICKS, maxSteps: MAX_STEPS });
  return { m, r, log, roots, events };
}

/** A readable account of a run, for assertion messages. */
function report(ran: Ran): string {
  const { m, r, log } = ran;
  const lines = [`outcome ${r.outcome} at tick ${r.ticks}, step ${r.steps}`];
  if (r.panic) {
    lines.push(`PANIC: ${r.panic.message}`);
    lines.push('last events:');
    for (const e of r.panic.events ?? []) lines.push('  ' + formatEvent(e));
  }
  if (r.blocked) lines.push(`blocked: ${JSON.stringify(r.blocked)}`);
  if (log.unexpected.length) lines.push(`unexpected: ${log.unexpected.join('; ')}`);
  lines.push(`codes: ${JSON.stringify([...log.codes])}`);
  try {
    lines.push(`procs: ${JSON.stringify(m.procs().map((p) => [p.pid, p.ppid, p.stat, p.exitStatus, p.signal, p.fault, p.reaped, p.nlwps]))}`);
    lines.push('ps:');
    for (const row of m.ps()) lines.push(`  ${row.pid}.${row.lid} ${row.stat} ${row.wchan} ${row.flags.join('|')}`);
  } catch (e) {
    lines.push(`(inspection failed: ${String(e)})`);
  }
  return lines.join('\n');
}

/** Everything that must hold after any run of any program. */
function checkRun(ran: Ran, allowed: readonly string[]): void {
  const { m, r, log } = ran;
  const why = () => report(ran);
  assert.notEqual(r.outcome, 'panic', why());
  assert.ok(allowed.includes(r.outcome), `outcome ${r.outcome} not in ${allowed.join('/')}\n${why()}`);
  assert.ok(m.checker !== null && m.checker.checks > 0, 'the checker did not run');
  assert.deepEqual(log.unexpected, [], why());
  for (const code of log.codes.keys()) assert.ok(ALLOWED_CODES.has(code), `unexpected errno ${code}\n${why()}`);

  const procs = m.procs();
  const byPid = new Map(procs.map((p) => [p.pid, p]));

  // A process dies only by its own hand: faults come from its own throws.
  for (const p of procs) {
    const pl = log.procs.get(p.pid);
    if (p.fault !== null) {
      assert.match(p.fault, /threw Error: fuzz-throw/, `pid ${p.pid} fault: ${p.fault}\n${why()}`);
      assert.ok(pl !== undefined && pl.throws > 0, `pid ${p.pid} faulted without throwing\n${why()}`);
    }
    const dead = p.stat === 'SZOMB' || p.reaped;
    if (!dead) continue;
    if (p.signal !== null) {
      assert.equal(p.signal, SIGSEGV, `pid ${p.pid} killed by signal ${p.signal}\n${why()}`);
      assert.ok(p.fault !== null, `pid ${p.pid} SIGSEGV without a fault recorded\n${why()}`);
      assert.equal(p.exitStatus, null);
    } else {
      assert.equal(p.fault, null, `pid ${p.pid} has a fault but exited normally\n${why()}`);
      const exits = pl?.exits ?? [];
      if (exits.length === 0) {
        // No exit() call: the last LWP left, status 0.
        assert.equal(p.exitStatus, 0, `pid ${p.pid} exit status\n${why()}`);
      } else {
        const candidates = [0, ...exits.filter((s) => Number.isInteger(s)).map((s) => s & 0xff)];
        assert.ok(candidates.includes(p.exitStatus!), `pid ${p.pid} exit status ${p.exitStatus} not among ${candidates}\n${why()}`);
      }
    }
    // A process that threw and never called exit() must have died of it.
    if (pl !== undefined && pl.throws > 0 && pl.exits.length === 0) {
      assert.equal(p.signal, SIGSEGV, `pid ${p.pid} threw but ended with status ${p.exitStatus}\n${why()}`);
    }
  }
  // A thrower child, once dead, died of SIGSEGV.
  for (const pl of log.procs.values()) {
    for (const c of pl.throwers) {
      const p = byPid.get(c)!;
      if (p.stat === 'SZOMB' || p.reaped) assert.equal(p.signal, SIGSEGV, `thrower ${c}\n${why()}`);
    }
  }
  // waitpid agrees with the process table.
  for (const w of log.reaped) {
    const p = byPid.get(w.pid);
    assert.ok(p !== undefined && p.reaped && p.ppid === w.by, `waitpid by ${w.by} returned ${JSON.stringify(w)}\n${why()}`);
    if (w.signal !== 0) assert.equal(p.signal, w.signal, why());
    else assert.equal(p.exitStatus, w.status, why());
  }
  // _lwp_wait collects each LWP at most once, and never a detached one.
  for (const [pid, pl] of log.procs) {
    assert.equal(new Set(pl.collected).size, pl.collected.length, `pid ${pid} collected an LWP twice: ${pl.collected}\n${why()}`);
    for (const lid of pl.collected) {
      assert.ok(!pl.detached.has(lid), `pid ${pid} collected detached lwp ${lid}\n${why()}`);
      // What exited by itself ran its program first.
      assert.ok(pl.selves.has(lid), `pid ${pid} collected lwp ${lid}, which never ran\n${why()}`);
    }
  }
  const reapedPids = log.reaped.map((w) => w.pid);
  assert.equal(new Set(reapedPids).size, reapedPids.length, `a process was reaped twice\n${why()}`);

  // Dead processes hold exactly their last LWP, a zombie.
  const rows = m.ps();
  for (const p of procs) {
    const mine = rows.filter((row) => row.pid === p.pid);
    if (p.reaped) assert.equal(mine.length, 0, why());
    else if (p.stat === 'SZOMB') {
      assert.equal(p.nlwps, 1, why());
      assert.equal(mine.length, 1, why());
      assert.equal(mine[0]!.stat, 'ZOMB', why());
    }
  }

  if (r.outcome === 'idle') {
    for (const p of procs) assert.ok(p.stat === 'SZOMB' || p.reaped, `idle but pid ${p.pid} is ${p.stat}\n${why()}`);
    for (const row of rows) {
      if (row.pid === 0) assert.ok(row.flags.includes('LW_IDLE'), `proc0 has a non-idle lwp ${row.lid}\n${why()}`);
      else assert.equal(row.stat, 'ZOMB', `idle but ${row.pid}.${row.lid} is ${row.stat}\n${why()}`);
    }
  }
  if (r.outcome === 'deadlock') {
    // Only sleepers that nothing will wake: no timed sleep, nothing on a CPU.
    for (const b of r.blocked!) {
      assert.ok(b.stat === 'SLEEP' || b.stat === 'SUSPENDED' || b.stat === 'STOP', `blocked ${JSON.stringify(b)}\n${why()}`);
      assert.notEqual(b.wchan, 'nanoslp', `blocked in a timed sleep ${JSON.stringify(b)}\n${why()}`);
      // exit1 always completes: exit_lwps wakes or waits out every other LWP.
      const p = m.kernel.procs.get(b.pid)!;
      assert.equal(p.sflag & PS_WEXIT, 0, `pid ${b.pid} is stuck in exit: ${JSON.stringify(b)}\n${why()}`);
    }
  }
}

/* -------------------------------------------------------------- properties */

const stats = { outcomes: new Map<string, number>(), codes: new Map<string, number>(), ops: new Map<string, number>() };

function tally(ran: Ran): void {
  bump(stats.outcomes, ran.r.outcome);
  for (const [c, n] of ran.log.codes) stats.codes.set(c, (stats.codes.get(c) ?? 0) + n);
  for (const [c, n] of ran.log.ops) stats.ops.set(c, (stats.ops.get(c) ?? 0) + n);
}

function showStats(t: { diagnostic(msg: string): void }): void {
  t.diagnostic(`outcomes ${JSON.stringify([...stats.outcomes])}`);
  t.diagnostic(`errnos ${JSON.stringify([...stats.codes])}`);
  t.diagnostic(`ops run ${JSON.stringify([...stats.ops].sort())}`);
  stats.outcomes.clear();
  stats.codes.clear();
  stats.ops.clear();
}

const N_ANY = 3000;
const N_LIVE = 2500;
const N_ISOLATION = 1200;
const N_DETERMINISM = 250;

test('fuzz: random programs never panic or break an invariant', (t) => {
  announce(t, 'any', N_ANY);
  fc.assert(
    fc.property(programArb(FULL), (prog) => {
      const ran = runProgram(prog);
      tally(ran);
      checkRun(ran, ['idle', 'deadlock', 'limit']);
    }),
    fcParams(N_ANY),
  );
  showStats(t);
});

test('fuzz: programs without suspension or wait cycles always finish (idle)', (t) => {
  announce(t, 'live', N_LIVE);
  fc.assert(
    fc.property(programArb(LIVE), (prog) => {
      const ran = runProgram(prog);
      tally(ran);
      checkRun(ran, ['idle']);
    }),
    fcParams(N_LIVE),
  );
  showStats(t);
});

test('fuzz: a process that throws does not change another process\'s exit status', (t) => {
  announce(t, 'isolation', N_ISOLATION);
  const arb = fc.record({
    ncpu: fc.integer({ min: 1, max: 8 }),
    seed: fc.integer({ min: 0, max: 0x7fffffff }),
    quantum: quantumArb,
    syscallCost: syscallCostArb,
    /** Process A: quiet scripts, then exit(status). */
    a: scriptsArb(QUIET),
    status: fc.integer({ min: 0, max: 255 }),
    /** Process B: anything but exit(), then a throw. */
    b: scriptsArb({ ...FULL, weights: { ...FULL.weights, exit: 0 } }),
    bFirst: fc.boolean(),
  });
  fc.assert(
    fc.property(arb, (x) => {
      // One program whose scripts are A's then B's; creates and spawns stay
      // within each half, so A never runs B's code.
      const na = x.a.length;
      const shift = (ops: Op[]): Op[] => ops.map((op) =>
        op.op === 'create' || op.op === 'spawn' ? { ...op, script: na + (op.script % x.b.length) } : op);
      const keep = (ops: Op[]): Op[] => ops.map((op) =>
        op.op === 'create' || op.op === 'spawn' ? { ...op, script: op.script % na } : op);
      const scripts = [...x.a.map(keep), ...x.b.map(shift)];
      const rootA = { s: 0, fin: { exit: x.status } as Final };
      const rootB = { s: na, fin: { throw: true } as Final };
      const order = x.bFirst ? [rootB, rootA] : [rootA, rootB];
      const prog: Program = { ncpu: x.ncpu, seed: x.seed, quantum: x.quantum, syscallCost: x.syscallCost, scripts, roots: order.map((o) => o.s) };
      const ran = runProgram(prog, { fins: order.map((o) => o.fin) });
      tally(ran);
      checkRun(ran, ['idle', 'deadlock']);
      const pidA = ran.roots[x.bFirst ? 1 : 0]!;
      const pidB = ran.roots[x.bFirst ? 0 : 1]!;
      const A = ran.m.proc(pidA)!;
      const B = ran.m.proc(pidB)!;
      // A cannot get stuck (no suspension, no wait cycles): it always exits with its status.
      assert.equal(A.stat, 'SZOMB', `A (pid ${pidA}) did not finish\n${report(ran)}`);
      assert.equal(A.signal, null, report(ran));
      assert.equal(A.fault, null, report(ran));
      assert.equal(A.exitStatus, x.status, `A's exit status\n${report(ran)}`);
      // B, if it got to its throw (or threw earlier) and died, died of it.
      if (B.stat === 'SZOMB' && (ran.log.procs.get(pidB)?.throws ?? 0) > 0) {
        assert.equal(B.signal, SIGSEGV, report(ran));
        assert.match(B.fault ?? '', /fuzz-throw/, report(ran));
      }
    }),
    fcParams(N_ISOLATION),
  );
  showStats(t);
});

test('fuzz: the same program and seed give the same event stream', (t) => {
  announce(t, 'determinism', N_DETERMINISM);
  fc.assert(
    fc.property(programArb(FULL), (prog) => {
      const a = runProgram(prog, { trace: true });
      const b = runProgram(prog, { trace: true });
      assert.equal(a.r.outcome, b.r.outcome);
      assert.equal(a.r.ticks, b.r.ticks);
      assert.equal(a.r.steps, b.r.steps);
      assert.ok(a.events!.length > 0);
      assert.equal(a.events!.length, b.events!.length, 'event counts differ');
      for (let i = 0; i < a.events!.length; i++) assert.equal(b.events![i], a.events![i], `event ${i} differs`);
      assert.deepEqual([...b.log.codes], [...a.log.codes]);
    }),
    fcParams(N_DETERMINISM),
  );
});
