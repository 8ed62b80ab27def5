/* Recordings (src/trace/record.ts): the frames are the machine's own m.ps(), and the choices replay the run. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, ReplayChooser, type Sys } from '../src/index.ts';
import { checkRecording, locksAtFrame, psAtFrame, Recorder } from '../src/trace/record.ts';
import { heldLocks } from '../src/trace/record.ts';
import { main as workers } from '../examples/cli-workers.ts';
import { main as cycle } from '../examples/cli-cycle.ts';

function record(prog: (s: Sys) => Generator<unknown, unknown, unknown>, ncpu: number, seed: number) {
  const m = new Machine({ ncpu, seed, record: true });
  const r = new Recorder(m);
  m.spawn(prog as never, { name: 'p' });
  return r.run({ program: 'p', seed });
}

test('ps at a frame equals m.ps() of the same run stopped after that many steps', () => {
  const { rec } = record(workers, 3, 7);
  assert.equal(checkRecording(rec), null);
  assert.ok(rec.frames.length > 20, `only ${rec.frames.length} frames`);
  let differs = 0;
  for (const fi of [1, Math.floor(rec.frames.length / 2), rec.frames.length - 2]) {
    const f = rec.frames[fi]!;
    const m = new Machine({ ncpu: 3, seed: 7 });
    let n = 0;
    m.on(() => n++);
    m.spawn(workers, { name: 'p' });
    m.run({ maxSteps: f.s });
    assert.equal(m.engine.steps, f.s);
    assert.equal(n, f.e, `events after ${f.s} steps`);
    assert.deepEqual(psAtFrame(rec.frames, fi), m.ps(), `ps after step ${f.s}`);
    assert.deepEqual(locksAtFrame(rec.frames, fi), heldLocks(m), `locks after step ${f.s}`);
    if (JSON.stringify(psAtFrame(rec.frames, fi)) !== JSON.stringify(psAtFrame(rec.frames, 0))) differs++;
  }
  assert.ok(differs >= 2, 'the chosen frames show different ps tables');
});

test('the recorded choices replay the same events; the recording survives JSON', () => {
  const { rec, result } = record(workers, 4, 3);
  assert.equal(rec.meta.outcome, result.outcome);
  assert.ok(rec.choices.length > 0);
  const m = new Machine({ ncpu: 4, chooser: new ReplayChooser(rec.choices) });
  const ev: unknown[] = [];
  m.on((e) => ev.push(e));
  m.spawn(workers, { name: 'p' });
  m.run();
  assert.deepEqual(JSON.parse(JSON.stringify(ev)), JSON.parse(JSON.stringify(rec.events)));
  assert.equal(checkRecording(JSON.parse(JSON.stringify(rec))), null);
});

test('a deadlock carries its wait-for graph and blocked LWPs', () => {
  const { rec } = record(cycle, 2, 1);
  assert.equal(rec.meta.outcome, 'deadlock');
  assert.equal(rec.blocked?.length, 3);
  assert.equal(rec.waitFor?.cycles.length, 1);
});

test('checkRecording refuses what is not a recording', () => {
  assert.match(checkRecording({}) ?? '', /not an lwpkit recording/);
  assert.match(checkRecording({ format: 'lwpkit-recording', version: 9 }) ?? '', /version 9/);
  assert.match(checkRecording(null) ?? '', /not a JSON object/);
});

test('lwpkit run --record writes a recording of the same run', async () => {
  const { main } = await import('../src/cli/main.ts');
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const file = join(mkdtempSync(join(tmpdir(), 'lwpkit-rec-')), 'cycle.json');
  const out: string[] = [];
  const code = await main(['run', 'example:cycle', '--ncpu', '2', '--record', file], { out: (s) => out.push(s), err: (s) => out.push(s) });
  assert.equal(code, 1, out.join('\n'));
  const rec = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(checkRecording(rec), null);
  assert.equal(rec.meta.outcome, 'deadlock');
  assert.equal(rec.meta.program, 'cycle');
  assert.equal(rec.meta.ncpu, 2);
  assert.match(out.join('\n'), /cycle 1: 1\.2 t1/);
});
