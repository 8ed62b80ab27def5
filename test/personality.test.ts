/* The 2007 (netbsd-4, kern_lwp.c 1.69.2.6) and 2012 (netbsd-6, 1.172) personalities. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LWPCTL_FEATURE_CURCPU, Machine, RLIMIT_NTHR, type Sys } from '../src/index.ts';
import { assertIdle, errnoOf } from './helpers.ts';
import { runDetached, type Gen } from '../src/engine/coroutine.ts';
import { kthreadCreate } from '../src/kern/proc.ts';
import { lwpLock, mutexEnter, mutexExit } from '../src/kern/mutex.ts';
import { lwpSuspend } from '../src/kern/lwp.ts';
import { LW_WEXIT } from '../src/kern/param.ts';
import type { Lwp } from '../src/kern/h/lwp.ts';

function suspendWhileExiting(personality: string): number {
  const m = new Machine({ ncpu: 2, personality });
  const pid = m.spawn(function* (sys: Sys) { yield* sys.compute(200); });
  const k = m.kernel;
  let error = -1;
  // A kernel thread flagged LW_WEXIT calls lwp_suspend on the user LWP.
  runDetached(kthreadCreate(k.cpus[1]!.idlelwp, 'suspender', function* (l: Lwp): Gen<void> {
    const p = k.procs.get(pid)!;
    const t = p.lidMap.get(1)!;
    l.flag |= LW_WEXIT;
    yield* mutexEnter(k, p.lock);
    yield* lwpLock(t);
    error = yield* lwpSuspend(l, t);
    l.flag &= ~LW_WEXIT;
    mutexExit(k, p.lock);
  }));
  m.run({ maxTicks: 10 });
  return error;
}

test("netbsd-6 lwp_suspend refuses (EDEADLK) when the caller is exiting; netbsd-4's guard tests l_stat and never fires", () => {
  assert.equal(suspendWhileExiting('netbsd-6'), 11);
  assert.equal(suspendWhileExiting('netbsd-4'), 0);
});

function nrlwpsAtCreate(personality: string): number {
  const m = new Machine({ ncpu: 1, personality });
  let seen = -1;
  m.on((e) => { if (e.type === 'create' && e.pid === 1) seen = m.kernel.procs.get(1)!.nrlwps; });
  m.spawn(function* (sys: Sys) { yield* sys.lwpWait(yield* sys.lwpCreate(function* () {})); });
  assert.equal(m.run().outcome, 'idle');
  return seen;
}

test('netbsd-6 lwp_create counts the new LSIDL LWP in p_nrlwps; netbsd-4 leaves it to the caller', () => {
  assert.equal(nrlwpsAtCreate('netbsd-6'), 2);
  assert.equal(nrlwpsAtCreate('netbsd-4'), 1);
});

test('both personalities run the same programs to the same results with every invariant holding', () => {
  for (const personality of ['netbsd-6', 'netbsd-4']) {
    const m = new Machine({ ncpu: 3, seed: 4, personality });
    const pid = m.spawn(function* (sys: Sys) {
      const a = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(300); });
      yield* sys.lwpSuspend(a);
      yield* sys.lwpContinue(a);
      yield* sys.lwpWait(a);
      yield* sys.exit(5);
    });
    assert.equal(m.run().outcome, 'idle', personality);
    assert.equal(m.proc(pid)!.exitStatus, 5);
  }
});

function lwpCtlTwice(personality: string): { first: string; second: string; same: boolean } {
  const out = { first: '', second: '', same: false };
  const m = new Machine({ ncpu: 2, personality });
  m.spawn(function* (sys: Sys) {
    let a: unknown = null;
    let b: unknown = null;
    out.first = yield* errnoOf((function* () { a = yield* sys.lwpCtl(LWPCTL_FEATURE_CURCPU); })());
    out.second = yield* errnoOf((function* () { b = yield* sys.lwpCtl(LWPCTL_FEATURE_CURCPU); })());
    out.same = a !== null && a === b;
  });
  assertIdle(m.run());
  return out;
}

test('lwp_ctl_alloc asked again: netbsd-6 returns the same block; netbsd-4 says EINVAL', () => {
  assert.deepEqual(lwpCtlTwice('netbsd-6'), { first: '', second: '', same: true });
  assert.deepEqual(lwpCtlTwice('netbsd-4'), { first: '', second: 'EINVAL', same: false });
});

function createAsNonRoot(personality: string): { made: number; error: string } {
  const out = { made: 0, error: '' };
  const m = new Machine({ ncpu: 2, personality });
  m.spawn(function* (sys: Sys) {
    yield* sys.setrlimit(RLIMIT_NTHR, { cur: 4, max: 4 });
    yield* sys.setuid(1000);
    for (let i = 0; i < 8; i++) {
      out.error = yield* errnoOf((function* () { yield* sys.lwpCreate(function* (s: Sys) { yield* s.sleep(50); }); })());
      if (out.error !== '') break;
      out.made++;
    }
    for (let i = 0; i < out.made; i++) yield* sys.lwpWait(0);
  });
  assertIdle(m.run());
  return out;
}

test('lwp_create\'s per-uid RLIMIT_NTHR check: netbsd-6 stops a non-root process at its limit (EAGAIN); netbsd-4 has none', () => {
  // Soft limit 4: the uid may be charged 4 LWPs, and the process's first is not charged.
  assert.deepEqual(createAsNonRoot('netbsd-6'), { made: 4, error: 'EAGAIN' });
  assert.deepEqual(createAsNonRoot('netbsd-4'), { made: 8, error: '' });
});

function childAffinity(personality: string): number[] {
  let seen: number[] = [];
  const m = new Machine({ ncpu: 3, personality });
  m.spawn(function* (sys: Sys) {
    yield* sys.schedSetaffinity(0, [1]);
    const t = yield* sys.lwpCreate(function* (s: Sys) { seen = yield* s.schedGetaffinity(0); });
    yield* sys.lwpWait(t);
  });
  assertIdle(m.run());
  return seen;
}

test('lwp_create inherits the creator\'s affinity mask on netbsd-6; on netbsd-4 (no l_affinity) the new LWP may run anywhere', () => {
  assert.deepEqual(childAffinity('netbsd-6'), [1]);
  assert.deepEqual(childAffinity('netbsd-4'), [0, 1, 2]);
});

/** Runs (of seeds 1..30) in which LWP 2 went SUSPENDED -> ONPROC: continued while still on its CPU. */
function continuedBeforeSwitch(personality: string): number {
  let runs = 0;
  for (let seed = 1; seed <= 30; seed++) {
    const m = new Machine({ ncpu: 3, seed, personality });
    let hit = false;
    m.on((e) => { if (e.type === 'state' && e.pid === 1 && e.lid === 2 && e.from === 'SUSPENDED' && e.to === 'ONPROC') hit = true; });
    m.spawn(function* (sys: Sys) {
      const t = yield* sys.lwpCreate(function* (s: Sys) { for (let i = 0; i < 200; i++) yield* s.compute(1); });
      yield* sys.lwpCreate(function* (s: Sys) { for (let i = 0; i < 100; i++) yield* errnoOf(s.lwpContinue(t)); });
      for (let i = 0; i < 30; i++) {
        yield* errnoOf(sys.lwpSuspend(t));
        yield* errnoOf(sys.lwpContinue(t));
      }
      yield* sys.lwpWait(0);
      yield* sys.lwpWait(0);
    });
    assertIdle(m.run());
    if (hit) runs++;
  }
  return runs;
}

test('lwp_userret\'s suspend: netbsd-6 drops the LWP lock before mi_switch, so a continue can catch it still on its CPU; netbsd-4 holds it', () => {
  // Not visible to the program (it resumes either way): the event stream shows the window.
  assert.ok(continuedBeforeSwitch('netbsd-6') > 0, 'netbsd-6 never continued an LWP inside the window');
  assert.equal(continuedBeforeSwitch('netbsd-4'), 0);
});

function zombieName(personality: string): string {
  const m = new Machine({ ncpu: 2, personality });
  let name = '?';
  m.on((e) => {
    if (e.type === 'exit' && e.pid === 1 && e.lid === 2) name = m.ps().find((r) => r.pid === 1 && r.lid === 2)?.name ?? 'gone';
  });
  m.spawn(function* (sys: Sys) {
    const t = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(5); }, undefined, { name: 'worker' });
    yield* sys.lwpWait(t);
  });
  assertIdle(m.run());
  return name;
}

test('lwp_exit renames a named zombie "(zombie)" on netbsd-6 (what ps shows); netbsd-4 has no l_name to rename', () => {
  assert.equal(zombieName('netbsd-6'), '(zombie)');
  assert.equal(zombieName('netbsd-4'), 'worker');
});
