/* Signals, stops, suspension races, single-threading (exit, exec, core dumps) and stack reaping. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, SIGCHLD, SIGCONT, SIGKILL, SIGSTOP, SIGTERM, SIGUSR1, SIGUSR2, SIGQUIT, type Sys } from '../src/index.ts';
import { assertIdle, errnoOf, runMain } from './helpers.ts';
import { runDetached, type Gen } from '../src/engine/coroutine.ts';
import { kthreadCreate } from '../src/kern/proc.ts';
import { lwpAddref, lwpDelref } from '../src/kern/lwp.ts';
import { mutexEnter, mutexExit } from '../src/kern/mutex.ts';
import { sleepqBlock, sleepqEnqueue, sleepqEnter, sleeptabLookup } from '../src/kern/sleepq.ts';
import { sigbit } from '../src/kern/h/signal.ts';
import { LW_PENDSIG, LW_WEXIT } from '../src/kern/param.ts';
import type { Lwp } from '../src/kern/h/lwp.ts';

/** A kernel thread's uninterruptible timed sleep. */
function* ksleep(l: Lwp, ticks: number): Gen<void> {
  const sq = yield* sleeptabLookup(l.k, l);
  yield* sleepqEnter(sq, l);
  sleepqEnqueue(sq, l, 'ksleep', l);
  yield* sleepqBlock(l, ticks, false);
}

/** Run `body` as a kernel thread on machine m. */
function kthread(m: Machine, body: (l: Lwp) => Gen<void>): void {
  runDetached(kthreadCreate(m.kernel.cpus[m.kernel.cpus.length - 1]!.idlelwp, 'test', body));
}

/** The machine a program runs on, for reading the clock and ps from inside (tests only). */
let M: Machine;
function machine(opts: ConstructorParameters<typeof Machine>[0] = {}): Machine {
  M = new Machine({ ncpu: 2, seed: 1, ...opts });
  return M;
}
function stat(pid: number, lid: number): string {
  return M.ps().find((r) => r.pid === pid && r.lid === lid)?.stat ?? 'gone';
}

test('kill posts to the process; the handler runs on an LWP that does not block the signal', () => {
  const m = machine({ ncpu: 3 });
  let ranOn = 0;
  const pid = m.spawn(function* (sys: Sys) {
    yield* sys.sigaction(SIGUSR1, function* (s: Sys) { ranOn = yield* s.lwpSelf(); });
    yield* sys.sigprocmask('block', [SIGUSR1]); // main blocks it
    const t = yield* sys.lwpCreate(function* (s: Sys) {
      yield* s.sigprocmask('unblock', [SIGUSR1]); // born with main's mask; the mask is per LWP
      yield* errnoOf(s.sleep(100));
    });
    yield* sys.compute(5);
    yield* sys.kill(yield* sys.getpid(), SIGUSR1);
    yield* sys.lwpWait(t);
  });
  assertIdle(m.run());
  assert.equal(ranOn, 2, 'delivered to LWP 2, the one not blocking SIGUSR1');
  assert.equal(m.proc(pid)!.exitStatus, 0);
});

test('kill: signal 0 checks existence; ESRCH, EINVAL, and EPERM across users unless root', () => {
  const m = machine();
  const codes: string[] = [];
  const victim = m.spawn(function* (sys: Sys) { yield* sys.sleep(500); }, { uid: 7 });
  m.spawn(function* (sys: Sys) {
    codes.push(yield* errnoOf(sys.kill(victim, 0)));
    codes.push(yield* errnoOf(sys.kill(victim, SIGTERM)));
    codes.push(yield* errnoOf(sys.kill(999, 0)));
    codes.push(yield* errnoOf(sys.kill(victim, 64)));
    codes.push(yield* errnoOf(sys.kill(0, 1)));
  }, { uid: 8 });
  m.spawn(function* (sys: Sys) { yield* sys.compute(10); yield* sys.kill(victim, SIGTERM); }, { uid: 0 });
  assertIdle(m.run());
  assert.deepEqual(codes, ['EPERM', 'EPERM', 'ESRCH', 'EINVAL', 'EINVAL']);
  assert.equal(m.proc(victim)!.signal, SIGTERM, 'root may signal anyone');
});

