/*
 * Property test for migration (fast-check): affinity changes aimed at other
 * LWPs of the process while they sleep in _lwp_wait or _lwp_suspend, stop
 * (SIGSTOP), or wake, on 4 CPUs, under netbsd-6 and netbsd-4, with and
 * without kernel preemption.  The checker runs after every step; its
 * migration invariant ("lwp P.L was migrating to cpuX but ended on cpuY")
 * was reachable before lwp_migrate's hand-off of l.targetCpu was fixed.
 * Reproduce a failure with FC_SEED=<seed> as printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { progArb, run } from './migrateprog.ts';

const fcSeed = Number(process.env.FC_SEED ?? 20261201);
const numRuns = Number(process.env.FC_RUNS ?? 300);

test('affinity changes of sleeping, stopping and waking LWPs never break the migration invariant', (t) => {
  t.diagnostic(`fast-check seed=${fcSeed} numRuns=${numRuns}`);
  let migrated = 0;
  fc.assert(
    fc.property(progArb, (prog) => {
      const res = run(prog);
      assert.equal(res.panic, undefined, `panic: ${res.panic} (${JSON.stringify(prog)})`);
      assert.ok(['idle', 'deadlock', 'limit'].includes(res.outcome), res.outcome);
      if (res.migrations > 0) migrated++;
    }),
    { seed: fcSeed, numRuns, includeErrorInReport: true },
  );
  // The property is only worth something if LWPs really migrated.
  assert.ok(migrated > numRuns / 4, `only ${migrated} of ${numRuns} runs migrated an LWP`);
});
