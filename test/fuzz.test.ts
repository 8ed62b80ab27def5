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
import { SIGSEGV, formatEvent } from '../src/index.ts';
import {
  ALLOWED_CODES, FULL, LIVE, QUIET, bump, programArb, quantumArb, runProgram, scriptsArb, syscallCostArb,
  type Final, type Op, type Program, type Ran,
} from './fuzzprog.ts';
import { PS_WEXIT } from '../src/kern/param.ts';

/* ------------------------------------------------------------------ config */

const DEFAULT_SEED = 0x1badb07;
const FC_SEED = process.env.FC_SEED !== undefined && process.env.FC_SEED !== '' ? Number(process.env.FC_SEED) : DEFAULT_SEED;
const FC_PATH = process.env.FC_PATH || undefined;
/** Multiply every numRuns (e.g. FC_RUNS=10 for a long soak). */
const FC_SCALE = process.env.FC_RUNS !== undefined ? Number(process.env.FC_RUNS) : 1;



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
