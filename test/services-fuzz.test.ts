/*
 * Property-based fuzzing of the per-LWP services (node:test + fast-check):
 * random programs that create LWPs and park, unpark (one or a batch, under
 * various hints, with and without timeouts), wake up, detach, kill (signal
 * 0 and bad signals), take lwpctl blocks, name, set private pointers and
 * read their switch counts, on 1 to 8 CPUs.
 *
 * Checked for every run, on top of the Machine's own invariant checker:
 *  - no panic, no exception other than a SyscallError, only expected errnos;
 *  - no LWP is left parked forever after an unpark or wakeup of it was
 *    observed: no successful unpark/wakeup (or park-with-unpark) of it was
 *    entered after its last park was entered (such a call either leaves a
 *    pending unpark, which that park would consume with EALREADY, or wakes
 *    it), and no parked LWP carries a pending LW_UNPARKED/LW_CANCELLED;
 *  - an LWP with an lwpctl block reads its own CPU whenever it runs user
 *    code, its pctr never goes back, and at the end every block reads NONE
 *    (off CPU) or EXITED (zombie);
 *  - programs whose parks all time out always finish.
 *
 * Reproduce with FC_SEED=<seed> (and FC_PATH=<path>), as fuzz.test.ts does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LWP_DETACHED, LWPCTL_CPU_EXITED, LWPCTL_CPU_NONE, Machine, SyscallError, formatEvent, type LwpCtl, type RunResult, type Sys } from '../src/index.ts';
import { LSSLEEP, LSZOMB, LW_CANCELLED, LW_UNPARKED } from '../src/kern/param.ts';

const FC_SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 0x5e7f1ce;
const FC_PATH = process.env.FC_PATH || undefined;
const FC_SCALE = process.env.FC_RUNS !== undefined ? Number(process.env.FC_RUNS) : 1;
const params = (n: number): fc.Parameters<unknown> => ({
  seed: FC_SEED, numRuns: Math.max(1, Math.round(n * FC_SCALE)), ...(FC_PATH ? { path: FC_PATH } : {}),
});

const MAX_DEPTH = 3;
const BUDGET = 14;
const ALLOWED = new Set(['ESRCH', 'EINVAL', 'EDEADLK', 'EINTR', 'EALREADY', 'ETIMEDOUT', 'ENODEV', 'EBUSY', 'ENAMETOOLONG']);

type Target = { k: 'self' } | { k: 'parent' } | { k: 'child'; i: number } | { k: 'lit'; v: number };
type Op =
  | { op: 'create'; script: number; detached: boolean }
  | { op: 'park'; timeout: number | null; hint: number; unpark: Target | null }
  | { op: 'unpark'; t: Target; hint: number }
  | { op: 'unparkAll'; ts: Target[]; hint: number }
  | { op: 'wakeup'; t: Target }
  | { op: 'detach'; t: Target }
  | { op: 'wait'; t: Target }
  | { op: 'ctl'; f: number }
  | { op: 'name'; t: Target; len: number }
  | { op: 'kill'; t: Target; sig: number }
  | { op: 'private' }
  | { op: 'pctr' }
  | { op: 'compute'; n: number }
  | { op: 'yield' }
  | { op: 'sleep'; n: number }
  | { op: 'lwpExit' }
  | { op: 'exit' };

interface Prog { ncpu: number; seed: number; scripts: Op[][]; roots: number[] }

const LITS = [0, 1, 2, 3, 999, -1];
const targetArb = (parent: boolean): fc.Arbitrary<Target> => fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('child' as const), i: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'self' as const }) },
  { weight: parent ? 2 : 0, arbitrary: fc.constant({ k: 'parent' as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('lit' as const), v: fc.constantFrom(...LITS) }) },
);

function opArb(timedOnly: boolean): fc.Arbitrary<Op> {
  const timeout = timedOnly
    ? fc.constantFrom(1, 5, 20, 50, 0, -1)
    : fc.constantFrom(null, null, null, 1, 5, 20, 50, 0, -1, 1.5);
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ op: fc.constant('create' as const), script: fc.nat(3), detached: fc.boolean() }) },
    { weight: 5, arbitrary: fc.record({ op: fc.constant('park' as const), timeout, hint: fc.nat(2), unpark: fc.option(targetArb(true), { nil: null }) }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('unpark' as const), t: targetArb(true), hint: fc.nat(2) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('unparkAll' as const), ts: fc.array(targetArb(true), { minLength: 1, maxLength: 4 }), hint: fc.nat(2) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('wakeup' as const), t: targetArb(true) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('detach' as const), t: targetArb(true) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('wait' as const), t: fc.oneof(fc.record({ k: fc.constant('child' as const), i: fc.nat(3) }), fc.constant({ k: 'self' as const })) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('ctl' as const), f: fc.constantFrom(1, 1, 3, 0, 4, -1) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('name' as const), t: targetArb(true), len: fc.constantFrom(16, 3, 0) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('kill' as const), t: targetArb(true), sig: fc.constantFrom(0, 0, 9, 64, -1) }) },
    { weight: 1, arbitrary: fc.constant({ op: 'private' as const }) },
    { weight: 1, arbitrary: fc.constant({ op: 'pctr' as const }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('compute' as const), n: fc.integer({ min: 0, max: 60 }) }) },
    { weight: 1, arbitrary: fc.constant({ op: 'yield' as const }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('sleep' as const), n: fc.integer({ min: 0, max: 40 }) }) },
    { weight: 1, arbitrary: fc.constant({ op: 'lwpExit' as const }) },
    { weight: timedOnly ? 1 : 0, arbitrary: fc.constant({ op: 'exit' as const }) },
  );
}

const progArb = (timedOnly: boolean): fc.Arbitrary<Prog> => fc.record({
  ncpu: fc.integer({ min: 1, max: 8 }),
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
  scripts: fc.array(fc.array(opArb(timedOnly), { maxLength: 8 }), { minLength: 1, maxLength: 4 }),
  roots: fc.array(fc.nat(3), { minLength: 1, maxLength: 2 }),
});

interface Log {
  seq: number;
  /** pid.lid -> seq at which its last park was entered (and the unpark target of that park, if any). */
  parkEntry: Map<string, { seq: number; unparks: string | null }>;
  /** pid.lid -> seq at which the latest successful unpark or wakeup of it was entered. */
  unparkedAt: Map<string, number>;
  codes: Map<string, number>;
  bad: string[];
  budget: number;
}

