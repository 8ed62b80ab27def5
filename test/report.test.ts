/* Reports: ps -s, top -H, the wait-for graph, the panic report, and DDB-like show/whatis. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, LWP_DETACHED, type KEvent, type Sys } from '../src/index.ts';
import type { KMutex } from '../src/kern/h/mutex.ts';
import { LwpRare } from '../src/kern/h/lwp.ts';
import {
  LPR_DETACHED, LSIDL, LSONPROC, LSRUN, LSSLEEP, LSSTOP, LSSUSPENDED, LSZOMB, LW_SINTR, LW_SYSTEM,
} from '../src/kern/param.ts';
import { mutexEnter } from '../src/kern/mutex.ts';
import { kthreadCreate } from '../src/kern/proc.ts';
import { burn, runDetached } from '../src/engine/coroutine.ts';
import { RunObserver } from '../src/report/observe.ts';
import { formatPs, lstate, MAXSLP_TICKS, psLines, psTable } from '../src/report/ps.ts';
import { formatTop, topReport } from '../src/report/top.ts';
import { formatWaitFor, waitForGraph } from '../src/report/waitfor.ts';
import { classifyPanic, formatPanic, panicReport } from '../src/report/panic.ts';
import { decodeFlags } from '../src/report/show.ts';
import { toChromeTrace } from '../src/trace/chrome.ts';
import { checkTrace } from '../src/trace/checkTrace.ts';
import { main as cycle } from '../examples/cli-cycle.ts';
import { main as suspended } from '../examples/cli-deadlock.ts';
import { fakeLwp, procOf } from './inspect.ts';

function* worker(sys: Sys, n: number) {
  yield* sys.compute(40 * n);
  yield* sys.sleep(5);
  yield* sys.compute(10);
}

function* workers(sys: Sys) {
  for (let i = 1; i <= 6; i++) yield* sys.lwpCreate(worker, i, { name: `worker${i}` });
  yield* sys.lwpCreate(worker, 1, { flags: LWP_DETACHED, name: 'detached' });
  for (let i = 0; i < 6; i++) yield* sys.lwpWait(0);
}

function boot(program: (sys: Sys) => Generator<any, unknown, any>, opts: { ncpu?: number; seed?: number; name?: string } = {}) {
  const m = new Machine({ ncpu: opts.ncpu ?? 2, seed: opts.seed ?? 1 });
  const observer = new RunObserver(m);
  m.spawn(program, { name: opts.name ?? program.name });
  return { m, observer };
}

// --- ps -s -----------------------------------------------------------------

test('lstate: NetBSD ps letters for every state, with K and - modifiers', () => {
  const l = (stat: number, flag = 0, prflag = 0) => fakeLwp({ stat, flag, prflag });
  assert.equal(lstate(l(LSONPROC)), 'O');
  assert.equal(lstate(l(LSRUN)), 'R');
  assert.equal(lstate(l(LSIDL)), 'R');
  assert.equal(lstate(l(LSSLEEP, LW_SINTR)), 'S');
  assert.equal(lstate(l(LSSLEEP, LW_SINTR), MAXSLP_TICKS - 1), 'S');
  assert.equal(lstate(l(LSSLEEP, LW_SINTR), MAXSLP_TICKS), 'I');
  assert.equal(lstate(l(LSSLEEP)), 'D');
  assert.equal(lstate(l(LSSTOP)), 'T');
  assert.equal(lstate(l(LSSUSPENDED)), 'U');
  assert.equal(lstate(l(LSZOMB)), 'Z');
  assert.equal(lstate(l(LSRUN, LW_SYSTEM, LPR_DETACHED)), 'RK-');
  assert.equal(lstate(l(LSZOMB, 0, LPR_DETACHED)), 'Z-');
});

test('ps -s at the end of a deadlock: columns, NLWP, idle LWPs, detached zombie', () => {
  const { m } = boot(suspended, { name: 'stuck' });
  assert.equal(m.run().outcome, 'deadlock');
  const lines = psLines(m);
  assert.deepEqual(lines.map((r) => `${r.pid}.${r.lid}`), ['0.1', '0.2', '1.1', '1.2']);
  for (const r of lines.filter((x) => x.pid === 0)) {
    assert.match(r.stat, /^[OR]K$/);
    assert.equal(r.nlwp, 2);
  }
  const main = lines.find((r) => r.pid === 1 && r.lid === 1)!;
  assert.deepEqual({ stat: main.stat, nlwp: main.nlwp, wchan: main.wchan }, { stat: 'U', nlwp: 2, wchan: '' });
  assert.equal(lines.find((r) => r.lid === 2 && r.pid === 1)!.stat, 'Z-');
  const text = psTable(m);
  assert.match(text.split('\n')[0]!, /^PID LID NLWP STAT CPU PRI WCHAN\s+LNAME$/);
  assert.match(text, /^ {2}1 {3}1 {4}2 U {6}0 {2}63 - +-$/m);
  assert.equal(formatPs([]), 'PID LID NLWP STAT CPU PRI WCHAN LNAME');
});

test('ps can be taken at any moment without changing the run', () => {
  const events = (peek: boolean) => {
    const m = new Machine({ ncpu: 3, seed: 4 });
    const out: string[] = [];
    const tables: string[] = [];
    m.on((e: KEvent) => {
      out.push(JSON.stringify(e));
      if (peek) tables.push(psTable(m));
    });
    m.spawn(workers, { name: 'w' });
    m.run();
    return { out, tables };
  };
  const a = events(false);
  const b = events(true);
  assert.deepEqual(b.out, a.out);
  assert.ok(b.tables.some((t) => /\d+ S +\d+ +\d+ nanoslp/.test(t)), 'a sleeper seen mid-run');
  assert.ok(b.tables.some((t) => / O +\d+ +\d+ - +worker/.test(t)), 'a worker seen on a CPU');
});

test("a long interruptible sleep shows 'I' once the observer has seen it for maxslp", () => {
  const m = new Machine({ ncpu: 1 });
  const obs = new RunObserver(m);
  m.spawn(function* sleeper(sys: Sys) { yield* sys.sleep(MAXSLP_TICKS * 3); }, { name: 'sleeper' });
  m.run({ maxTicks: MAXSLP_TICKS / 2 });
  assert.equal(psLines(m, { observer: obs }).find((r) => r.pid === 1)!.stat, 'S');
  m.run({ maxTicks: MAXSLP_TICKS * 2 });
  assert.equal(psLines(m, { observer: obs }).find((r) => r.pid === 1)!.stat, 'I');
  assert.equal(psLines(m).find((r) => r.pid === 1)!.stat, 'S', 'without an observer the sleep time is unknown');
  obs.detach();
});

// --- top -H ----------------------------------------------------------------

test('top -H: utilisation and switches per CPU, busiest LWPs including freed ones', () => {
  const { m, observer } = boot(workers, { ncpu: 2 });
  const r = m.run();
  assert.equal(r.outcome, 'idle');
  const t = topReport(m, { observer });
  assert.equal(t.cpus.length, 2);
  t.cpus.forEach((c, i) => {
    assert.equal(c.switches, m.kernel.cpus[i]!.nswtch);
    assert.equal(c.busy, m.engine.cpus[i]!.busyTicks);
    assert.ok(c.util > 0 && c.util <= 1);
    assert.equal(c.current, 'idle');
  });
  // Freed workers are still listed, most run time first: worker6 computed 240 + 10 ticks.
  assert.equal(t.lwps[0]!.name, 'worker6');
  assert.equal(t.lwps[0]!.stat, 'freed');
  assert.ok(t.lwps[0]!.rtime >= 250);
  for (let i = 1; i < t.lwps.length; i++) assert.ok(t.lwps[i - 1]!.rtime >= t.lwps[i]!.rtime);
  // The dispatcher registers lwkt.preempt_*; nothing here preempts (lwkt_preempt).
  assert.deepEqual(t.preempt, { hit: 0, miss: 0, weird: 0 });
  const text = formatTop(t);
  assert.match(text, /^top -H: 2 CPUs, \d+ ticks; 1 process, 1 LWP not yet freed$/m);
  assert.match(text, /preemptions \(lwkt\.preempt_\*\): hit 0, miss 0, weird 0/);
  assert.match(text, /^ +1 +7 worker6 +freed +\d +63 +25\d /m);
  // Without an observer only the LWPs still there are listed.
  assert.deepEqual(topReport(m).lwps.map((l) => `${l.pid}.${l.lid}`), ['1.1']);
});

test('top reads the dispatcher preemption counters through sysctl when the machine has them', () => {
  const m = new Machine({ ncpu: 1 });
  const counts: Record<string, number> = { hit: 3, miss: 1, weird: 0 };
  // The dispatcher registers these nodes read-write (the seed's CTLFLAG_RW).
  for (const n of ['hit', 'miss', 'weird']) m.sysctl(`lwkt.preempt_${n}`, counts[n]!);
  const t = topReport(m);
  assert.deepEqual(t.preempt, { hit: 3, miss: 1, weird: 0 });
  assert.match(formatTop(t), /hit 3, miss 1, weird 0/);
  assert.equal(t.cpus[0]!.util, 0);
});

// --- the wait-for graph ------------------------------------------------------

test('wait-for graph: the t1 -> t2 -> t3 -> t1 cycle lwp_wait1 misses, on every seed', () => {
  for (const [ncpu, seed] of [[1, 1], [2, 1], [4, 2], [3, 7]] as const) {
    const { m } = boot(cycle, { ncpu, seed, name: 'cycle' });
    const r = m.run();
    assert.equal(r.outcome, 'deadlock', `ncpu ${ncpu} seed ${seed}`);
    const g = waitForGraph(m);
    assert.deepEqual(g.entries.map((e) => [`${e.pid}.${e.lid}`, e.how, e.stuck, e.cycle]), [
      ['1.2', '_lwp_wait(3)', true, 0], ['1.3', '_lwp_wait(4)', true, 0], ['1.4', '_lwp_wait(2)', true, 0],
    ]);
    assert.deepEqual(g.cycles, [[{ pid: 1, lid: 2, name: 't1' }, { pid: 1, lid: 3, name: 't2' }, { pid: 1, lid: 4, name: 't3' }]]);
    const text = formatWaitFor(g);
    assert.match(text, /^wait-for graph at tick \d+: 3 blocked LWPs, 1 cycle$/m);
    assert.match(text, /^ {2}1\.2 t1 +SLEEP +lwpwait +_lwp_wait\(3\) +-> 1\.3 t2 +\[cycle 1\]$/m);
    assert.match(text, /^cycle 1: 1\.2 t1 -> 1\.3 t2 -> 1\.4 t3 -> 1\.2 t1$/m);
    assert.match(text, /only a target that waits for its caller/);
  }
});

test('wait-for graph: a suspended LWP nobody can continue, and a parent stuck in wait4 behind it', () => {
  const { m } = boot(function* parent(sys: Sys) {
    const child = yield* sys.spawn(suspended);
    yield* sys.waitpid(child);
  });
  assert.equal(m.run().outcome, 'deadlock');
  const g = waitForGraph(m);
  const [p, c] = g.entries;
  assert.deepEqual([p!.pid, p!.lid, p!.how, p!.stuck], [1, 1, 'wait4', true]);
  assert.deepEqual(p!.targets, [{ kind: 'lwp', pid: 2, lid: 1, name: '' }]);
  assert.deepEqual([c!.pid, c!.stat, c!.how, c!.targets[0]!.kind, c!.stuck], [2, 'SUSPENDED', '_lwp_continue', 'nobody', true]);
  assert.equal(g.cycles.length, 0);
  assert.match(formatWaitFor(g), /1\.1 +SLEEP +wait +wait4 +-> 2\.1\n/);
  assert.match(formatWaitFor(g), /2\.1 +SUSPENDED +- +_lwp_continue +-> nobody \(no other live lwp in pid 2 to continue it\)/);
});

test('wait-for graph mid-run: waits that a timer or a running LWP will end are not stuck', () => {
  const { m } = boot(function* main(sys: Sys) {
    yield* sys.lwpCreate(function* (s: Sys) { yield* s.sleep(1000); }, undefined, { name: 'napper' });
    yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(5000); }, undefined, { name: 'busy' });
    yield* sys.lwpWait(0);
    yield* sys.lwpWait(0);
  });
  assert.equal(m.run({ maxTicks: 100 }).outcome, 'limit');
  const g = waitForGraph(m);
  const main = g.entries.find((e) => e.lid === 1)!;
  assert.equal(main.how, '_lwp_wait(0)');
  assert.deepEqual(main.targets.map((t) => (t.kind === 'lwp' ? t.lid : t.kind)), [2, 3]);
  assert.equal(main.any, true);
  const napper = g.entries.find((e) => e.lid === 2)!;
  assert.equal(napper.how, 'nanosleep');
  assert.equal(napper.targets[0]!.kind, 'timer');
  assert.ok(g.entries.every((e) => !e.stuck));
  assert.equal(g.cycles.length, 0);
  assert.match(formatWaitFor(g), /-> any of 1\.2 napper, 1\.3 busy +\(can still proceed\)/);
  assert.match(formatWaitFor(g), /-> a timer at tick 10\d\d/);
});

/** Two kernel threads taking proc_lock and proc0's p_lock in opposite orders. */
function abba(): { m: Machine; a: KMutex; b: KMutex } {
  const m = new Machine({ ncpu: 2, seed: 1 });
  const k = m.kernel;
  const a = k.procLock;
  const b = k.proc0.lock;
  const body = (x: KMutex, y: KMutex) => function* () { yield* mutexEnter(k, x); yield burn(5); yield* mutexEnter(k, y); };
  runDetached(kthreadCreate(k.cpus[0]!.idlelwp, 'ab', body(a, b)));
  runDetached(kthreadCreate(k.cpus[1]!.idlelwp, 'ba', body(b, a)));
  return { m, a, b };
}