test('default actions: SIGTERM kills, SIGCHLD is ignored, SIGKILL cannot be caught or blocked', () => {
  const { r, m, pid, out } = runMain(function* (sys, o: { a?: string; b?: string; mask?: number[] }) {
    yield* sys.kill(yield* sys.getpid(), SIGCHLD);                    // ignored by default
    o.a = yield* errnoOf(sys.sigaction(SIGKILL, 'ignore'));
    o.b = yield* errnoOf(sys.sigaction(SIGSTOP, function* () {}));
    yield* sys.sigprocmask('block', [SIGKILL, SIGUSR1]);
    o.mask = yield* sys.sigprocmask('block', null);
    yield* sys.kill(yield* sys.getpid(), SIGTERM);
    yield* sys.compute(1000); // never reached: the kill is acted on at the end of kill()
  }, {});
  assertIdle(r);
  assert.deepEqual([out.a, out.b], ['EINVAL', 'EINVAL']);
  assert.deepEqual(out.mask, [SIGUSR1], 'SIGKILL is silently left out of the mask');
  assert.equal(m.proc(pid)!.signal, SIGTERM);
  assert.ok(r.ticks < 1000);
});

test('a blocked signal stays pending and is delivered as soon as it is unblocked', () => {
  const { r, out } = runMain(function* (sys, o: { log: string[] }) {
    yield* sys.sigaction(SIGUSR2, function* () { o.log.push('handler'); });
    yield* sys.sigprocmask('block', [SIGUSR2]);
    yield* sys.kill(yield* sys.getpid(), SIGUSR2);
    o.log.push('still blocked');
    yield* sys.sigprocmask('unblock', [SIGUSR2]);
    o.log.push('after unblock');
  }, { log: [] as string[] });
  assertIdle(r);
  assert.deepEqual(out.log, ['still blocked', 'handler', 'after unblock']);
});

test('a caught signal interrupts an interruptible sleep with EINTR; with restart the call is restarted transparently', () => {
  const { r, out } = runMain(function* (sys, o: { sleep?: string; wait?: string; got?: number; handled: number }) {
    const me = yield* sys.getpid();
    yield* sys.sigaction(SIGUSR1, function* () { o.handled++; });
    // The senders block SIGUSR1, so that main is the LWP that takes it.
    const sender = function* (s: Sys) { yield* s.sigprocmask('block', [SIGUSR1]); yield* s.compute(20); yield* s.kill(me, SIGUSR1); };
    yield* sys.lwpCreate(sender);
    o.sleep = yield* errnoOf(sys.sleep(1000));                         // EINTR
    yield* sys.lwpWait(0);
    yield* sys.sigaction(SIGUSR1, function* () { o.handled++; }, { restart: true });
    const t = yield* sys.lwpCreate(function* (s: Sys) { yield* s.sigprocmask('block', [SIGUSR1]); yield* s.compute(50); });
    yield* sys.lwpCreate(sender);
    o.got = yield* sys.lwpWait(t);                                     // interrupted, restarted, completes
    yield* sys.lwpWait(0);
  }, { handled: 0 }, { ncpu: 3 });
  assertIdle(r);
  assert.equal(out.sleep, 'EINTR');
  assert.equal(out.got, 3);
  assert.equal(out.handled, 2);
  assert.ok(r.ticks < 1000);
});

test('a handler can make system calls, and runs with its signal blocked', () => {
  const { r, out } = runMain(function* (sys, o: { inner?: number[]; self?: number }) {
    yield* sys.sigaction(SIGUSR1, function* (s: Sys) {
      o.inner = yield* s.sigprocmask('block', null);
      o.self = yield* s.lwpSelf();
    }, { mask: [SIGUSR2] });
    yield* sys.kill(yield* sys.getpid(), SIGUSR1);
  }, {});
  assertIdle(r);
  assert.deepEqual(out.inner, [SIGUSR1, SIGUSR2]);
  assert.equal(out.self, 1);
});

