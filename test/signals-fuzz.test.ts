/*
 * Property tests for signals, stops, exec and exit (fast-check).
 *
 * Random families of processes run random scripts from random LWPs: they
 * create, wait for, suspend and continue LWPs, catch, ignore and block
 * SIGUSR1, send SIGUSR1/SIGTERM/SIGSTOP/SIGCONT/SIGKILL/0 to random
 * child processes, exec, exit, _lwp_exit and throw, at any time.  The root waits
 * for its children (and SIGCONTs and SIGKILLs them at the end so that
 * nothing stays stopped).  With the checker on after every step:
 *  - the kernel never panics and never breaks an invariant;
 *  - nothing leaks: when the run ends idle, every child was reaped and the
 *    only LWPs not yet freed are the CPUs' idle LWPs and the root's last one.
 * Reproduce a failure with FC_SEED=<seed> as printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Machine, SIGCONT, SIGKILL, SIGSTOP, SIGTERM, SIGUSR1, SyscallError, formatEvent, type Sys } from '../src/index.ts';

type Op =
  | { op: 'compute'; n: number } | { op: 'sleep'; n: number } | { op: 'yield' }
  | { op: 'create'; script: number } | { op: 'wait' }
  | { op: 'suspend'; lid: number } | { op: 'continue'; lid: number }
  | { op: 'catch'; restart: boolean } | { op: 'ignore' } | { op: 'default' }
  | { op: 'block' } | { op: 'unblock' }
  | { op: 'kill'; target: number; sig: number }
  | { op: 'exec'; script: number } | { op: 'exit'; status: number } | { op: 'lwpExit' } | { op: 'throw' };

const SIGS = [0, SIGUSR1, SIGUSR1, SIGTERM, SIGSTOP, SIGSTOP, SIGCONT, SIGCONT, SIGKILL];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 40 }).map((n) => ({ op: 'compute' as const, n })) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 30 }).map((n) => ({ op: 'sleep' as const, n })) },
  { weight: 1, arbitrary: fc.constant({ op: 'yield' as const }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 2 }).map((script) => ({ op: 'create' as const, script })) },
  { weight: 2, arbitrary: fc.constant({ op: 'wait' as const }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }).map((lid) => ({ op: 'suspend' as const, lid })) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }).map((lid) => ({ op: 'continue' as const, lid })) },
  { weight: 2, arbitrary: fc.boolean().map((restart) => ({ op: 'catch' as const, restart })) },
  { weight: 1, arbitrary: fc.constant({ op: 'ignore' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'default' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'block' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'unblock' as const }) },
  { weight: 3, arbitrary: fc.record({ target: fc.integer({ min: 1, max: 4 }), sig: fc.constantFrom(...SIGS) }).map((x) => ({ op: 'kill' as const, ...x })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 }).map((script) => ({ op: 'exec' as const, script })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map((status) => ({ op: 'exit' as const, status })) },
  { weight: 1, arbitrary: fc.constant({ op: 'lwpExit' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'throw' as const }) },
);

interface Prog { ncpu: number; seed: number; scripts: Op[][]; children: number }
const progArb: fc.Arbitrary<Prog> = fc.record({
  ncpu: fc.integer({ min: 1, max: 8 }),
  seed: fc.integer({ min: 0, max: 1000 }),
  scripts: fc.array(fc.array(opArb, { maxLength: 8 }), { minLength: 3, maxLength: 3 }),
  children: fc.integer({ min: 1, max: 3 }),
});

const ALLOWED = new Set(['ESRCH', 'EDEADLK', 'EINVAL', 'EINTR', 'EPERM', 'ECHILD']);

function run(prog: Prog, events?: string[]): { m: Machine; outcome: string; codes: Set<string>; panic?: string } {
  const m = new Machine({ ncpu: prog.ncpu, seed: prog.seed });
  if (events) m.on((e) => { events.push(formatEvent(e)); if (events.length > 80) events.shift(); });
  const codes = new Set<string>();
  let budget = 24; // LWPs and images, across the whole run: keeps every run finite
  const pids: number[] = [];

  function* interp(sys: Sys, s: number): Generator<any, void, any> {
    for (const o of prog.scripts[s]!) {
      try {
        switch (o.op) {
          case 'compute': yield* sys.compute(o.n); break;
          case 'sleep': yield* sys.sleep(o.n); break;
          case 'yield': yield* sys.schedYield(); break;
          case 'create': if (budget-- > 0) yield* sys.lwpCreate(interp, o.script); break;
          case 'wait': yield* sys.lwpWait(0); break;
          case 'suspend': yield* sys.lwpSuspend(o.lid); break;
          case 'continue': yield* sys.lwpContinue(o.lid); break;
          case 'catch': yield* sys.sigaction(SIGUSR1, function* (h: Sys) { yield* h.compute(2); }, { restart: o.restart }); break;
          case 'ignore': yield* sys.sigaction(SIGUSR1, 'ignore'); break;
          case 'default': yield* sys.sigaction(SIGUSR1, 'default'); break;
          case 'block': yield* sys.sigprocmask('block', [SIGUSR1]); break;
          case 'unblock': yield* sys.sigprocmask('unblock', [SIGUSR1]); break;
          case 'kill': yield* sys.kill(pids[1 + (o.target % (pids.length - 1))] ?? 2, o.sig); break; // children only: the root must live to reap
          case 'exec': if (budget-- > 0) yield* sys.exec(interp, o.script); break;
          case 'exit': yield* sys.exit(o.status); break;
          case 'lwpExit': yield* sys.lwpExit(); break;
          case 'throw': throw new Error('fuzz-throw');
        }
      } catch (e) {
        if (!(e instanceof SyscallError)) throw e;
        codes.add(e.code);
      }
    }
  }

  m.spawn(function* root(sys: Sys) {
    pids.push(yield* sys.getpid());
    for (let i = 0; i < prog.children; i++) pids.push(yield* sys.spawn(interp, i % 3));
    yield* sys.compute(100);
    for (const pid of pids.slice(1)) {
      // Whatever the children did to each other, end them so that they can be reaped.
      try { yield* sys.kill(pid, SIGCONT); yield* sys.kill(pid, SIGKILL); } catch (e) { if (!(e instanceof SyscallError)) throw e; }
    }
    for (let i = 0; i < prog.children; i++) yield* sys.waitpid(-1);
  });
  const r = m.run({ maxTicks: 100_000, maxSteps: 200_000 });
  return { m, outcome: r.outcome, codes, ...(r.panic ? { panic: r.panic.message } : {}) };
}

const fcSeed = Number(process.env.FC_SEED ?? 20261122);
const numRuns = Number(process.env.FC_RUNS ?? 400);

test('signals, stops, exec and exit at any time never panic the kernel, and nothing leaks', (t) => {
  t.diagnostic(`fast-check seed=${fcSeed} numRuns=${numRuns}`);
  fc.assert(
    fc.property(progArb, (prog) => {
      const res = run(prog);
      if (res.panic) {
        const ev: string[] = [];
        run(prog, ev);
        assert.fail(`panic: ${res.panic}\n${ev.join('\n')}`);
      }
      assert.ok(['idle', 'deadlock', 'limit'].includes(res.outcome), res.outcome);
      for (const c of res.codes) assert.ok(ALLOWED.has(c), `unexpected errno ${c}`);
      if (res.outcome === 'idle') {
        const k = res.m.kernel;
        const procs = res.m.procs();
        assert.ok(procs.slice(1).every((p) => p.reaped), `unreaped children: ${JSON.stringify(procs)}`);
        const left = [...k.alllwp].filter((l) => l.proc !== k.proc0 && l.proc.pid !== 1);
        assert.deepEqual(left.map((l) => `${l.proc.pid}.${l.lid}`), [], 'LWPs of reaped processes were never freed');
        assert.equal([...k.alllwp].filter((l) => l.proc.pid === 1).length, 1, 'the root keeps exactly its last LWP');
      }
    }),
    { seed: fcSeed, numRuns },
  );
});
