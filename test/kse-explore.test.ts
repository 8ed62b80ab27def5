/* The M:N UTS under the schedule explorer: every strategy's schedules, no failure and every join right. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explore, kse, type Sys } from '../src/index.ts';

const THREADS = 40;

function scenario() {
  const got: number[] = [];
  return {
    ncpu: 2,
    maxTicks: 2_000_000,
    main: function* (sys: Sys) {
      const uts = yield* kse.start(sys, { kses: 2 });
      const ts = [];
      for (let i = 0; i < THREADS; i++) {
        ts.push(uts.spawn(function* (usys: Sys, n: number) {
          yield* usys.compute(1 + (n % 3));
          if (n % 4 === 0) yield* usys.sleep(2);   // blocks in the kernel: an upcall gives the KSE back
          return n * 2;
        }, i));
      }
      for (const t of ts) got.push((yield* uts.join(t)) as number);
      yield* uts.stop();
    },
    check: (_m: unknown, r: { outcome: string }) => {
      if (r.outcome !== 'idle') return `outcome ${r.outcome}`;
      const want = Array.from({ length: THREADS }, (_, i) => i * 2);
      return JSON.stringify(got) === JSON.stringify(want) ? null : `joins returned ${JSON.stringify(got)}`;
    },
  };
}

test('the KSE UTS under exploration (portfolio, 120 runs, seed 3): no failure', () => {
  const report = explore(scenario, { strategy: 'portfolio', runs: 120, seed: 3 });
  assert.equal(report.found, null, report.found?.message);
  assert.equal(report.runs, 120);
  // The runs really were explored: more than one strategy ran, and they made decisions.
  assert.ok(Object.keys(report.perStrategy).length >= 3, JSON.stringify(report.perStrategy));
  assert.ok(report.decisions > 120 * 10, `only ${report.decisions} decisions`);
});
