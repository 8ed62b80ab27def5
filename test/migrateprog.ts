/*
 * Programs for the migration property (test/migrate-fuzz.test.ts): four
 * LWPs of one process run scripts that change each other's affinity while
 * they sleep in _lwp_wait or _lwp_suspend, stop (SIGSTOP) or wake, on 4
 * CPUs.  run() returns the outcome, the panic message if any, and how many
 * times lwp_migrate really sent an LWP to another CPU (the window aimed at).
 */
import fc from 'fast-check';
import { Machine, SIGCONT, SIGSTOP, SyscallError, formatEvent, type Sys } from '../src/index.ts';

type Op =
  | { op: 'compute'; n: number } | { op: 'yield' }
  | { op: 'aff'; lid: number; mask: number }
  | { op: 'wait'; lid: number }
  | { op: 'suspend'; lid: number } | { op: 'continue'; lid: number }
  | { op: 'stop' } | { op: 'cont' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 30 }).map((n) => ({ op: 'compute' as const, n })) },
  { weight: 1, arbitrary: fc.constant({ op: 'yield' as const }) },
  // Masks 1..14: never all four CPUs, often several.
  { weight: 6, arbitrary: fc.record({ lid: fc.integer({ min: 1, max: 4 }), mask: fc.integer({ min: 1, max: 14 }) }).map((x) => ({ op: 'aff' as const, ...x })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 4 }).map((lid) => ({ op: 'wait' as const, lid })) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }).map((lid) => ({ op: 'suspend' as const, lid })) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }).map((lid) => ({ op: 'continue' as const, lid })) },
  { weight: 1, arbitrary: fc.constant({ op: 'stop' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'cont' as const }) },
);

export interface Prog { seed: number; personality: 'netbsd-6' | 'netbsd-4'; kpreempt: boolean; scripts: Op[][] }
export const progArb: fc.Arbitrary<Prog> = fc.record({
  seed: fc.integer({ min: 0, max: 1000 }),
  personality: fc.constantFrom('netbsd-6' as const, 'netbsd-4' as const),
  kpreempt: fc.boolean(),
  scripts: fc.array(fc.array(opArb, { maxLength: 10 }), { minLength: 4, maxLength: 4 }),
});

function cpusOf(mask: number): number[] {
  return [0, 1, 2, 3].filter((c) => (mask & (1 << c)) !== 0);
}

export function run(prog: Prog, events?: string[]): { outcome: string; panic?: string; migrations: number } {
  const m = new Machine({ ncpu: 4, seed: prog.seed, personality: prog.personality, kpreempt: prog.kpreempt });
  let migrations = 0;
  if (events) m.on((e) => { events.push(formatEvent(e)); if (events.length > 60) events.shift(); });
  m.on((e) => { if ((e.type === 'ipi' || e.type === 'state') && e.why === 'migrate') migrations++; });
  let pid = 0;
  function* interp(sys: Sys, s: number): Generator<any, void, any> {
    for (const o of prog.scripts[s]!) {
      try {
        switch (o.op) {
          case 'compute': yield* sys.compute(o.n); break;
          case 'yield': yield* sys.schedYield(); break;
          case 'aff': yield* sys.schedSetaffinity(o.lid, cpusOf(o.mask)); break;
          case 'wait': yield* sys.lwpWait(o.lid); break;
          case 'suspend': yield* sys.lwpSuspend(o.lid); break;
          case 'continue': yield* sys.lwpContinue(o.lid); break;
          case 'stop': yield* sys.kill(pid, SIGSTOP); break;
          case 'cont': yield* sys.kill(pid, SIGCONT); break;
        }
      } catch (e) {
        if (!(e instanceof SyscallError)) throw e;
      }
    }
  }
  m.spawn(function* root(sys: Sys) {
    pid = yield* sys.getpid();
    for (let s = 1; s < 4; s++) yield* sys.lwpCreate(interp, s);
    yield* interp(sys, 0);
    // Let everyone finish: resume whatever is suspended or stopped.
    for (let i = 0; i < 3; i++) {
      for (let lid = 2; lid <= 4; lid++) { try { yield* sys.lwpContinue(lid); } catch (e) { if (!(e instanceof SyscallError)) throw e; } }
      yield* sys.compute(20);
    }
  });
  // The root of each process is pid 1's LWP 1; a second process resumes it if it stopped.
  m.spawn(function* cont(sys: Sys) {
    for (let i = 0; i < 20; i++) { yield* sys.sleep(50); try { yield* sys.kill(1, SIGCONT); } catch (e) { if (!(e instanceof SyscallError)) throw e; } }
  });
  const r = m.run({ maxTicks: 20_000, maxSteps: 100_000 });
  return { outcome: r.outcome, migrations, ...(r.panic ? { panic: r.panic.message } : {}) };
}

