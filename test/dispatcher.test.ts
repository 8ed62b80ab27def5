/*
 * The dispatcher (issue 3): LWKT run queues, critical sections, IPIs,
 * preemption, yields, priorities, wait queues, tokens, kernel threads, and
 * NetBSD placement, stealing, migration and the scheduler system calls.
 * Each test breaks if its rule is broken.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, PRI_NONE, SCHED_FIFO, SCHED_OTHER, SCHED_RR, type Sys } from '../src/index.ts';
import { burn, runDetached, type Gen } from '../src/engine/coroutine.ts';
import type { Lwp } from '../src/kern/h/lwp.ts';
import { LwktRunQueue, priLevel } from '../src/kern/runq.ts';
import {
  critEnter, critExit, lwktBlock, lwktCreate, lwktDescheduleSelf, lwktExit, lwktGettoken, lwktIntrCreate,
  lwktInterrupt, lwktPreempt, lwktPreemptedProc, lwktReltoken, lwktSchedule, lwktSetpri, lwktSignal,
  lwktSwitch, lwktTokenPoolGet, lwktYield, lwktYieldQuick,
} from '../src/kern/lwkt.ts';
import { LwktToken, LwktWait } from '../src/kern/h/lwkt.ts';
import { kthreadCreate } from '../src/kern/proc.ts';
import { lwpMigrate } from '../src/kern/lwp.ts';
import { lwpLock } from '../src/kern/mutex.ts';
import { CACHE_NTHREADS, LSIDL, LSRUN, LSSUSPENDED, PRI_INTR, PRI_KTHREAD } from '../src/kern/param.ts';
import { assertIdle, errnoOf, runMain } from './helpers.ts';
import { fakeLwp, lwpOf } from './inspect.ts';

/** A machine with kernel threads made from the host: body(l) per [cpu, name, body, pri]. */
function kthreads(ncpu: number, specs: [number, string, (l: Lwp) => Gen<unknown>, number?, 'stopped'?][], opts = {}): { m: Machine; ls: Lwp[] } {
  const m = new Machine({ ncpu, ...opts });
  const k = m.kernel;
  const ls = specs.map(([cpu, name, body, pri, stopped]) => stopped === undefined
    ? runDetached(kthreadCreate(k.cpus[cpu]!.idlelwp, name, body, pri ?? PRI_KTHREAD))
    : runDetached(lwktCreate(k.cpus[cpu]!.idlelwp, name, body, { pri: pri ?? PRI_KTHREAD, stopped: true })));
  return { m, ls };
}

/* ---------- run queues ---------- */

function queuedLwp(priority: number, lid: number): Lwp {
  return fakeLwp({ priority, lid, proc: { pid: 9 }, rq: null, rqNext: null, rqPrev: null, rqLevel: 0 });
}

test('run queue: 32 levels, the bitmask tracks the non-empty ones, the best level first, FIFO inside a level', () => {
  const q = new LwktRunQueue();
  const a = queuedLwp(63, 1), b = queuedLwp(60, 2), c = queuedLwp(130, 3), d = queuedLwp(255, 4);
  for (const l of [a, b, c, d]) q.enqueue(l);
  assert.equal(q.mask, (1 << 7) | (1 << 16) | (1 << 31));
  assert.equal(q.maxLevel(), 31);
  assert.deepEqual(q.items().map((l) => l.lid), [4, 3, 1, 2], 'level 31, 16, then 7 in arrival order (63 and 60 share level 7)');
  q.dequeue(d);
  q.dequeue(c);
  assert.equal(q.mask, 1 << 7);
  assert.equal(q.best(), a);
  q.dequeue(a);
  q.enqueue(a); // round-robin: back to the tail of its level
  assert.equal(q.best(), b);
  assert.equal(q.verify(), null);
  q.mask |= 1 << 3; // a corrupted mask is caught
  assert.match(q.verify()!, /level 3 is empty but its mask bit is 1/);
  assert.deepEqual([priLevel(0), priLevel(63), priLevel(64), priLevel(128), priLevel(223), priLevel(224), priLevel(255), priLevel(-1)], [0, 7, 8, 16, 27, 28, 31, -1]);
});