test('a handler that throws kills its process like a fault', () => {
  const { r, m, pid } = runMain(function* (sys) {
    yield* sys.sigaction(SIGUSR1, function* () { throw new Error('in handler'); });
    yield* sys.kill(yield* sys.getpid(), SIGUSR1);
  }, {});
  assertIdle(r);
  assert.match(m.proc(pid)!.fault!, /threw Error: in handler/);
  assert.equal(m.proc(pid)!.signal, 11);
});

test('SIGSTOP stops every LWP (running ones at the boundary, interruptible sleepers in place); the parent sees it; SIGCONT continues them', () => {
  const m = machine({ ncpu: 3 });
  const seen: { stopped?: unknown; states?: string[]; final?: unknown; chld: number } = { chld: 0 };
  let child = 0;
  m.spawn(function* (sys: Sys) {
    yield* sys.sigaction(SIGCHLD, function* () { seen.chld++; }, { restart: true }); // else it interrupts waitpid
    child = yield* sys.spawn(function* (s: Sys) {
      yield* s.lwpCreate(function* (t: Sys) { yield* t.compute(400); });   // running: stops at the boundary
      yield* s.lwpCreate(function* (t: Sys) { yield* t.sleep(50); });     // asleep: stops in place
      yield* s.compute(300);
      yield* s.lwpWait(0);
      yield* s.lwpWait(0);
    });
    yield* sys.compute(30);
    yield* sys.kill(child, SIGSTOP);
    seen.stopped = yield* sys.waitpid(child, { untraced: true });
    seen.states = [1, 2, 3].map((lid) => stat(child, lid));
    yield* sys.compute(200);                                               // stays stopped meanwhile
    yield* sys.kill(child, SIGCONT);
    seen.final = yield* sys.waitpid(child);
  });
  assertIdle(m.run());
  assert.deepEqual(seen.stopped, { pid: child, status: 0, signal: SIGSTOP, stopped: true, core: false });
  assert.deepEqual(seen.states, ['STOP', 'STOP', 'STOP']);
  assert.deepEqual(seen.final, { pid: child, status: 0, signal: 0, stopped: false, core: false });
  assert.ok(seen.chld >= 1, 'the parent got SIGCHLD');
});

test('lwp_unstop\'s three cases: runnable if not asleep; back to LSSLEEP on SIGCONT; woken to take SIGKILL', () => {
  const m = machine({ ncpu: 3 });
  let pid = 0;
  const after: string[] = [];
  m.spawn(function* (sys: Sys) {
    pid = yield* sys.spawn(function* (s: Sys) {
      yield* s.lwpCreate(function* (t: Sys) { yield* t.sleep(300); });
      yield* s.compute(1000);
    });
    yield* sys.compute(20);
    yield* sys.kill(pid, SIGSTOP);
    yield* sys.waitpid(pid, { untraced: true });
    yield* sys.kill(pid, SIGCONT);
    after.push(stat(pid, 1), stat(pid, 2)); // 1 not asleep -> runnable/running; 2 asleep -> back to SLEEP
    yield* sys.kill(pid, SIGSTOP);
    yield* sys.waitpid(pid, { untraced: true });
    yield* sys.kill(pid, SIGKILL);          // stopped + SIGKILL: the sleeper is woken to take it
    yield* sys.waitpid(pid);
  });
  assertIdle(m.run());
  assert.ok(['RUN', 'ONPROC'].includes(after[0]!), after[0]);
  assert.equal(after[1], 'SLEEP');
  assert.equal(m.proc(pid)!.signal, SIGKILL);
  assert.ok(m.now < 300, 'SIGKILL did not wait for the sleep to end');
});

