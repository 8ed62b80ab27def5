/* The system-call layer's result slot: one per LWP, reused by every call. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, SIGUSR1, type Sys } from '../src/index.ts';

test('a signal handler that makes system calls on the way out of a call does not change what that call returns', () => {
  const m = new Machine({ ncpu: 1, seed: 1 });
  const o = { handled: 0, inHandler: [] as unknown[], old: null as unknown, lid: 0 };
  m.spawn(function* (sys: Sys) {
    yield* sys.sigaction(SIGUSR1, function* (s: Sys) {
      o.handled++;
      o.inHandler.push(yield* s.getpid(), yield* s.lwpGetName(0, 16));
    });
    yield* sys.sigprocmask('block', [SIGUSR1]);
    yield* sys.kill(yield* sys.getpid(), SIGUSR1);
    // Unblocking makes the signal deliverable at this very call's trip back
    // through mi_userret: the handler runs there, after the call's body.
    o.old = yield* sys.sigprocmask('unblock', [SIGUSR1]);
    o.lid = yield* sys.lwpSelf();
  }, { name: 'rv' });
  const r = m.run();
  assert.equal(r.outcome, 'idle', r.panic?.message);
  assert.equal(o.handled, 1, 'the handler ran once (the window was hit)');
  assert.deepEqual(o.inHandler, [1, ''], 'the handler\'s own calls returned their values');
  assert.deepEqual(o.old, [SIGUSR1], 'sigprocmask returned the old mask, not a value of the handler\'s calls');
  assert.equal(o.lid, 1);
});