test('round-robin inside a level: three equal LWPs on one CPU take turns at each yield', () => {
  const order: number[] = [];
  const { r } = runMain(function* (sys) {
    const body = function* (s: Sys, id: number) { for (let i = 0; i < 3; i++) { order.push(id); yield* s.schedYield(); } };
    yield* sys.lwpCreate(body, 1);
    yield* sys.lwpCreate(body, 2);
    yield* sys.lwpWait(0);
    yield* sys.lwpWait(0);
  }, {}, { ncpu: 1 });
  assertIdle(r);
  assert.deepEqual(order, [1, 2, 1, 2, 1, 2]);
});

/* ---------- critical sections and IPIs ---------- */

test('crit sections nest; a count going negative and a switch inside one are crit_panic', () => {
  const { m } = kthreads(1, [[0, 'neg', function* (l) { critEnter(l); yield* critExit(l); yield* critExit(l); }]]);
  const r = m.run();
  assert.equal(r.outcome, 'panic');
  assert.match(r.panic!.message, /crit_panic: .* crit count would go negative/);
  const { m: m2 } = kthreads(1, [[0, 'sw', function* (l) { critEnter(l); critEnter(l); yield* critExit(l); yield* lwktYield(l); }]]);
  const r2 = m2.run();
  assert.equal(r2.outcome, 'panic');
  assert.match(r2.panic!.message, /crit_panic: .* switching out inside a critical section \(crit count 1\)/);
});

test('an IPI aimed at a CPU inside a critical section waits until the outermost critExit', () => {
  let target: Lwp | null = null;
  let ranAt = -1, innerExit = -1, outerExit = -1;
  let idlAfterInner = false;
  const { m, ls } = kthreads(2, [
    [0, 'target', function* () { ranAt = target!.k.now; }, PRI_KTHREAD, 'stopped'],
    [0, 'crit', function* (l) {
      critEnter(l); critEnter(l);
      yield burn(30);
      yield* critExit(l);
      innerExit = l.k.now;
      yield burn(30);
      idlAfterInner = target!.stat === LSIDL;
      outerExit = l.k.now;
      yield* critExit(l);
      yield burn(5);
    }],
    [1, 'sender', function* (l) { yield burn(5); yield* lwktSchedule(l, target!); }],
  ]);
  target = ls[0]!; // descheduled (IDL), bound to cpu0
  assertIdle(m.run());
  assert.ok(innerExit > 5 + 2, 'the IPI landed while the inner section was still open');
  assert.ok(idlAfterInner, 'the inner critExit did not run the deferred IPI');
  assert.ok(ranAt >= outerExit, `the scheduled thread ran at ${ranAt}, before the outermost critExit at ${outerExit}`);
  void ls;
});

/* ---------- preemption ---------- */

test('lwkt_preempt: equal level is a miss and does not switch; higher is a hit, and the preempted thread resumes the moment the preemptor blocks', () => {
  const log: string[] = [];
  let hi: Lwp | null = null, eq: Lwp | null = null, peer: Lwp | null = null;
  const { m, ls } = kthreads(1, [
    [0, 'main', function* (l) {
      yield* lwktPreempt(l, eq!);
      log.push(`after-eq ${l.k.lwkt.preemptMiss}`);
      yield* lwktPreempt(l, l);
      log.push(`after-self ${l.k.lwkt.preemptWeird}`);
      yield* lwktPreempt(l, hi!);
      log.push('main resumed');
    }],
    [0, 'eq', function* () { log.push('eq'); }],
    [0, 'peer', function* () { log.push('peer'); }],
    [0, 'hi', function* (l) {
      log.push(`hi preempting ${lwktPreemptedProc(l).pid}`);
      yield* lwktDescheduleSelf(l);
      yield* lwktSwitch(l); // blocks: main, not the queued peer, runs next
    }, PRI_INTR, 'stopped'],
  ]);
  [eq, peer, hi] = [ls[1]!, ls[2]!, ls[3]!]; // hi starts descheduled: the preemption schedules it
  const r = m.run();
  assertIdle(r);
  assert.deepEqual(log, ['after-eq 1', 'after-self 1', 'hi preempting 0', 'main resumed', 'eq', 'peer']);
  assert.equal(m.sysctl('lwkt.preempt_hit'), 1);
  assert.equal(m.sysctl('lwkt.preempt_miss'), 1);
  assert.equal(m.sysctl('lwkt.preempt_weird'), 1);
  assert.ok(m.sysctl('lwkt.switch_count') > 0);
  void peer;
});