test('a spin deadlock panics; its report has the lock cycle, and whatis/show see who spins', () => {
  const { m, a } = abba();
  const r = m.run();
  assert.equal(r.outcome, 'panic');
  const rep = panicReport(m, r.panic!);
  assert.equal(rep.kind, 'spin-deadlock');
  const g = rep.waitFor!;
  assert.deepEqual(g.entries.map((e) => [e.name, e.on, e.how, (e.targets[0] as { lid: number }).lid]), [
    ['ab', 'mutex proc0.p_lock', 'mutex_enter', 4], ['ba', 'mutex proc_lock', 'mutex_enter', 3],
  ]);
  assert.deepEqual(g.cycles.map((c) => c.map((x) => x.name)), [['ab', 'ba']]);
  assert.match(formatPanic(rep), /cycle 1: 0\.3 ab -> 0\.4 ba -> 0\.3 ab/);
  const w = m.whatis('proc_lock');
  assert.match(w, /^proc_lock: adaptive mutex, held by lwp 0\.3 \(ab\), contended 1 time$/m);
  assert.match(w, /spinning on it: cpu1 \(lwp 0\.4 \(ba\)\)/);
  assert.equal(m.whatis(a), w);
  assert.match(m.show.cpu(1), /hw\.cond +Spin on proc_lock/);
  assert.match(m.show.lwp(0, 3), /locks +1$/m);
});