test('SIGCONT that arrives before the last LWP has stopped cancels the stop (many schedules)', () => {
  let cancelled = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const m = machine({ ncpu: 3, seed });
    let pid = 0;
    let stoppedSeen = false;
    m.on((e) => { if (e.type === 'proc' && e.what === 'stop' && e.pid === pid) stoppedSeen = true; });
    m.spawn(function* (sys: Sys) {
      // More LWPs than CPUs: queued ones stop only when they next get a CPU.
      pid = yield* sys.spawn(function* (s: Sys) {
        for (let i = 0; i < 4; i++) yield* s.lwpCreate(function* (t: Sys) { yield* t.compute(200); });
        yield* s.compute(200);
        for (let i = 0; i < 4; i++) yield* s.lwpWait(0);
      });
      yield* sys.compute(10);
      yield* sys.kill(pid, SIGSTOP);
      yield* sys.kill(pid, SIGCONT);
      yield* sys.waitpid(pid);
    });
    assertIdle(m.run());
    assert.equal(m.proc(pid)!.exitStatus, 0, `seed ${seed}`);
    if (!stoppedSeen) cancelled++;
  }
  assert.ok(cancelled > 0, 'some schedule delivered SIGCONT before the process had fully stopped');
});

test('a suspend that kicks an interruptible sleeper which goes back to sleep takes effect when it gets back to the boundary', () => {
  const m = machine({ ncpu: 2 });
  let back = 0;
  let pid = 0;
  pid = m.spawn(function* (sys: Sys) {
    // LWP 2 sleeps in _lwp_wait: the suspend wakes it, lwp_wait1 goes back to sleep (no
    // boundary there), and the suspension is taken when the call returns.
    const t = yield* sys.lwpCreate(function* (s: Sys) {
      const u = yield* s.lwpCreate(function* (x: Sys) { yield* x.compute(150); });
      yield* s.lwpWait(u);
    });
    yield* sys.compute(20);
    yield* sys.lwpSuspend(t);
    back = m.now;
    yield* sys.lwpContinue(t);
    yield* sys.lwpWait(t);
  });
  assertIdle(m.run());
  assert.ok(back >= 150, `suspend returned at ${back}, before the target left the kernel`);
  assert.equal(m.proc(pid)!.exitStatus, 0);
});

test('exit racing lwpWait: the waiter is interrupted and everyone is collected (many schedules)', () => {
  let raced = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const m = machine({ ncpu: 3, seed });
    let waitingAtExit = false;
    m.on((e) => {
      if (e.type === 'proc' && e.what === 'exit' && e.pid === pid) waitingAtExit = m.kernel.procs.get(pid)!.lidMap.get(3)?.inWait === true;
    });
    const pid = m.spawn(function* (sys: Sys) {
      const a = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(6); }); // outlives the exiter on some schedules
      yield* sys.lwpCreate(function* (s: Sys) { yield* s.lwpWait(a); });
      yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(3); yield* s.exit(4); });
      yield* sys.lwpWait(0);
    });
    assertIdle(m.run());
    assert.equal(m.proc(pid)!.exitStatus, 4, `seed ${seed}`);
    assert.equal(m.proc(pid)!.nlwps, 1);
    if (waitingAtExit) raced++;
  }
  assert.ok(raced > 0, 'no schedule had the waiter inside _lwp_wait when the exit began');
});

test('a core dump stops every other LWP (NO_EXIT), snapshots them, and the parent sees core: true', () => {
  const m = machine({ ncpu: 3 });
  let st: unknown;
  let child = 0;
  m.spawn(function* (sys: Sys) {
    child = yield* sys.spawn(function* (s: Sys) {
      yield* s.lwpCreate(function* (t: Sys) { yield* t.compute(10_000); }, undefined, { name: 'spinner' });
      yield* s.lwpCreate(function* (t: Sys) { yield* t.sleep(10_000); }, undefined, { name: 'sleeper' });
      yield* s.compute(20);
      yield* s.kill(yield* s.getpid(), SIGQUIT);
      yield* s.compute(10_000);
    });
    st = yield* sys.waitpid(child);
  });
  const r = m.run();
  assertIdle(r);
  assert.deepEqual(st, { pid: child, status: 0, signal: SIGQUIT, stopped: false, core: true });
  const core = m.kernel.cores.find((c) => c.pid === child)!;
  assert.equal(core.signal, SIGQUIT);
  // Whichever LWP took SIGQUIT dumped core, on CPU; every other one was parked at the boundary.
  assert.equal(core.lwps.length, 3);
  assert.deepEqual(core.lwps.filter((l) => l.dumper).map((l) => l.stat), ['ONPROC']);
  assert.ok(core.lwps.filter((l) => !l.dumper).every((l) => l.stat === 'SUSPENDED'), JSON.stringify(core.lwps));
  assert.ok(r.ticks < 10_000, 'the others were brought to the boundary, not waited out');
});

