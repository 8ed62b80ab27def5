/* The 2007 (netbsd-4, kern_lwp.c 1.69.2.6) and 2012 (netbsd-6, 1.172) personalities. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, type Sys } from '../src/index.ts';
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