// --- panic report ---------------------------------------------------------

test('panic report: the broken invariant, the last events, ps at the panic', () => {
  const m = new Machine({ ncpu: 2 });
  m.spawn(function* evil(sys: Sys) {
    yield* sys.compute(5);
    procOf(sys).nlwps += 1; // corrupt the kernel
    yield* sys.compute(5);
  });
  const r = m.run();
  assert.equal(r.outcome, 'panic');
  const rep = panicReport(m, r.panic!);
  assert.equal(rep.kind, 'invariant');
  assert.equal(rep.broke, 'proc 1 counters disagree with its LWP list: nlwps 2 != 1');
  assert.ok(rep.events.length > 0 && rep.events.length <= 50);
  assert.equal(rep.ps.find((x) => x.pid === 1)!.nlwp, 2);
  const text = formatPanic(rep);
  const lines = text.split('\n');
  assert.equal(lines[0], `panic: ${r.panic!.message}`);
  assert.match(lines[1]!, /^broken invariant \(checked after every step\): proc 1 counters/);
  assert.match(text, new RegExp(`last ${rep.events.length} events, oldest first:\\n +0 cpu`));
  assert.match(text, /ps at the panic:\nPID LID NLWP STAT/);
});

test('classifyPanic names who caught it', () => {
  assert.deepEqual(classifyPanic('invariant violated: x'), { kind: 'invariant', broke: 'x' });
  assert.equal(classifyPanic('illegal state transition ZOMB -> RUN of lwp 1.1 (x)').kind, 'transition');
  assert.equal(classifyPanic('spin deadlock: cpu0 spinning on a').kind, 'spin-deadlock');
  assert.equal(classifyPanic('internal error: boom').kind, 'internal');
  assert.deepEqual(classifyPanic('lwp_free: 1.2 is not a zombie'), { kind: 'assertion', broke: 'KASSERT: lwp_free: 1.2 is not a zombie' });
});

