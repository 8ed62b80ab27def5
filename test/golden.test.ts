/* The golden event streams (test/golden/golden.ts) must not move: every example x seeds 1..20 x ncpu 1,2,4, and fuzz programs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeGolden, loadGolden } from './golden/golden.ts';

test('golden event-stream hashes match (npm run golden lists what moved)', async () => {
  const old = loadGolden();
  const now = await computeGolden();
  assert.ok(Object.keys(old).length >= 600, 'the golden set is complete');
  const moved = Object.keys({ ...old, ...now }).filter((k) => old[k] !== now[k]);
  assert.deepEqual(moved, [], `${moved.length} golden streams moved, first: ${moved.slice(0, 5).join('; ')}`);
});