test('an interrupt-priority thread preempts a user LWP at its next AST; inside a critical section only at critExit', () => {
  const m = new Machine({ ncpu: 1 });
  const k = m.kernel;
  const seen: number[] = [];
  const it = runDetached(lwktIntrCreate(k.cpus[0]!.idlelwp, k.cpus[0]!, 'ithread', PRI_INTR, function* (l) { seen.push(l.k.now); }));
  m.spawn(function* (sys: Sys) { yield* sys.compute(100); });
  lwktInterrupt(it, 20);
  assertIdle(m.run());
  assert.deepEqual(seen, [20], 'the user LWP was cut short at tick 20');
  assert.equal(m.sysctl('lwkt.preempt_hit'), 1);
});

test('kernel preemption at choice points is a machine option, off by default, and never inside a critical section', () => {
  for (const kpreempt of [false, true]) {
    const ran: number[] = [];
    let critDone = -1;
    const m = new Machine({ ncpu: 1, kpreempt });
    const k = m.kernel;
    const it = runDetached(lwktIntrCreate(k.cpus[0]!.idlelwp, k.cpus[0]!, 'ithread', PRI_INTR, function* (l) { ran.push(l.k.now); }));
    runDetached(kthreadCreate(k.cpus[0]!.idlelwp, 'kwork', function* (l) {
      critEnter(l);
      yield burn(40);
      critDone = l.k.now;
      yield* critExit(l);
      const tok = lwktTokenPoolGet(l.k, l);
      for (let i = 0; i < 10; i++) { yield burn(10); yield* lwktGettoken(l, tok); lwktReltoken(l, tok); }
    }));
    lwktInterrupt(it, 5);  // inside the critical section: taken at its exit, option or not
    lwktInterrupt(it, 55); // in plain kernel code: at the next choice point only with the option
    assertIdle(m.run());
    assert.equal(ran[0], critDone);
    assert.equal(ran[1], kpreempt ? 60 : 140);
  }
});

/* ---------- yields, priorities, untimely_switch ---------- */

test('lwkt_yield_quick switches only to a higher level; lwkt_yield to an equal one too; untimely_switch makes a wakeup switch at once', () => {
  const log: string[] = [];
  let other: Lwp | null = null;
  const { m, ls } = kthreads(1, [
    [0, 'a', function* (l) {
      yield* lwktYieldQuick(l); log.push('a still');
      yield* lwktYield(l); log.push('a back');
    }],
    [0, 'b', function* () { log.push('b'); }],
  ]);
  other = ls[1]!;
  assertIdle(m.run());
  assert.deepEqual(log, ['a still', 'b', 'a back']);
  void other;

  const log2: string[] = [];
  let sleeper: Lwp | null = null;
  const w = new LwktWait('w');
  const { m: m2, ls: ls2 } = kthreads(1, [
    [0, 'sleeper', function* (l) { yield* lwktBlock(l, w, 'w', 0); log2.push('woken'); }],
    [0, 'waker', function* (l) { yield* lwktSignal(l, w); log2.push('waker goes on'); }],
  ]);
  sleeper = ls2[0]!;
  m2.sysctl('lwkt.untimely_switch', 1);
  assert.throws(() => m2.sysctl('lwkt.untimely_switch', 2), /EINVAL/);
  assertIdle(m2.run());
  assert.deepEqual(log2, ['woken', 'waker goes on'], 'with untimely_switch the woken thread ran first');
  void sleeper;
});