// --- show / whatis ---------------------------------------------------------

test('state once kept in module maps is in the structures, where show sees it: park channels, LWP charges, the start routine', () => {
  const m = new Machine({ ncpu: 2, seed: 1 });
  const hint = { name: 'the hint' };
  m.spawn(function* (sys: Sys) {
    yield* sys.lwpCreate(function* (s: Sys) { yield* s.lwpPark({ hint }); });
    yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(1000); });
    yield* sys.sleep(100);
  }, { name: 'hidden', uid: 1000 });
  m.run({ maxTicks: 50 });
  const p = m.kernel.procs.get(1)!;
  assert.equal(p.lwpCharges, p.nlwps - 1, 'a process carries one chglwpcnt charge per LWP but its first');
  assert.ok(p.park !== null && p.park.objs.get(hint) !== undefined, 'the park channel of the hint');
  assert.equal(p.lidMap.get(3)!.start, null, 'the start routine is taken at the first trip to user mode');
  const text = m.show.proc(1);
  assert.match(text, /^ {2}park +/m);
  assert.match(text, new RegExp(`^ {2}lwpCharges +${p.nlwps - 1}$`, 'm'));
  assert.match(m.show.lwp(1, 2), /^ {2}start +-$/m);
});

test('m.show.lwp prints every field of the LWP, flags decoded', () => {
  const { m } = boot(cycle, { name: 'cycle' });
  m.run();
  const l = m.kernel.procs.get(1)!.lidMap.get(2)!;
  const text = m.show.lwp(1, 2);
  assert.match(text, /^lwp 1\.2 \(t1\) of proc 1 \(cycle\) at tick \d+$/m);
  // Every own field, and every field of the rarely set part (LwpRare, made on first use) by its own name.
  const names = [...Object.keys(l).filter((k) => !['k', 'td', 'sys', 'rare'].includes(k)), ...Object.keys(new LwpRare())];
  assert.ok(names.includes('affinity') && names.includes('specdata'));
  for (const k of names) assert.match(text, new RegExp(`^  ${k} `, 'm'), k);
  assert.doesNotMatch(text, /^ {2}rare /m);
  assert.match(text, /^ {2}stat +SLEEP \(3\), ps S$/m);
  assert.match(text, /^ {2}flag +0x80 <LW_SINTR>$/m);
  assert.match(text, /^ {2}waitingfor +lid 3$/m);
  assert.match(text, /^ {2}wchan +lwpwait: p_lwpcv of proc 1/m);
  assert.match(text, /^ {2}rtime +\d+ ticks$/m);
  assert.throws(() => m.show.lwp(1, 99), /show lwp: no lwp 1\.99$/);
  assert.throws(() => m.show.lwp(7, 1), /no process 7/);
  assert.equal(decodeFlags(0x80 | 0x4000_0000, [[0x80, 'LW_SINTR']]), '0x40000080 <LW_SINTR,0x40000000>');
});