test('a core dump while another LWP is in lwp_wait1: it bails out, parks for the dump, then exits', () => {
  const m = machine({ ncpu: 2 });
  let child = 0;
  let st: { core?: boolean } = {};
  m.spawn(function* (sys: Sys) {
    child = yield* sys.spawn(function* (s: Sys) {
      const t = yield* s.lwpCreate(function* (x: Sys) { yield* x.compute(40); throw new Error('crash'); });
      yield* s.lwpWait(t);
    });
    st = yield* sys.waitpid(child);
  });
  assertIdle(m.run());
  assert.equal(st.core, true);
  const core = m.kernel.cores.find((c) => c.pid === child)!;
  assert.deepEqual(core.lwps.map((l) => [l.lid, l.stat]), [[1, 'SUSPENDED'], [2, 'ONPROC']]);
});

test('exec from a threaded process: the others park, then exit; handlers reset; the new image runs in the same process', () => {
  const m = machine({ ncpu: 3 });
  const log: string[] = [];
  const pid = m.spawn(function* (sys: Sys) {
    yield* sys.sigaction(SIGUSR1, function* () { log.push('old handler'); });
    yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(10_000); });
    yield* sys.lwpCreate(function* (s: Sys) { yield* s.sleep(10_000); });
    yield* sys.compute(10);
    try {
      yield* sys.exec(function* newImage(s: Sys, arg: string) {
        log.push(`new image ${arg} pid ${yield* s.getpid()} lid ${yield* s.lwpSelf()}`);
        const old = yield* s.sigaction(SIGUSR1);
        log.push(`SIGUSR1 ${typeof old.handler === 'function' ? 'caught' : old.handler}`);
        yield* s.exit(3);
      }, 'hello');
    } finally {
      log.push('old image cleanup ran'); // must not: an exec'd-over image runs no cleanup
    }
  });
  const r = m.run();
  assertIdle(r);
  assert.deepEqual(log, [`new image hello pid ${pid} lid 1`, 'SIGUSR1 default']);
  assert.equal(m.proc(pid)!.exitStatus, 3);
  assert.equal(m.proc(pid)!.name, 'newImage');
  assert.ok(r.ticks < 10_000);
});

test('two LWPs exec at once: one wins, the other backs off and exits with the rest', () => {
  let together = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const m = machine({ ncpu: 2, seed });
    const ran: string[] = [];
    let inflight = 0;
    let most = 0;
    m.on((e) => {
      if (e.type === 'syscall' && e.name === 'execve') most = Math.max(most, ++inflight);
      if (e.type === 'sysret' && e.name === 'execve') inflight--;
    });
    const image = (name: string) => function* (s: Sys) { ran.push(name); yield* s.exit(0); };
    const pid = m.spawn(function* (sys: Sys) {
      yield* sys.lwpCreate(function* (s: Sys) { yield* s.exec(image('b')); });
      yield* sys.exec(image('a'));
    });
    assertIdle(m.run());
    assert.equal(ran.length, 1, `seed ${seed}: ${ran}`);
    assert.equal(m.proc(pid)!.exitStatus, 0);
    if (most >= 2) together++;
  }
  assert.ok(together > 0, 'no schedule had both exec calls under way at once');
});

