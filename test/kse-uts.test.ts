/*
 * The M:N thread library (src/lib/kse.ts) on the KSE system calls: the
 * issue's example, a thread blocking in the kernel while the others go on,
 * and 1,000 user threads on 2-4 KSEs on 1-8 CPUs under several seeds with
 * at most N running at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, SIGCONT, SIGKILL, SIGSTOP, kse, type KEvent, type Sys } from '../src/index.ts';

interface Watch {
  /** Most LWPs of the process ONPROC at one moment. */
  maxOnproc: number;
  /** Most LWPs of the process in user mode at one moment (sampled at every event). */
  upcalls: number;
}

/** The job-control tests' M:N process: 20 user threads (some sleep in the kernel) on 1-3 KSEs. */
function mnWorkload(seed: number) {
  return function* (sys: Sys) {
    const uts = yield* kse.start(sys, { kses: 1 + (seed % 3) });
    const ts = [];
    for (let i = 0; i < 20; i++) {
      ts.push(uts.spawn(function* (s: Sys, a: number) {
        yield* s.compute(1 + (a % 4));
        if (a % 2) yield* s.sleep(1 + (a % 5));
        yield* s.getpid();
      }, i));
    }
    for (const t of ts) yield* uts.join(t);
    yield* uts.stop();
  };
}

let M: Machine;
function runKse(main: (sys: Sys) => Generator<any, unknown, any>, ncpu: number, seed: number, maxTicks = 5_000_000) {
  const m = (M = new Machine({ ncpu, seed }));
  const pid = m.spawn(main, { name: 'mn' });
  const onproc = new Set<number>();
  const w: Watch = { maxOnproc: 0, upcalls: 0 };
  m.on((e: KEvent) => {
    if (e.pid !== pid) return;
    if (e.type === 'kse' && e.what === 'upcall' && e.detail === 'start') w.upcalls++;
    if (e.type !== 'state') return;
    if (e.to === 'ONPROC') onproc.add(e.lid);
    else if (e.from === 'ONPROC') onproc.delete(e.lid);
    w.maxOnproc = Math.max(w.maxOnproc, onproc.size);
  });
  const r = m.run({ maxTicks });
  assert.equal(r.outcome, 'idle', r.panic ? `panic: ${r.panic.message}` : `outcome ${r.outcome}`);
  return { m, pid, w };
}

test("the issue's example: spawn, join (42), stop leaves KSE mode", () => {
  const out: Record<string, unknown> = {};
  const { m, pid } = runKse(function* (sys) {
    const uts = yield* kse.start(sys, { kses: 2 });
    const t = uts.spawn(function* (usys: Sys, arg: number) { yield* usys.sleep(10); return arg * 2; }, 21);
    out.v = yield* uts.join(t);
    yield* uts.stop();
    out.mode = M.kse(1);
    out.pid = yield* uts.sys.getpid();
  }, 2, 1);
  assert.deepEqual(out, { v: 42, mode: null, pid: 1 });
  assert.equal(m.proc(pid)!.exitStatus, 0);
});

test('a user thread blocking in the kernel gives its KSE back: the others run meanwhile', () => {
  const order: string[] = [];
  const { w } = runKse(function* (sys) {
    const uts = yield* kse.start(sys, { kses: 1 });
    const sleeper = uts.spawn(function* (usys: Sys) {
      order.push('sleeper in');
      yield* usys.sleep(50);
      order.push('sleeper out');
    });
    const workers = [1, 2, 3].map((i) => uts.spawn(function* (usys: Sys) {
      yield* usys.compute(5);
      order.push(`worker${i}`);
    }));
    for (const t of [sleeper, ...workers]) yield* uts.join(t);
    yield* uts.stop();
  }, 1, 1);
  // One KSE: without the upcall the sleeper would hold it for 50 ticks.
  assert.deepEqual(order, ['sleeper in', 'worker1', 'worker2', 'worker3', 'sleeper out']);
  assert.ok(w.upcalls >= 2, `upcalls ${w.upcalls}`);
  assert.equal(w.maxOnproc, 1);
});

test('join rethrows what a user thread threw; the others are unaffected', () => {
  const out: Record<string, unknown> = {};
  runKse(function* (sys) {
    const uts = yield* kse.start(sys, { kses: 2 });
    const bad = uts.spawn(function* () { throw new Error('boom'); });
    const good = uts.spawn(function* (usys: Sys) { yield* usys.sleep(3); return 'fine'; });
    try {
      yield* uts.join(bad);
    } catch (e) {
      out.caught = (e as Error).message;
    }
    out.good = yield* uts.join(good);
    yield* uts.stop(); // waits for every thread without rethrowing what they threw
  }, 2, 3);
  assert.deepEqual(out, { caught: 'boom', good: 'fine' });
  assert.equal(M.proc(1)!.exitStatus, 0);
  assert.equal(M.proc(1)!.fault, null);
});

/** 1,000 user threads that compute, some sleep in the kernel, some yield at user level. */
function* thousand(sys: Sys, out: { sum: number; kses: number }): Generator<any, void, any> {
  const uts = yield* kse.start(sys, { kses: out.kses });
  const ts = [];
  for (let i = 0; i < 1000; i++) {
    ts.push(uts.spawn(function* (usys: Sys, a: number) {
      yield* usys.compute(1 + (a % 3));
      if (a % 3 === 0) yield* usys.sleep(1 + (a % 7));
      else if (a % 3 === 1) yield* usys.getpid();
      yield* usys.compute(1);
      return a;
    }, i));
  }
  let sum = 0;
  for (const t of ts) sum += (yield* uts.join(t)) as number;
  out.sum = sum;
  yield* uts.stop();
}

