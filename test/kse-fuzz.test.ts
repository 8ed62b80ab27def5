/*
 * Property-based fuzzing of KSE (node:test + fast-check).  The checker runs
 * after every step, so a broken KSE invariant is a panic.
 *
 *  - UTS programs: random user threads (compute, sleep, system calls that
 *    do and do not block, kernel yields, nested spawns and joins, throws)
 *    on 1-4 KSEs and 1-8 CPUs: never a panic, always idle, every thread
 *    completes with its result, at most N kernel threads on CPUs at once,
 *    and the process leaves KSE mode and exits 0.
 *  - raw programs: random sequences of the KSE system calls themselves
 *    (kse_create with and without newgroup, kse_wakeup of known, unknown
 *    and null mailboxes, kse_exit, kse_thr_interrupt, bound and unbound
 *    calls), with an upcall that resumes completed contexts: never a
 *    panic, only the seed's errnos.
 *
 * Each property logs its fast-check seed; FC_SEED=<seed> replays one, and
 * FC_RUNS=<factor> scales the number of runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Machine, SyscallError, kse, type KseMailbox, type KseThrMailbox, type Sys } from '../src/index.ts';

const FC_SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 0x5e1ec7;
/** FC_RUNS=<factor> scales numRuns for a longer soak. */
const runs = (n: number): number => Math.max(1, Math.round(n * (process.env.FC_RUNS ? Number(process.env.FC_RUNS) : 1)));

type UOp =
  | { op: 'compute'; n: number }
  | { op: 'sleep'; n: number }
  | { op: 'getpid' }
  | { op: 'yield' }
  | { op: 'spawn'; ops: UOp[] }
  | { op: 'throw' };

const leafOp: fc.Arbitrary<UOp> = fc.oneof(
  fc.record({ op: fc.constant('compute' as const), n: fc.integer({ min: 0, max: 12 }) }),
  fc.record({ op: fc.constant('sleep' as const), n: fc.integer({ min: 1, max: 15 }) }),
  fc.constant({ op: 'getpid' as const }),
  fc.constant({ op: 'yield' as const }),
);
const uop: fc.Arbitrary<UOp> = fc.oneof(
  { weight: 8, arbitrary: leafOp },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('spawn' as const), ops: fc.array(leafOp, { maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'throw' as const }) },
);

const utsProgram = fc.record({
  ncpu: fc.integer({ min: 1, max: 8 }),
  kses: fc.integer({ min: 1, max: 4 }),
  seed: fc.integer({ min: 1, max: 1000 }),
  threads: fc.array(fc.array(uop, { maxLength: 6 }), { minLength: 1, maxLength: 12 }),
});

test('fuzz KSE UTS programs: no panic, all complete, at most N at once, KSE mode left', (t) => {
  t.diagnostic(`fuzz kse uts: fast-check seed=${FC_SEED} numRuns=${runs(40)}`);
  fc.assert(fc.property(utsProgram, (prog) => {
    const results: unknown[] = [];
    const expect: unknown[] = [];
    function* body(uts: kse.Uts, usys: Sys, ops: UOp[], i: number): Generator<any, unknown, any> {
      const kids: kse.UThread[] = [];
      for (const o of ops) {
        if (o.op === 'compute') yield* usys.compute(o.n);
        else if (o.op === 'sleep') yield* usys.sleep(o.n);
        else if (o.op === 'getpid') yield* usys.getpid();
        else if (o.op === 'yield') yield* usys.schedYield();
        else if (o.op === 'spawn') kids.push(uts.spawn(function* (s: Sys) { return yield* body(uts, s, o.ops, -1); }));
        else throw new Error(`thread ${i} throws`);
      }
      // Children are joined by main at the end (main is the only joiner here).
      pending.push(...kids);
      return i;
    }
    const pending: kse.UThread[] = [];
    const m = new Machine({ ncpu: prog.ncpu, seed: prog.seed });
    const pid = m.spawn(function* (sys: Sys) {
      const uts = yield* kse.start(sys, { kses: prog.kses });
      const ts = prog.threads.map((ops, i) => {
        expect.push(ops.some((o) => o.op === 'throw') ? `thread ${i} throws` : i);
        return uts.spawn(function* (s: Sys) { return yield* body(uts, s, ops, i); });
      });
      for (const th of ts) {
        try {
          results.push(yield* uts.join(th));
        } catch (e) {
          results.push((e as Error).message);
        }
      }
      while (pending.length !== 0) {
        try { yield* uts.join(pending.shift()!); } catch { /* its throw */ }
      }
      yield* uts.stop();
    }, { name: 'fuzz' });
    const onproc = new Set<number>();
    let maxOn = 0;
    m.on((e) => {
      if (e.pid !== pid || e.type !== 'state') return;
      if (e.to === 'ONPROC') onproc.add(e.lid);
      else if (e.from === 'ONPROC') onproc.delete(e.lid);
      maxOn = Math.max(maxOn, onproc.size);
    });
    const r = m.run({ maxTicks: 2_000_000 });
    assert.equal(r.outcome, 'idle', r.panic ? `panic: ${r.panic.message}` : `outcome ${r.outcome}`);
    assert.deepEqual(results, expect);
    assert.ok(maxOn <= prog.kses, `${maxOn} on CPUs with ${prog.kses} KSEs`);
    assert.equal(m.kse(pid), null);
    assert.equal(m.proc(pid)!.exitStatus, 0);
  }), { seed: FC_SEED, numRuns: runs(40) });
});

type ROp =
  | { op: 'create'; newgroup: boolean }
  | { op: 'wakeup'; which: number }
  | { op: 'exit' }
  | { op: 'interrupt' }
  | { op: 'unbind' }
  | { op: 'bind' }
  | { op: 'sleep'; n: number }
  | { op: 'getpid' }
  | { op: 'compute'; n: number };