test('lwkt_setpri requeues a queued thread at its new level without switching to it', () => {
  const log: string[] = [];
  let low: Lwp | null = null;
  const { m, ls } = kthreads(1, [
    [0, 'setter', function* (l) {
      yield* lwktSetpri(low!, 30);
      log.push(`setter goes on, low at level ${low!.priority >> 3} ${low!.stat === LSRUN ? 'queued' : '?'}`);
      yield burn(3);
      yield* lwktYieldQuick(l);
      log.push('setter back');
    }],
    [0, 'peer', function* () { log.push('peer'); }],
    [0, 'low', function* () { log.push('low'); }],
  ]);
  low = ls[2]!;
  assertIdle(m.run());
  // The yield puts the setter at the tail of its level, behind peer.
  assert.deepEqual(log, ['setter goes on, low at level 30 queued', 'low', 'peer', 'setter back']);
});

/* ---------- wait queues ---------- */

test('lwkt_block/lwkt_signal: a signal between reading the generation and blocking is not lost', () => {
  const w = new LwktWait('gen');
  const log: string[] = [];
  const { m } = kthreads(2, [
    [0, 'waiter', function* (l) {
      const gen = w.gen;
      yield burn(20); // the signal comes now
      const g2 = yield* lwktBlock(l, w, 'gen', gen);
      log.push(`did not block, gen ${g2}`);
      yield* lwktBlock(l, w, 'gen', g2);
      log.push('woken by the second signal');
    }],
    [1, 'signaller', function* (l) { yield burn(5); yield* lwktSignal(l, w); yield burn(50); yield* lwktSignal(l, w); }],
  ]);
  assertIdle(m.run());
  assert.deepEqual(log, ['did not block, gen 1', 'woken by the second signal']);
});

/* ---------- tokens ---------- */

test('tokens: a holder that blocks lets another thread take the token; a running thread never shares an exclusive token', () => {
  const tok = new LwktToken('t');
  const w = new LwktWait('hold');
  const log: string[] = [];
  const { m } = kthreads(2, [
    [0, 'holder', function* (l) {
      yield* lwktGettoken(l, tok);
      log.push('holder has it');
      yield* lwktBlock(l, w, 'hold', w.gen); // tokens go while blocked
      log.push(`holder back, owner ${tok.owner === l}`);
      lwktReltoken(l, tok);
    }],
    [1, 'taker', function* (l) {
      yield burn(10);
      yield* lwktGettoken(l, tok);
      log.push('taker has it');
      yield burn(20);
      yield* lwktSignal(l, w); // wake the holder: it cannot run on cpu0 until we let go
      yield burn(20);
      log.push('taker lets go');
      lwktReltoken(l, tok);
    }],
  ]);
  assertIdle(m.run());
  assert.deepEqual(log, ['holder has it', 'taker has it', 'taker lets go', 'holder back, owner true']);
});

test('tokens: shared holders run together, an exclusive one waits for them; the checker catches a stolen token', () => {
  const tok = new LwktToken('s');
  const spans: Record<string, [number, number]> = {};
  const body = (name: string, shared: boolean, delay: number) => function* (l: Lwp): Gen<void> {
    yield burn(delay);
    yield* lwktGettoken(l, tok, shared);
    const t0 = l.k.now;
    yield burn(20);
    spans[name] = [t0, l.k.now];
    lwktReltoken(l, tok);
  };
  const { m } = kthreads(3, [[0, 'r1', body('r1', true, 0)], [1, 'r2', body('r2', true, 1)], [2, 'x', body('x', false, 2)]]);
  assertIdle(m.run());
  assert.ok(spans.r2![0] < spans.r1![1], 'two shared holders overlapped');
  assert.ok(spans.x![0] >= Math.max(spans.r1![1], spans.r2![1]), 'the exclusive holder waited for both');

  const t2 = new LwktToken('v');
  const { m: m2, ls } = kthreads(2, [
    [0, 'a', function* (l) { yield* lwktGettoken(l, t2); yield burn(200); lwktReltoken(l, t2); }],
    [1, 'b', function* () { for (let i = 0; i < 20; i++) yield burn(10); }],
  ]);
  m2.run({ maxTicks: 10 });
  const b = ls[1]!;
  (b.toks ??= []).push({ tok: t2, shared: false }); // b claims a token a owns
  const r = m2.run();
  assert.equal(r.outcome, 'panic');
  assert.match(r.panic!.message, /runs on cpu1 without its token v \(held by lwp 0\.\d+ on cpu0\)/);
});