for (const [ncpu, kses, seeds] of [[1, 2, [1, 2]], [2, 2, [3]], [2, 4, [4]], [4, 3, [5, 6]], [8, 4, [7, 8]]] as const) {
  test(`1,000 user threads on ${kses} KSEs, ${ncpu} CPU(s), seeds ${seeds.join(',')}: all complete, at most ${Math.min(kses, ncpu)} run at once`, () => {
    for (const seed of seeds) {
      const out = { sum: 0, kses };
      const { m, pid, w } = runKse(function* (sys) { yield* thousand(sys, out); }, ncpu, seed);
      assert.equal(out.sum, 999 * 1000 / 2, `seed ${seed}`);
      assert.ok(w.maxOnproc <= kses, `seed ${seed}: ${w.maxOnproc} kernel threads on CPUs with ${kses} KSEs`);
      assert.ok(w.maxOnproc <= ncpu);
      if (ncpu >= kses) assert.equal(w.maxOnproc, kses, `seed ${seed}: the KSEs ran in parallel`);
      assert.equal(m.kse(pid), null, 'stop left KSE mode');
      assert.equal(m.proc(pid)!.exitStatus, 0);
    }
  });
}

test('a user thread calling exit ends the process while the others run: no panic, its status', () => {
  // Found by the fuzzer: two exiting threads both marked their KSE KEF_EXIT
  // during SINGLE_EXIT and the second unlinked the group's last KSE while
  // the single-threader still belonged to it; and the single-threader's
  // own sleep made an upcall nobody could take.
  for (const [ncpu, seed] of [[3, 1], [1, 2], [4, 5]] as const) {
    const { m, pid } = runKse(function* (sys) {
      const uts = yield* kse.start(sys, { kses: 2 });
      const ts = [
        uts.spawn(function* (s: Sys) { yield* s.compute(3); yield* s.compute(2); }),
        uts.spawn(function* (s: Sys) { yield* s.exit(7); }),
        uts.spawn(function* (s: Sys) { yield* s.sleep(20); }),
      ];
      for (const th of ts) yield* uts.join(th);
      yield* uts.stop();
    }, ncpu, seed);
    assert.equal(m.proc(pid)!.exitStatus, 7);
  }
});

test('job control and SIGKILL on an M:N process: it stops, continues or dies, never hangs or panics', () => {
  // Found by a soak: a bound thread that blocked kept its KSE through the
  // exit, starving the threads that waited for one (deadlock); a standin
  // or lender given its KSE back ran user code in a stopped process.
  let killed = 0;
  for (let seed = 1; seed <= 100; seed++) {
    for (const ncpu of [1, 2, 4]) {
      const kill = seed % 4 === 0;
      const m = new Machine({ ncpu, seed });
      const pid = m.spawn(mnWorkload(seed), { name: 'mn' });
      m.spawn(function* (sys: Sys) {
        yield* sys.sleep(seed % 13);
        yield* sys.kill(pid, SIGSTOP);
        yield* sys.sleep(1 + (seed % 7));
        yield* sys.kill(pid, kill ? SIGKILL : SIGCONT);
      }, { name: 'ctl' });
      const r = m.run({ maxTicks: 200_000 });
      assert.equal(r.outcome, 'idle', `seed ${seed} ncpu ${ncpu}: ${r.panic ? r.panic.message : r.outcome}`);
      const p = m.proc(pid)!;
      if (kill && p.signal === SIGKILL) killed++;
      else assert.equal(p.exitStatus, 0, `seed ${seed} ncpu ${ncpu}`);
    }
  }
  assert.ok(killed > 0, 'some runs were killed mid-way');
});

test('SIGSTOP completes while a thread waits for a KSE: a stopped bound thread lends its KSE', () => {
  // Runs where, before, the stop never completed: a thread waited on
  // kg_runq for a KSE that a stopped bound thread kept.  In the last three
  // the waiter came after the holder had stopped: a sleeper woke, its
  // standin having started stopped with the KSE (lendStoppedKse).
  for (const [seed, ncpu] of [[6, 2], [13, 1], [11, 2], [45, 4], [39, 1], [88, 4], [101, 4], [127, 4]] as const) {
    const m = new Machine({ ncpu, seed });
    let stoppedAt = -1;
    let contAt = -1;
    const pid = m.spawn(mnWorkload(seed), { name: 'mn' });
    m.on((e) => { if (e.type === 'proc' && e.what === 'stop' && e.pid === pid && stoppedAt < 0) stoppedAt = e.t; });
    m.spawn(function* (sys: Sys) {
      yield* sys.sleep(seed % 13);
      yield* sys.kill(pid, SIGSTOP);
      yield* sys.sleep(30);
      contAt = m.now;
      yield* sys.kill(pid, SIGCONT);
    }, { name: 'ctl' });
    const r = m.run({ maxTicks: 200_000 });
    assert.equal(r.outcome, 'idle', `seed ${seed}: ${r.panic?.message ?? r.outcome}`);
    assert.ok(stoppedAt >= 0 && stoppedAt < contAt, `seed ${seed} ncpu ${ncpu}: the stop did not complete before SIGCONT`);
    assert.equal(m.proc(pid)!.exitStatus, 0);
  }
});