const rop: fc.Arbitrary<ROp> = fc.oneof(
  fc.record({ op: fc.constant('create' as const), newgroup: fc.boolean() }),
  fc.record({ op: fc.constant('wakeup' as const), which: fc.integer({ min: -2, max: 4 }) }),
  fc.constant({ op: 'exit' as const }),
  fc.constant({ op: 'interrupt' as const }),
  fc.constant({ op: 'unbind' as const }),
  fc.constant({ op: 'bind' as const }),
  fc.record({ op: fc.constant('sleep' as const), n: fc.integer({ min: 1, max: 10 }) }),
  fc.constant({ op: 'getpid' as const }),
  fc.record({ op: fc.constant('compute' as const), n: fc.integer({ min: 0, max: 8 }) }),
);

const ALLOWED: Record<string, readonly string[]> = {
  kse_create: [],
  kse_wakeup: ['EINVAL', 'ESRCH'],
  kse_exit: ['EINVAL', 'EDEADLK'],
  kse_thr_interrupt: ['ENOSYS'],
};

test('fuzz raw KSE system calls: no panic, only the seed\'s errnos', (t) => {
  t.diagnostic(`fuzz kse raw: fast-check seed=${FC_SEED} numRuns=${runs(60)}`);
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 1000 }), fc.array(rop, { maxLength: 16 }),
    (ncpu, seed, ops) => {
      const bad: string[] = [];
      /** The upcall: resume the oldest completed context, else release the KSE. */
      function* upcall(sys: Sys, km: KseMailbox): Generator<any, void, any> {
        let c = km.completed;
        if (c !== null) {
          while (c.next !== null) c = c.next;
          km.completed = null;
          km.curthread = c;
          yield* sys.setcontext(c.context!);
        }
        yield* sys.kseRelease();
      }
      const mbx = (): KseMailbox => ({ curthread: null, completed: null, func: upcall, stack: null, flags: 0, udata: null, sigscaught: [] });
      const m = new Machine({ ncpu, seed });
      // What TLS gives a real program: the system-call object of whichever kernel thread runs it now.
      const sys = new Proxy({} as Sys, {
        get(_t, name) {
          const cur = m.kernel.curlwp()!.sys as Record<string | symbol, unknown>;
          const v = cur[name];
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(cur) : v;
        },
      });
      m.spawn(function* () {
        const kms: KseMailbox[] = [];
        const me: KseThrMailbox = { context: null, next: null, flags: 0, udata: 'main', uticks: 0, sticks: 0 };
        const call = function* (name: string, g: Generator<any, unknown, any>): Generator<any, void, any> {
          try {
            yield* g;
          } catch (e) {
            if (!(e instanceof SyscallError)) throw e;
            if (!ALLOWED[name]!.includes(e.code)) bad.push(`${name}: ${e.code}`);
          }
        };
        for (const o of ops) {
          if (o.op === 'create') {
            const km = mbx();
            kms.push(km);
            yield* call('kse_create', sys.kseCreate(km, o.newgroup));
          } else if (o.op === 'wakeup') {
            const km = o.which === -1 ? null : o.which === -2 ? mbx() : kms[o.which] ?? null;
            yield* call('kse_wakeup', sys.kseWakeup(km));
          } else if (o.op === 'exit') yield* call('kse_exit', sys.kseExit());
          else if (o.op === 'interrupt') yield* call('kse_thr_interrupt', sys.kseThrInterrupt());
          else if (o.op === 'unbind') { if (kms[0]) kms[0].curthread = me; }
          else if (o.op === 'bind') { for (const km of kms) km.curthread = null; }
          else if (o.op === 'sleep') yield* sys.sleep(o.n);
          else if (o.op === 'getpid') yield* sys.getpid();
          else yield* sys.compute(o.n);
        }
      }, { name: 'raw' });
      const r = m.run({ maxTicks: 500_000 });
      assert.ok(r.outcome !== 'panic', `panic: ${r.panic?.message}`);
      assert.notEqual(r.outcome, 'limit');
      assert.deepEqual(bad, []);
    }), { seed: FC_SEED, numRuns: runs(60) });
});

test('fuzz KSE UTS programs that exit mid-way: no panic, the process exits with the status', (t) => {
  t.diagnostic(`fuzz kse exit: fast-check seed=${FC_SEED} numRuns=${runs(40)}`);
  fc.assert(fc.property(utsProgram, fc.nat(), fc.nat(), (prog, who, when) => {
    const m = new Machine({ ncpu: prog.ncpu, seed: prog.seed });
    const exiter = who % prog.threads.length;
    const pid = m.spawn(function* (sys: Sys) {
      const uts = yield* kse.start(sys, { kses: prog.kses });
      const ts = prog.threads.map((ops, i) => uts.spawn(function* (s: Sys) {
        for (let k = 0; k <= ops.length; k++) {
          if (i === exiter && k === when % (ops.length + 1)) yield* s.exit(7);
          const o = ops[k];
          if (o === undefined) break;
          if (o.op === 'compute') yield* s.compute(o.n);
          else if (o.op === 'sleep') yield* s.sleep(o.n);
          else if (o.op === 'getpid') yield* s.getpid();
          else if (o.op === 'yield') yield* s.schedYield();
        }
      }));
      for (const th of ts) yield* uts.join(th);
      yield* uts.stop();
    }, { name: 'fuzz-exit' });
    const r = m.run({ maxTicks: 2_000_000 });
    assert.equal(r.outcome, 'idle', r.panic ? `panic: ${r.panic.message}` : `outcome ${r.outcome}`);
    assert.equal(m.proc(pid)!.exitStatus, 7);
  }), { seed: FC_SEED, numRuns: runs(40) });
});