/* ---------- kernel threads ---------- */

test('kernel threads: lwkt_exit caches the structure per CPU (at most CACHE_NTHREADS) and lwkt_create reuses it first', () => {
  const made: Lwp[] = [];
  const { m, ls } = kthreads(1, [[0, 'parent', function* (l) {
    for (let i = 0; i < CACHE_NTHREADS + 2; i++) made.push(yield* lwktCreate(l, `c${i}`, function* () { yield burn(1); }));
    while (l.cpu.tdfreeq.length < CACHE_NTHREADS || [...l.proc.eachLwp()].some((x) => x.name?.startsWith('c'))) yield* lwktYield(l); // they all exit
    assert.equal(l.cpu.tdfreeq.length, CACHE_NTHREADS);
    const again = yield* lwktCreate(l, 'again', function* (x) { yield burn(1); void x; });
    made.push(again);
  }]]);
  assertIdle(m.run());
  const again = made[made.length - 1]!;
  assert.ok(made.slice(0, CACHE_NTHREADS).includes(again), 'the new thread is a cached structure');
  assert.equal(again.name, 'again');
  assert.ok(!m.ps().some((r) => r.name.startsWith('c')), 'exited threads left proc0');
  void ls; void lwktExit;
});

/* ---------- placement, stealing, migration ---------- */

test('sched_takecpu: the least loaded CPU the affinity allows, the parent\'s CPU on a tie; lwpCreate inherits the mask', () => {
  const { r, m, out } = runMain(function* (sys, o: { cpus: number[]; aff: number[] }) {
    yield* sys.schedSetaffinity(0, [2, 3]);
    for (let i = 0; i < 3; i++) yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(50); });
    const l = lwpOf(sys);
    o.cpus = [...l.proc.eachLwp()].filter((x) => x !== l).map((x) => x.cpu.index).sort();
    o.aff = yield* sys.schedGetaffinity(2);
    for (let i = 0; i < 3; i++) yield* sys.lwpWait(0);
  }, { cpus: [] as number[], aff: [] as number[] }, { ncpu: 4 });
  assertIdle(r);
  assert.deepEqual(out.aff, [2, 3]);
  assert.ok(out.cpus.every((c) => c === 2 || c === 3), `placed on ${out.cpus}`);
  void m;
});

test('an idle CPU steals a queued LWP from a busy one', () => {
  const m = new Machine({ ncpu: 2, seed: 3 });
  const steals: string[] = [];
  m.on((e) => { if (e.type === 'state' && e.why === 'steal') steals.push(`${e.lid}@cpu${e.cpu}`); });
  const where: number[] = [];
  m.spawn(function* (sys: Sys) {
    const c1 = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(100); }); // to the idle cpu1
    // cpu0 and cpu1 are both busy: c2 queues on ours (the parent's, on a tie)...
    const c2 = yield* sys.lwpCreate(function* (s: Sys) { where.push(lwpOf(s).cpu.index); });
    yield* sys.compute(300); // ...and cpu1, once c1 is done, takes it from us
    yield* sys.lwpWait(c1);
    yield* sys.lwpWait(c2);
  });
  assertIdle(m.run());
  assert.deepEqual(steals, ['3@cpu1']);
  assert.deepEqual(where, [1]);
});