interface Arg { s: number; d: number; parent: number }

function runProg(prog: Prog): { m: Machine; r: RunResult; log: Log } {
  const m = new Machine({ ncpu: prog.ncpu, seed: prog.seed });
  const k = m.kernel;
  const log: Log = { seq: 0, parkEntry: new Map(), unparkedAt: new Map(), codes: new Map(), bad: [], budget: BUDGET };
  const saw = (key: string, at: number) => { if ((log.unparkedAt.get(key) ?? -1) < at) log.unparkedAt.set(key, at); };

  function* interp(sys: Sys, a: Arg): Generator<any, void, any> {
    const pid = yield* sys.getpid();
    const self = yield* sys.lwpSelf();
    const key = (lid: number) => `${pid}.${lid}`;
    const kids: number[] = [];
    let ctl: LwpCtl | null = null;
    let pctr = 0;
    const lidOf = (t: Target): number =>
      t.k === 'self' ? self : t.k === 'parent' ? a.parent || self : t.k === 'child' ? (kids.length ? kids[t.i % kids.length]! : a.parent || self) : t.v;
    const checkCtl = (where: string) => {
      if (ctl === null) return;
      if (ctl.curcpu !== k.curcpu()!.index) log.bad.push(`${key(self)} ${where}: curcpu ${ctl.curcpu} on cpu${k.curcpu()!.index}`);
      if (ctl.pctr < pctr) log.bad.push(`${key(self)} ${where}: pctr went back`);
      pctr = ctl.pctr;
    };
    for (const op of prog.scripts[a.s % prog.scripts.length]!) {
      const at = ++log.seq;
      try {
        switch (op.op) {
          case 'create':
            if (a.d < MAX_DEPTH && log.budget > 0) {
              log.budget--;
              kids.push(yield* sys.lwpCreate(interp, { s: op.script, d: a.d + 1, parent: self }, op.detached ? { flags: LWP_DETACHED } : undefined));
            }
            break;
          case 'park': {
            const target = op.unpark === null ? 0 : lidOf(op.unpark);
            const tgt = Number.isInteger(target) && target !== 0 ? key(target) : null;
            log.parkEntry.set(key(self), { seq: at, unparks: tgt });
            try {
              yield* sys.lwpPark({ hint: op.hint, unpark: target, unparkHint: op.hint, ...(op.timeout === null ? {} : { timeout: op.timeout }) });
            } catch (e) {
              // Any error but ESRCH came after the unpark was done.
              if (e instanceof SyscallError && e.code !== 'ESRCH' && tgt !== null) saw(tgt, at);
              throw e;
            }
            if (tgt !== null) saw(tgt, at);
            break;
          }
          case 'unpark': {
            const t = lidOf(op.t);
            yield* sys.lwpUnpark(t, op.hint);
            saw(key(t), at);
            break;
          }
          case 'unparkAll': {
            const ts = op.ts.map(lidOf);
            yield* sys.lwpUnparkAll(ts, op.hint);
            for (const t of ts) saw(key(t), at);
            break;
          }
          case 'wakeup': {
            const t = lidOf(op.t);
            try {
              yield* sys.lwpWakeup(t);
              saw(key(t), at);
            } catch (e) {
              if (e instanceof SyscallError && (e.code === 'ENODEV' || e.code === 'EBUSY')) saw(key(t), at);
              throw e;
            }
            break;
          }
          case 'detach': yield* sys.lwpDetach(lidOf(op.t)); break;
          case 'wait': yield* sys.lwpWait(lidOf(op.t)); break;
          case 'ctl': {
            const c = yield* sys.lwpCtl(op.f);
            if (ctl !== null && c !== ctl) log.bad.push(`${key(self)}: a second lwpCtl gave another block`);
            ctl = c;
            pctr = c.pctr;
            break;
          }
          case 'name': {
            const t = lidOf(op.t);
            yield* sys.lwpSetName(t, `n${t}-0123456789abcdef`);
            const n = yield* sys.lwpGetName(t, op.len);
            if (n !== `n${t}-0123456789abcdef`.slice(0, 15)) log.bad.push(`name of ${t} reads ${n}`);
            break;
          }
          case 'kill': yield* sys.lwpKill(lidOf(op.t), op.sig); break;
          case 'private': {
            const v = { at };
            yield* sys.lwpSetPrivate(v);
            if ((yield* sys.lwpGetPrivate()) !== v) log.bad.push(`${key(self)}: private pointer lost`);
            break;
          }
          case 'pctr': {
            const n = yield* sys.lwpPctr();
            if (n < 0) log.bad.push('negative pctr');
            break;
          }
          case 'compute': yield* sys.compute(op.n); break;
          case 'yield': yield* sys.schedYield(); break;
          case 'sleep': yield* sys.sleep(op.n); break;
          case 'lwpExit': yield* sys.lwpExit(); break;
          case 'exit': yield* sys.exit(0); break;
        }
      } catch (e) {
        if (!(e instanceof SyscallError)) {
          log.bad.push(`${op.op}: ${String(e)}`);
          throw e;
        }
        log.codes.set(e.code, (log.codes.get(e.code) ?? 0) + 1);
        if (!ALLOWED.has(e.code)) log.bad.push(`${op.op} -> ${e.message}`);
      }
      checkCtl(op.op);
    }
  }

  for (const s of prog.roots) m.spawn(interp, { arg: { s, d: 0, parent: 0 } });
  const r = m.run({ maxTicks: 100_000, maxSteps: 200_000 });
  return { m, r, log };
}