test('m.show.proc and m.show.cpu; m.whatis on a wait channel, an LWP and nonsense', () => {
  const { m } = boot(cycle, { name: 'cycle' });
  m.run();
  const p = m.show.proc(1);
  assert.match(p, /^proc 1 \(cycle\) at tick/);
  assert.match(p, /^ {2}lwps +1:Z 2:S 3:S 4:S$/m);
  assert.match(p, /^ {2}nlwpwait +3$/m);
  assert.match(p, /^ {2}lwpcv +"lwpwait", sleepers: 1\.2 \(t1\), 1\.3 \(t2\), 1\.4 \(t3\)$/m);
  assert.throws(() => m.show.proc(42), /no process 42/);
  const c = m.show.cpu(0);
  assert.match(c, /^ {2}curlwp +lwp 0\.1 \(idle\/0\)$/m);
  assert.match(c, /^ {2}hw\.cond +Halted$/m);
  assert.throws(() => m.show.cpu(2), /no cpu 2 \(the machine has 2\)/);
  const w = m.whatis('lwpwait');
  assert.match(w, /^lwpwait: p_lwpcv of proc 1 \(cycle\)/);
  assert.match(w, /sleepers: 1\.2 \(t1\) SLEEP, 1\.3 \(t2\) SLEEP, 1\.4 \(t3\) SLEEP/);
  assert.doesNotMatch(w, /proc 0/, 'channels nobody sleeps on are left out');
  assert.match(m.whatis(m.kernel.procs.get(1)!.lwpcv), /^lwpwait: p_lwpcv of proc 1/);
  assert.match(m.whatis('1.3'), /^1\.3: lwp 1\.3 \(t2\) of proc 1 \(cycle\), SLEEP on lwpwait, l_mutex sleepq\d+ \(free\)$/);
  assert.match(m.whatis('proc1.p_lock'), /^proc1\.p_lock: adaptive mutex, free/);
  assert.equal(m.whatis('nosuch'), 'nosuch: no lock or wait channel of that name');
  assert.equal(m.whatis('9.9'), '9.9: no such lwp');
});