test('lwp_migrate as 1.172: IDL, SUSPENDED, SLEEP move at once; RUN and ONPROC through l.targetCpu, ending on the target', () => {
  const m = new Machine({ ncpu: 3, seed: 2 });
  const k = m.kernel;
  const got: Record<string, string> = {};
  m.spawn(function* (sys: Sys) {
    const me = lwpOf(sys);
    const c = yield* sys.lwpCreate(function* (s: Sys) { yield* s.sleep(30); yield* s.compute(30); });
    yield* sys.compute(5);
    const t = me.proc.lidMap.get(c)!;
    // SLEEP: at once.
    yield* lwpLock(t);
    yield* lwpMigrate(t, k.cpus[2]!);
    got.sleep = `${t.cpu.index} ${t.targetCpu === null}`;
    // ONPROC (ourselves): a target, and the move at our next switch.
    yield* lwpLock(me);
    yield* lwpMigrate(me, k.cpus[1]!);
    got.onprocTarget = `${me.targetCpu?.index}`;
    yield* sys.schedYield();
    got.onprocAfter = `${me.cpu.index} ${me.targetCpu === null}`;
    yield* sys.lwpSuspend(c);
    yield* lwpLock(t);
    if (t.stat === LSSUSPENDED) {
      yield* lwpMigrate(t, k.cpus[0]!);
      got.susp = `${t.cpu.index} ${t.mutex === k.cpus[0]!.spcLwplock}`;
    }
    else got.susp = `state ${t.stat}`;
    yield* sys.lwpContinue(c);
    yield* sys.lwpWait(c);
  });
  assertIdle(m.run());
  assert.deepEqual(got, { sleep: '2 true', onprocTarget: '1', onprocAfter: '1 true', susp: '0 true' });
});

/* ---------- the scheduler's system calls ---------- */

test('sched_setparam / sched_getparam: errno paths and the real-time band', () => {
  const { r, out } = runMain(function* (sys, o: Record<string, unknown>) {
    o.badPolicy = yield* errnoOf(sys.schedSetparam(0, 7, 0));
    o.range = yield* errnoOf(sys.schedSetparam(0, SCHED_FIFO, 64));
    o.otherPri = yield* errnoOf(sys.schedSetparam(0, SCHED_OTHER, 3));
    o.nolid = yield* errnoOf(sys.schedSetparam(99, SCHED_RR, 1));
    o.getNolid = yield* errnoOf(sys.schedGetparam(99));
    yield* sys.schedSetparam(0, SCHED_RR, 10);
    o.rr = yield* sys.schedGetparam(0);
    o.pri = lwpOf(sys).priority;
    yield* sys.schedSetparam(0, SCHED_OTHER, PRI_NONE);
    o.other = yield* sys.schedGetparam();
    o.emptyMask = yield* errnoOf(sys.schedSetaffinity(0, []));
    o.badMask = yield* errnoOf(sys.schedSetaffinity(0, [0, 5]));
    yield* sys.setuid(1000);
    o.eperm = yield* errnoOf(sys.schedSetparam(0, SCHED_FIFO, 1));
  }, {} as Record<string, unknown>);
  assertIdle(r);
  assert.deepEqual(out, {
    badPolicy: 'EINVAL', range: 'EINVAL', otherPri: 'EINVAL', nolid: 'ESRCH', getNolid: 'ESRCH',
    rr: { policy: SCHED_RR, priority: 10 }, pri: 138, other: { policy: SCHED_OTHER, priority: 10 },
    emptyMask: 'EINVAL', badMask: 'EINVAL', eperm: 'EPERM',
  });
});

test('SCHED_FIFO runs until it blocks or yields; SCHED_RR rotates on its quantum; SCHED_OTHER waits below both', () => {
  for (const policy of [SCHED_FIFO, SCHED_RR]) {
    const order: string[] = [];
    const { r } = runMain(function* (sys) {
      const rt = function* (s: Sys, n: string) { for (let i = 0; i < 3; i++) { yield* s.compute(100); order.push(n); } };
      yield* sys.schedSetparam(0, policy, 5); // children inherit it
      const a = yield* sys.lwpCreate(rt, 'a');
      const b = yield* sys.lwpCreate(rt, 'b');
      yield* sys.schedSetparam(yield* sys.lwpSelf(), SCHED_OTHER, PRI_NONE);
      yield* sys.compute(1);
      order.push('other');
      yield* sys.lwpWait(a);
      yield* sys.lwpWait(b);
    }, {}, { ncpu: 1, quantum: 50 });
    assertIdle(r);
    if (policy === SCHED_FIFO) assert.deepEqual(order, ['a', 'a', 'a', 'b', 'b', 'b', 'other']);
    else assert.deepEqual(order, ['a', 'b', 'a', 'b', 'a', 'b', 'other']);
  }
});