function check(prog: Prog, allowed: string[]): void {
  const { m, r, log } = runProg(prog);
  const why = () => [
    `outcome ${r.outcome}${r.panic ? `: ${r.panic.message}` : ''}`,
    ...(r.panic?.events ?? []).map(formatEvent),
    `blocked ${JSON.stringify(r.blocked ?? [])}`,
    `bad ${log.bad.join('; ')}`,
    `codes ${JSON.stringify([...log.codes])}`,
  ].join('\n');
  assert.notEqual(r.outcome, 'panic', why());
  assert.ok(allowed.includes(r.outcome), why());
  assert.ok(m.checker !== null && m.checker.checks > 0);
  assert.deepEqual(log.bad, [], why());
  if (r.outcome === 'limit') return;
  for (const p of m.kernel.procs.values()) {
    if (p === m.kernel.proc0) continue;
    for (const l of p.eachLwp()) {
      const key = `${p.pid}.${l.lid}`;
      if (l.lwpctl !== null) {
        const want = l.stat === LSZOMB ? LWPCTL_CPU_EXITED : LWPCTL_CPU_NONE;
        assert.equal(l.lwpctl.curcpu, want, `${key} in ${l.stat} reads curcpu ${l.lwpctl.curcpu}\n${why()}`);
      }
      if (l.stat !== LSSLEEP || l.wmesg !== 'parked') continue;
      // Parked for good: nothing may have unparked it since it parked.
      assert.equal(l.flag & (LW_UNPARKED | LW_CANCELLED), 0, `${key} parked with a pending unpark\n${why()}`);
      const entry = log.parkEntry.get(key)!;
      assert.ok(entry !== undefined, `${key} parked without a logged park`);
      const seen = log.unparkedAt.get(key) ?? -1;
      assert.ok(seen < entry.seq, `${key} parked forever (entered at ${entry.seq}) though an unpark of it was entered at ${seen}\n${why()}`);
      // Its own park's unpark of another LWP did happen: that one may not be parked for good since before.
      if (entry.unparks !== null) {
        const other = log.parkEntry.get(entry.unparks);
        const ol = m.kernel.procs.get(p.pid)!.lidMap.get(Number(entry.unparks.split('.')[1]));
        if (other !== undefined && ol !== undefined && ol.stat === LSSLEEP && ol.wmesg === 'parked') {
          assert.ok(other.seq > entry.seq, `${entry.unparks} parked forever though ${key}'s park unparked it\n${why()}`);
        }
      }
    }
  }
}

test('services fuzz: park/unpark/wakeup/detach/lwpctl programs never panic, break an invariant, or lose an unpark', () => {
  fc.assert(fc.property(progArb(false), (prog) => check(prog, ['idle', 'deadlock', 'limit'])), params(200));
});

test('services fuzz: programs whose parks all time out always finish', () => {
  fc.assert(fc.property(progArb(true), (prog) => check(prog, ['idle'])), params(120));
});
