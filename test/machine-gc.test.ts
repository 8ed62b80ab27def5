/*
 * A dead Machine is young garbage: a scavenge (minor GC) frees it.  The
 * unnamed arrows the Machine constructor stored in the engine and the kernel
 * (onStep, makeSys) once kept every dead machine reachable until the next
 * full GC, and V8 then pretenured the machine's allocation sites: fresh
 * machines ran at half speed (issue 10).  Checked and kpreempt machines
 * install more hooks: each is tried.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Machine, type Sys } from '../src/index.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as (o?: { type: 'minor' | 'major' }) => void;

function* main(sys: Sys) {
  const lids: number[] = [];
  for (let i = 0; i < 3; i++) lids.push(yield* sys.lwpCreate(function* (s: Sys) { yield* s.schedYield(); }));
  for (const lid of lids) assert.equal(yield* sys.lwpWait(lid), lid);
}

/**
 * What two scavenges leave of the heap growth of `n` finished machines, as
 * a fraction; null when a GC ran in the middle of the batch (it shrank).
 */
function retained(n: number, opts: { check: boolean; kpreempt?: boolean }): number | null {
  gc({ type: 'major' });
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) {
    const m = new Machine({ ncpu: 2, seed: i + 1, ...opts });
    m.spawn(main, { name: 'gc' });
    assert.equal(m.run().outcome, 'idle');
  }
  const grew = process.memoryUsage().heapUsed - before;
  if (grew < 200_000) return null;
  gc({ type: 'minor' });
  gc({ type: 'minor' });
  return (process.memoryUsage().heapUsed - before) / grew;
}

for (const opts of [{ check: false }, { check: true }, { check: true, kpreempt: true }]) {
  test(`finished machines are freed by a scavenge (${JSON.stringify(opts)})`, () => {
    retained(20, opts); // warm up: compiled code and feedback stay
    const left: number[] = [];
    for (let i = 0; i < 40 && left.length < 9; i++) {
      const f = retained(8, opts);
      if (f !== null) left.push(f);
    }
    assert.ok(left.length >= 5, `only ${left.length} batches ran without a GC in the middle`);
    left.sort((a, b) => a - b);
    const median = left[left.length >> 1]!;
    assert.ok(median < 0.15, `two scavenges left ${(100 * median).toFixed(0)}% of what finished machines took (${left.map((x) => x.toFixed(2)).join(' ')}): dead machines are kept reachable`);
  });
}
