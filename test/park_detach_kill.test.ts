/* _lwp_detach's errno paths and side effects as the per-LWP services see them, and _lwp_kill. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LWP_DETACHED, Machine, type Sys } from '../src/index.ts';
import { mutexOwned } from '../src/kern/mutex.ts';
import { LSIDL, LSZOMB } from '../src/kern/param.ts';
import { assertIdle, errnoOf, runMain } from './helpers.ts';
import { lwpOf } from './inspect.ts';

test('lwpDetach: EINVAL for an LWP created detached or detached already, ESRCH for unknown lids, EINVAL for bad ones', () => {
  const { r, out } = runMain(function* (sys, o: { codes: string[] }) {
    const d = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(200); }, undefined, { flags: LWP_DETACHED });
    const u = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(200); });
    o.codes.push(yield* errnoOf(sys.lwpDetach(d)));
    o.codes.push(yield* errnoOf(sys.lwpDetach(u)));
    o.codes.push(yield* errnoOf(sys.lwpDetach(u)));
    for (const lid of [0, 999, -1]) o.codes.push(yield* errnoOf(sys.lwpDetach(lid)));
    for (const lid of [0.5, 2 ** 31]) o.codes.push(yield* errnoOf(sys.lwpDetach(lid)));
  }, { codes: [] as string[] }, { ncpu: 2 });
  assertIdle(r);
  assert.deepEqual(out.codes, ['EINVAL', '', 'EINVAL', 'ESRCH', 'ESRCH', 'ESRCH', 'EINVAL', 'EINVAL']);
});

test('a detached zombie is freed at once: its lid is gone for every call, and ps no longer lists it', () => {
  const { r, out, m, pid } = runMain(function* (sys, o: { codes: string[]; listed?: boolean; nlwps?: number }) {
    const z = yield* sys.lwpCreate(function* (s: Sys) { yield* s.lwpSetName(0, 'doomed'); });
    yield* sys.compute(50);
    assert.equal(lwpOf(sys).proc.lidMap.get(z)!.name, '(zombie)');
    yield* sys.lwpDetach(z);
    o.listed = lwpOf(sys).proc.lidMap.has(z);
    o.nlwps = lwpOf(sys).proc.nlwps;
    o.codes.push(yield* errnoOf(sys.lwpWait(z)));
    o.codes.push(yield* errnoOf(sys.lwpDetach(z)));
    o.codes.push(yield* errnoOf(sys.lwpUnpark(z)));
    o.codes.push(yield* errnoOf(sys.lwpWakeup(z)));
    o.codes.push(yield* errnoOf(sys.lwpKill(z, 0)));
    o.codes.push(yield* errnoOf(sys.lwpSetName(z, 'x')));
    o.codes.push(yield* errnoOf(sys.lwpGetName(z)));
    o.codes.push(yield* errnoOf(sys.lwpSuspend(z)));
    o.codes.push(yield* errnoOf(sys.lwpContinue(z)));
  }, { codes: [] as string[] });
  assertIdle(r);
  assert.equal(out.listed, false);
  assert.equal(out.nlwps, 1);
  assert.ok(out.codes.every((c) => c === 'ESRCH'), out.codes.join());
  assert.equal(m.ps().filter((row) => row.pid === pid).length, 1);
});

test('an LWP may detach itself; when it exits it waits in p_zomblwp and is never waitable', () => {
  const { r, out } = runMain(function* (sys, o: { w?: string; z?: number; t?: number; me?: string }) {
    const t = o.t = yield* sys.lwpCreate(function* (s: Sys) {
      o.me = yield* errnoOf(s.lwpDetach(yield* s.lwpSelf()));
    });
    yield* sys.compute(100);
    o.z = lwpOf(sys).proc.zomblwp?.lid;
    o.w = yield* errnoOf(sys.lwpWait(t));
  }, {}, { ncpu: 2 });
  assertIdle(r);
  assert.equal(out.me, '');
  assert.equal(out.z, out.t, 'the exited self-detached LWP waits in p_zomblwp');
  assert.equal(out.w, 'ESRCH');
});

test('a blocked lwpWait(0) re-checks when the last LWP it could collect detaches itself: ESRCH', () => {
  const { r, out } = runMain(function* (sys, o: { w?: string }) {
    yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(100); yield* s.lwpDetach(yield* s.lwpSelf()); yield* s.compute(100); });
    o.w = yield* errnoOf(sys.lwpWait(0));
  }, {}, { ncpu: 2 });
  assertIdle(r);
  assert.equal(out.w, 'ESRCH');
});

test('lwpKill: a bad signal is EINVAL before the lookup; unknown or zombie LWPs ESRCH; signal 0 only probes', () => {
  const m = new Machine({ ncpu: 2, seed: 4 });
  const posted: string[] = [];
  m.on((e) => {
    if (e.type !== 'signal' || e.what !== 'post') return;
    // kpsignal2 is reached with proc_lock and p.lock held, on a live LWP.
    const t = m.kernel.procs.get(e.targetPid)!.lidMap.get(e.targetLid)!;
    assert.ok(mutexOwned(m.kernel, m.kernel.procLock) && mutexOwned(m.kernel, t.proc.lock));
    assert.ok(t.stat !== LSZOMB && t.stat !== LSIDL);
    posted.push(`${e.targetLid}:${e.sig}`);
  });
  const o: { codes: string[] } = { codes: [] };
  m.spawn(function* (sys: Sys) {
    // Caught (by handlers that do nothing), so that the posts below kill nobody.
    yield* sys.sigaction(63, function* () {});
    yield* sys.sigaction(1, function* () {});
    const z = yield* sys.lwpCreate(function* () {});
    const t = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(500); });
    while (lwpOf(sys).proc.lidMap.get(z)!.stat !== LSZOMB) yield* sys.compute(5);
    for (const sig of [64, -1, 1.5, NaN, 1000]) o.codes.push(yield* errnoOf(sys.lwpKill(999, sig)));
    o.codes.push(yield* errnoOf(sys.lwpKill(999, 0)));
    o.codes.push(yield* errnoOf(sys.lwpKill(z, 0)));
    o.codes.push(yield* errnoOf(sys.lwpKill(z, 9)));
    o.codes.push(yield* errnoOf(sys.lwpKill(1.5, 0)));
    o.codes.push(yield* errnoOf(sys.lwpKill(t, 0)));
    o.codes.push(yield* errnoOf(sys.lwpKill(t, 63)));
    o.codes.push(yield* errnoOf(sys.lwpKill(yield* sys.lwpSelf(), 1)));
    yield* sys.lwpWait(t);
    yield* sys.lwpWait(z);
  });
  assertIdle(m.run());
  assert.deepEqual(o.codes, ['EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'ESRCH', 'ESRCH', 'ESRCH', 'EINVAL', '', '', '']);
  assert.deepEqual(posted, ['3:63', '1:1'], 'signal 0 posts nothing; real signals are posted to the LWP named');
});

test('lwpKill delivers to exactly the LWP named: its handler runs there', () => {
  const { r, out } = runMain(function* (sys, o: { k?: string; ranOn?: number; done?: boolean }) {
    yield* sys.sigaction(30 /* SIGUSR1 */, function* (s: Sys) { o.ranOn = yield* s.lwpSelf(); });
    const t = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(100); o.done = true; });
    o.k = yield* errnoOf(sys.lwpKill(t, 30));
    yield* sys.lwpWait(t);
  }, {});
  assertIdle(r);
  assert.equal(out.k, '');
  assert.equal(out.ranOn, 2, 'the handler ran on the target LWP, not the sender');
  assert.equal(out.done, true);
});