test('a dead LWP\'s stack is freed by the next thread on its CPU, never while it is still on one', () => {
  const m = machine({ ncpu: 2 });
  const stacks: { frames: unknown[] }[] = [];
  m.on((e) => {
    if (e.type === 'create') {
      const l = m.kernel.procs.get(e.newPid)?.lidMap.get(e.newLid);
      if (l) stacks.push(l.td);
    }
  });
  m.spawn(function* (sys: Sys) {
    for (let i = 0; i < 5; i++) yield* sys.lwpWait(yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(3); }));
  });
  assertIdle(m.run());
  assert.equal(stacks.length, 6);
  assert.ok(stacks.every((td) => td.frames.length === 0), 'every dead LWP\'s stack was reaped');
  assert.ok(m.kernel.cpus.every((ci) => ci.zombieTd === null));
});

test('a suspend that arrives while the target sleeps uninterruptibly does not wake it; the target exits first: ESRCH', () => {
  const m = machine({ ncpu: 4 });
  let res = '';
  let suspendAt = 0;
  const pid = m.spawn(function* (sys: Sys) {
    const t = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(10); }); // exits, then drains refs asleep
    yield* sys.compute(40);
    suspendAt = m.now;
    res = yield* errnoOf(sys.lwpSuspend(t));
    yield* sys.lwpWait(t);
  });
  // A kernel thread holds a reference on LWP 2 until tick ~200: its exit sleeps in lwp_drainrefs, uninterruptibly.
  kthread(m, function* (l) {
    const p = m.kernel.procs.get(pid)!;
    while (p.lidMap.get(2) === undefined) yield* ksleep(l, 1);
    const t = p.lidMap.get(2)!;
    yield* mutexEnter(m.kernel, p.lock);
    lwpAddref(t);
    mutexExit(m.kernel, p.lock);
    yield* ksleep(l, 200);
    yield* lwpDelref(t);
  });
  assertIdle(m.run());
  assert.ok(suspendAt < 200);
  assert.equal(res, 'ESRCH', 'the target was not woken; it finished exiting and the suspend found it gone');
});

test('_lwp_suspend by an LWP that has been told to exit is EDEADLK', () => {
  const m = machine({ ncpu: 2 });
  const errs: number[] = [];
  m.on((e) => { if (e.type === 'sysret' && e.name === '_lwp_suspend') errs.push(e.errno); });
  const pid = m.spawn(function* (sys: Sys) {
    const t = yield* sys.lwpCreate(function* (s: Sys) { yield* s.sleep(500); });
    yield* sys.compute(50);           // meanwhile a kernel thread sets LW_WEXIT on us (no AST)
    yield* sys.lwpSuspend(t);         // EDEADLK, then we exit at the boundary
  });
  kthread(m, function* (l) {
    yield* ksleep(l, 20);
    const main = m.kernel.procs.get(pid)!.lidMap.get(1)!;
    main.flag |= LW_WEXIT;
  });
  m.run();
  assert.deepEqual(errs, [11]);
});

test("lwp_exit hands a pending process signal it was asked to take to its siblings", () => {
  const m = machine({ ncpu: 3 });
  let takenBy = 0;
  const pid = m.spawn(function* (sys: Sys) {
    yield* sys.sigaction(SIGUSR1, function* (s: Sys) { takenBy = yield* s.lwpSelf(); });
    yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(50); yield* s.lwpExit(); });
    for (let i = 0; i < 20; i++) { yield* sys.compute(10); yield* sys.getpid(); }
  });
  // A process-wide SIGUSR1 is pending and LWP 2 was told to take it (LW_PENDSIG, no AST);
  // it calls _lwp_exit before passing a boundary.
  kthread(m, function* (l) {
    yield* ksleep(l, 20);
    const p = m.kernel.procs.get(pid)!;
    yield* mutexEnter(m.kernel, p.lock);
    p.sig.pend |= sigbit(SIGUSR1);
    p.lidMap.get(2)!.flag |= LW_PENDSIG;
    mutexExit(m.kernel, p.lock);
  });
  assertIdle(m.run());
  assert.equal(takenBy, 1, 'main took the signal LWP 2 left behind');
});