// --- the graph in the Chrome trace ------------------------------------------

test('the Chrome trace of a deadlock carries the wait-for graph: flows, cycle instant, notes', () => {
  const m = new Machine({ ncpu: 2, seed: 1 });
  const events: KEvent[] = [];
  m.on((e) => events.push(e));
  m.spawn(cycle, { name: 'cycle' });
  const r = m.run();
  const g = waitForGraph(m);
  const trace = JSON.parse(JSON.stringify(toChromeTrace(events, { endTicks: r.ticks, deadlock: r.blocked, waitFor: g })));
  assert.deepEqual(checkTrace(trace), []);
  const ev = trace.traceEvents as { ph: string; name: string; cat?: string; tid?: number; ts?: number; args?: Record<string, unknown> }[];
  const flows = ev.filter((e) => e.cat === 'waitfor');
  assert.equal(flows.filter((e) => e.ph === 's').length, 3);
  assert.equal(flows.filter((e) => e.ph === 'f').length, 3);
  assert.equal(new Set(flows.map((e) => e.ts)).size, 1, 'the arrows stand together');
  assert.deepEqual(flows.filter((e) => e.ph === 's').map((e) => [e.tid, e.args!.cycle]), [[1002, true], [1003, true], [1004, true]]);
  const cyc = ev.find((e) => e.name === 'wait-for cycle')!;
  assert.equal(cyc.args!.lwps, '1.2 t1 -> 1.3 t2 -> 1.4 t3 -> 1.2 t1');
  const blocked = ev.filter((e) => e.name === 'blocked');
  assert.deepEqual(blocked.map((e) => e.args!.waitsFor), ['1.3 t2', '1.4 t3', '1.2 t1']);
  assert.ok(blocked.every((e) => e.args!.cycle === 1));
});

test('the Chrome trace of a spin deadlock carries its lock cycle and still checks', () => {
  const { m } = abba();
  const events: KEvent[] = [];
  m.on((e) => events.push(e));
  const r = m.run();
  const g = panicReport(m, r.panic!).waitFor!;
  const trace = JSON.parse(JSON.stringify(toChromeTrace(events, { endTicks: r.ticks, ncpu: 2, waitFor: g })));
  assert.deepEqual(checkTrace(trace), []);
  const ev = trace.traceEvents as { name: string; ph: string; args?: Record<string, unknown> }[];
  assert.ok(ev.some((e) => e.name === 'wait-for cycle' && e.args!.lwps === '0.3 ab -> 0.4 ba -> 0.3 ab'));
  assert.equal(ev.filter((e) => e.name === 'blocked').length, 2);
});
