/*
 * lwpkit micro-benchmarks (`npm run bench`).
 *
 * What it measures, all in one run:
 *   1. create+exit+wait: a program looping
 *        const lid = yield* sys.lwpCreate(child); yield* sys.lwpWait(lid);
 *      with a child that returns at once; on 1 and 4 CPUs, with the
 *      invariant checker off (check: false) and on (check: true).
 *   2. ping-pong: two LWPs on one CPU each looping yield* sys.schedYield();
 *      a round trip is A->B->A (two yields).
 *   3. the ceilings: the same two loops as bare generators with no kernel
 *      ((a) make the child's generator and run it to completion with
 *      .next(); (b) two generators resumed alternately by a while loop,
 *      each yielding a small request object per iteration).
 *   4. model rate / ceiling rate for both.
 *   5. the dispatcher: context switches per second with 4 LWPs per CPU
 *      (each looping sched_yield) on 1, 2, 8 and 64 CPUs, quoted against
 *      the bare-generator yield rate (2 yields per ceiling round trip);
 *      and the cost of one switch between two real-time LWPs on one CPU
 *      while 1 to 10,000 other LWPs sit runnable on its queue (SCHED_OTHER,
 *      below them): with the run queue's bitmask it must stay flat.
 *
 * Timing is CPU time of the measuring process (cpuNow), not wall time.
 *
 * Why ratios: this runs on shared, noisy machines, so absolute rates move
 * from run to run.  A ceiling measured in the same process, seconds apart,
 * moves with them; quote "model = x% of the bare-generator ceiling" rather
 * than ops/s.  Each figure is the median of REPS timed repetitions of
 * ~TARGET_MS each, after a calibration/warm-up pass; the repetitions of
 * all measurements of a group are interleaved so each ratio compares like
 * with like.  Each group (lifecycle, dispatcher, fresh machines, parked
 * machines, memory) runs in a node process of its own, with its own
 * ceilings (see GROUPS).
 *
 *   6. explore throughput (bench/explore.ts): executions/s and decisions/s
 *      of a fresh 2-CPU machine per run, with 1 worker and with 2.
 *
 * Every model run is checked (outcome 'idle', the expected number of cycles
 * or yields, switch counts), so a broken kernel cannot post a fast number.
 * Only this file reads the wall clock; the kernel never does.
 *
 * Output: an aligned table, then one line of JSON (the last line).
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Machine, SCHED_FIFO, SeededChooser, type Sys } from '../src/index.ts';
import { runDetached } from '../src/engine/coroutine.ts';
import { kthreadCreate } from '../src/kern/proc.ts';
import { benchExplore } from './explore.ts';

const REPS = +(process.env.BENCH_REPS ?? 7);

/**
 * The clock of every timed section: this process's CPU time (user + system,
 * all its threads), in ms.  On a loaded host wall time also counts the time
 * the process waits for a core; CPU time does not, and is far steadier.
 */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
const TARGET_MS = +(process.env.BENCH_MS ?? 250);
const UNLIMITED = { maxTicks: Number.MAX_SAFE_INTEGER, maxSteps: Number.MAX_SAFE_INTEGER };

/* ---------- the model ---------- */

function* child(_sys: Sys, out: { ran: number }) {
  out.ran++;
}

/** Cycles of create+exit+wait on a fresh machine; returns the ms spent in m.run(). */
function modelCreateWait(n: number, ncpu: number, check: boolean): number {
  const out = { cycles: 0, ran: 0 };
  const m = new Machine({ ncpu, check });
  m.spawn(function* (sys: Sys, o: typeof out) {
    for (let i = 0; i < n; i++) {
      const lid = yield* sys.lwpCreate(child, o);
      const got = yield* sys.lwpWait(lid);
      if (got === lid) o.cycles++;
    }
  }, { name: 'bench', arg: out });
  const t0 = cpuNow();
  const r = m.run(UNLIMITED);
  const ms = cpuNow() - t0;
  assert.equal(r.outcome, 'idle', r.panic?.message ?? r.outcome);
  assert.equal(out.cycles, n, 'every lwpWait collected the lid just created');
  assert.equal(out.ran, n, 'every child ran');
  return ms;
}

/** Two LWPs of one process on one CPU, each yielding n times. */
function pingPongMachine(n: number) {
  const out = { a: 0, b: 0, lidA: 0, lidB: 0 };
  const m = new Machine({ ncpu: 1, check: false });
  m.spawn(function* (sys: Sys, o: typeof out) {
    o.lidA = yield* sys.lwpSelf();
    o.lidB = yield* sys.lwpCreate(function* (s: Sys) {
      for (let i = 0; i < n; i++) { yield* s.schedYield(); o.b++; }
    });
    for (let i = 0; i < n; i++) { yield* sys.schedYield(); o.a++; }
    assert.equal(yield* sys.lwpWait(o.lidB), o.lidB);
  }, { name: 'pingpong', arg: out });
  return { m, out };
}

function modelPingPong(n: number): number {
  const { m, out } = pingPongMachine(n);
  const t0 = cpuNow();
  const r = m.run(UNLIMITED);
  const ms = cpuNow() - t0;
  assert.equal(r.outcome, 'idle', r.panic?.message ?? r.outcome);
  assert.equal(out.a, n);
  assert.equal(out.b, n);
  // Every yield must really hand the CPU over: 2n switches plus a handful
  // for start-up and exit (a yield that kept the CPU would leave this short).
  const nswtch = m.kernel.cpus[0]!.nswtch;
  assert.ok(nswtch >= 2 * n && nswtch <= 2 * n + 8, `ping-pong: ${nswtch} switches for ${2 * n} yields`);
  return ms;
}

/** Calibration run with the event stream on: the switches strictly alternate A, B, A, B... */
function verifyAlternation(n: number): void {
  const { m, out } = pingPongMachine(n);
  const seq: number[] = [];
  m.on((e) => { if (e.type === 'switch' && e.pid === e.toPid) seq.push(e.lid, e.toLid); });
  assert.equal(m.run(UNLIMITED).outcome, 'idle');
  const ab = seq.filter((_, i) => i % 2 === 0).length;
  assert.ok(ab >= 2 * n, `only ${ab} LWP-to-LWP switches for ${2 * n} yields`);
  for (let i = 0; i < seq.length; i += 2) {
    assert.notEqual(seq[i], seq[i + 1], 'a switch to itself');
    assert.ok([out.lidA, out.lidB].includes(seq[i]!) && [out.lidA, out.lidB].includes(seq[i + 1]!));
    if (i > 0) assert.equal(seq[i], seq[i - 1], 'the CPU does not alternate');
  }
}

/* ---------- the dispatcher ---------- */

/**
 * ~n context switches on ncpu CPUs with 4 LWPs per CPU, each looping
 * sched_yield; returns the ms per n switches actually made.
 */
function modelSwitches(n: number, ncpu: number): number {
  const nlwp = 4 * ncpu;
  const y = Math.max(1, Math.round(n / nlwp));
  const m = new Machine({ ncpu, check: false });
  const out = { done: 0 };
  m.spawn(function* (sys: Sys, o: typeof out) {
    // Sleep until one tick, when all are created: the wakeups spread them 4 to a CPU.
    const wakeAt = 4 * nlwp + 50;
    const body = function* (s: Sys) {
      yield* s.sleep(wakeAt - (s as unknown as { l: { k: { now: number } } }).l.k.now);
      for (let i = 0; i < y; i++) yield* s.schedYield();
      o.done++;
    };
    for (let i = 1; i < nlwp; i++) yield* sys.lwpCreate(body);
    yield* body(sys);
    for (let i = 1; i < nlwp; i++) yield* sys.lwpWait(0);
  }, { name: 'switches', arg: out });
  const t0 = cpuNow();
  const r = m.run(UNLIMITED);
  const ms = cpuNow() - t0;
  assert.equal(r.outcome, 'idle', r.panic?.message ?? r.outcome);
  assert.equal(out.done, nlwp);
  const sw = m.kernel.cpus.reduce((a, c) => a + c.nswtch, 0);
  // Nearly every yield switched (the last LWP left on a CPU yields to nobody).
  assert.ok(sw >= 0.75 * nlwp * y, `${ncpu} cpus: ${sw} switches for ${nlwp * y} yields`);
  return (ms * n) / sw;
}

/**
 * n round trips (2n switches) between two SCHED_FIFO LWPs on one CPU while
 * `runnable` SCHED_OTHER LWPs wait on its queue.  Only the round trips are
 * timed: the run is first stopped at the tick where they start (found by a
 * dry run, the model being deterministic).
 */
const phases = new Map<string, { start: number; end: number }>();
function runnableMachine(n: number, runnable: number, out: { start: number; end: number; trips: number }) {
  const m = new Machine({ ncpu: 1, check: false });
  m.spawn(function* (sys: Sys, o: typeof out) {
    const now = () => (sys as unknown as { l: { k: { now: number } } }).l.k.now;
    yield* sys.schedSetparam(0, SCHED_FIFO, 10);
    const partner = yield* sys.lwpCreate(function* (s: Sys) { for (let i = 0; i < n; i++) yield* s.schedYield(); });
    o.start = now();
    for (let i = 0; i < n; i++) { yield* sys.schedYield(); o.trips++; }
    o.end = now();
    yield* sys.lwpWait(partner);
  }, { name: 'rt', arg: out });
  // Queued behind it, at the lowest level, never picked until the end.  Kernel
  // threads, because 10,000 user LWPs would pass kern.maxlwp (2048).
  const idle = m.kernel.cpus[0]!.idlelwp;
  for (let i = 0; i < runnable; i++) runDetached(kthreadCreate(idle, 'filler', function* () {}, 0));
  return m;
}

function modelSwitchCost(n: number, runnable: number): number {
  const key = `${n}/${runnable}`;
  let ph = phases.get(key);
  if (ph === undefined) {
    const o = { start: 0, end: 0, trips: 0 };
    assert.equal(runnableMachine(n, runnable, o).run(UNLIMITED).outcome, 'idle');
    ph = { start: o.start, end: o.end };
    phases.set(key, ph);
  }
  const out = { start: 0, end: 0, trips: 0 };
  const m = runnableMachine(n, runnable, out);
  m.run({ maxTicks: ph.start, maxSteps: Number.MAX_SAFE_INTEGER });
  const rq = m.kernel.cpus[0]!.runq.count;
  const sw0 = m.kernel.cpus[0]!.nswtch;
  const t0 = cpuNow();
  m.run({ maxTicks: ph.end, maxSteps: Number.MAX_SAFE_INTEGER });
  const ms = cpuNow() - t0;
  const sw = m.kernel.cpus[0]!.nswtch - sw0;
  assert.ok(rq >= runnable, `only ${rq} queued for ${runnable} runnable`);
  assert.ok(sw >= 2 * n - 2 && out.trips >= n - 1, `runnable ${runnable}: ${sw} switches, ${out.trips} trips of ${n}`);
  return ms;
}

/* ---------- exploration-sized runs, the checker at scale, memory ---------- */

/** Counts the decisions asked of the seeded chooser. */
class CountingChooser extends SeededChooser {
  decisions = 0;
  override choose(n: number): number {
    this.decisions++;
    return super.choose(n);
  }
}

/** The exploration scenario: main starts 3 workers that each yield twice, then waits for them. */
function* freshMain(sys: Sys) {
  const lids: number[] = [];
  for (let i = 0; i < 3; i++) lids.push(yield* sys.lwpCreate(freshWorker));
  for (const lid of lids) assert.equal(yield* sys.lwpWait(lid), lid);
}
function* freshWorker(sys: Sys) {
  yield* sys.schedYield();
  yield* sys.schedYield();
}

/** Decisions made by the last freshRuns call (per execution, averaged). */
const freshDecisions = { check: 0, nocheck: 0 };
/** n executions, each a fresh 2-CPU machine (seeds 1..n) running freshMain; returns the ms. */
function freshRuns(n: number, check: boolean): number {
  let decisions = 0;
  const t0 = cpuNow();
  for (let i = 0; i < n; i++) {
    const chooser = new CountingChooser(i + 1);
    const m = new Machine({ ncpu: 2, check, chooser });
    m.spawn(freshMain, { name: 'fresh' });
    const r = m.run(UNLIMITED);
    if (r.outcome !== 'idle') assert.fail(r.panic?.message ?? r.outcome);
    decisions += chooser.decisions;
  }
  const ms = cpuNow() - t0;
  freshDecisions[check ? 'check' : 'nocheck'] = decisions / n;
  return ms;
}

/**
 * One machine per (parked, check), kept across repetitions: `parked` LWPs
 * of another process asleep in _lwp_park (made once, untimed).  A timed
 * repetition spawns a fresh create+exit+wait loop of n cycles beside them.
 */
const parkedMachines = new Map<string, Machine>();
function parkedMachine(parked: number, check: boolean): Machine {
  const key = `${parked}/${check}`;
  let m = parkedMachines.get(key);
  if (m !== undefined) return m;
  m = new Machine({ ncpu: 1, check, maxlwp: 65535 });
  if (parked > 0) parkLwps(m, parked);
  parkedMachines.set(key, m);
  return m;
}
function* parker(sys: Sys) {
  yield* sys.lwpPark();
}
/** Run one process of `parked` LWPs (its main LWP among them) until every one sleeps in _lwp_park. */
function parkLwps(m: Machine, parked: number): void {
  m.spawn(function* (sys: Sys) {
    for (let i = 1; i < parked; i++) yield* sys.lwpCreate(parker);
    yield* sys.lwpPark();
  }, { name: 'parkers' });
  assert.equal(m.run(UNLIMITED).outcome, 'deadlock');
  assert.equal(m.kernel.alllwp.size - m.kernel.proc0.nlwps, parked);
}

function modelCreateWaitBeside(n: number, parked: number, check: boolean): number {
  const m = parkedMachine(parked, check);
  const out = { cycles: 0, ran: 0 };
  m.spawn(function* (sys: Sys, o: typeof out) {
    for (let i = 0; i < n; i++) {
      const lid = yield* sys.lwpCreate(child, o);
      if ((yield* sys.lwpWait(lid)) === lid) o.cycles++;
    }
  }, { name: 'bench', arg: out });
  const t0 = cpuNow();
  const r = m.run(UNLIMITED);
  const ms = cpuNow() - t0;
  assert.equal(r.outcome, parked === 0 ? 'idle' : 'deadlock', r.panic?.message ?? r.outcome);
  assert.equal(out.cycles, n);
  assert.equal(out.ran, n);
  return ms;
}

/** Heap after a full GC, in bytes. */
function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Heap a machine with `parked` parked LWPs (one process, its main LWP
 * parked too) holds beyond an empty machine's: { total bytes, bytes per LWP }.
 */
function parkedHeap(parked: number): { bytes: number; perLwp: number } {
  const empty = new Machine({ ncpu: 1, check: false, maxlwp: 65535 });
  const h0 = heapUsed();
  const m = new Machine({ ncpu: 1, check: false, maxlwp: 65535 });
  parkLwps(m, parked);
  const h1 = heapUsed();
  assert.ok(empty.kernel.procs.size > 0 && m.kernel.procs.size > 0); // both alive while measured
  return { bytes: h1 - h0, perLwp: (h1 - h0) / parked };
}

/* ---------- the ceilings: bare generators, no kernel ---------- */

function* bareChild(out: { ran: number }) {
  out.ran++;
}

function ceilingCreateWait(n: number): number {
  const out = { ran: 0 };
  const t0 = cpuNow();
  for (let i = 0; i < n; i++) {
    const g = bareChild(out);          // "create"
    while (g.next().done !== true);    // run it to its exit; "wait" is the loop ending
  }
  const ms = cpuNow() - t0;
  assert.equal(out.ran, n);
  return ms;
}

interface Req { op: number; i: number }
function* bareYielder(n: number): Generator<Req, void, unknown> {
  for (let i = 0; i < n; i++) yield { op: 1, i };
}

function ceilingPingPong(n: number): number {
  const a = bareYielder(n), b = bareYielder(n);
  let yields = 0;
  const t0 = cpuNow();
  for (;;) {
    const ra = a.next(), rb = b.next();
    if (ra.done === true && rb.done === true) break;
    yields += (ra.done === true ? 0 : 1) + (rb.done === true ? 0 : 1);
  }
  const ms = cpuNow() - t0;
  assert.equal(yields, 2 * n);
  return ms;
}

/* ---------- timing ---------- */

// gc() for the heap figures only (the V8 flag is set at run time, as npm run
// bench cannot pass node flags through tsx).  The timed repetitions once
// each began with a forced full GC: that left V8's young generation at its
// smallest, a machine's objects then survived its scavenges, and V8 began
// allocating them in the old generation: every lifecycle ran 4-5x slower
// than the same code in a process left alone.  Interleaved reps share the
// garbage evenly without it.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

interface Stat { rate: number; best: number; n: number; rates: number[]; spread: number }

/**
 * Size n so that one repetition of run(n) takes ~TARGET_MS.  These runs,
 * the last at full size, double as the warm-up.  run(n) does n operations
 * (cycles, or round trips) and returns its ms.
 */
function calibrate(run: (n: number) => number): number {
  let n = 64;
  let ms = run(n);
  while (ms < 20) { n *= 4; ms = run(n); }
  // Re-size until a repetition lands near the target: the first, cold runs
  // are slower than warm ones and would under-size n.
  for (let i = 0; i < 6; i++) {
    n = Math.max(1, Math.round((n * TARGET_MS) / ms));
    ms = run(n);
    if (ms > TARGET_MS * 0.7 && ms < TARGET_MS * 1.4) break;
  }
  return n;
}

/**
 * Calibrate every measurement, then run REPS rounds, each round one timed
 * repetition of every measurement in turn.  Interleaving puts a model and
 * its ceiling in the same stretch of machine load, which is what makes
 * their ratio steadier than either rate.  Each rate is the median.
 */
function measureAll<K extends string>(runs: Record<K, (n: number) => number>): Record<K, Stat> {
  const keys = Object.keys(runs) as K[];
  const ns = {} as Record<K, number>;
  // Two passes: the first warms every path up (JIT, inline caches), so that
  // no measurement is sized while the code is still cold (a cold create+wait
  // sized its reps 10x too small, and then timed machine building and GC).
  for (const k of keys) calibrate(runs[k]);
  for (const k of keys) ns[k] = calibrate(runs[k]);
  const rates = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let i = 0; i < REPS; i++) {
    for (const k of keys) {
      rates[k].push(ns[k] / (runs[k](ns[k]) / 1000));
    }
  }
  const out = {} as Record<K, Stat>;
  for (const k of keys) {
    const sorted = [...rates[k]].sort((x, y) => x - y);
    const median = sorted[REPS >> 1]!;
    out[k] = { rate: median, best: sorted[REPS - 1]!, n: ns[k], rates: rates[k], spread: (sorted[REPS - 1]! - sorted[0]!) / median };
  }
  return out;
}

/* ---------- the run ---------- */

/**
 * The measurements, in groups.  Each group runs in a process of its own
 * (JMH's forks): V8 decides per allocation site whether to allocate in the
 * old generation (pretenuring), and a group that keeps 10,000 LWPs alive
 * made every later lifecycle in the same process allocate its LWPs there
 * (create+exit+wait ran 2.5x slower after the dispatcher's 10,000-runnable
 * machines than alone).  A ratio is always taken within one group: each
 * group measures the ceilings it is quoted against.
 */
const GROUPS = {
  life: () => measureAll({
    create1: (n) => modelCreateWait(n, 1, false),
    create4: (n) => modelCreateWait(n, 4, false),
    create1check: (n) => modelCreateWait(n, 1, true),
    create4check: (n) => modelCreateWait(n, 4, true),
    ceilCreate: ceilingCreateWait,
    pingpong: modelPingPong,               // n yields per LWP = n round trips
    ceilPingpong: ceilingPingPong,
  }),
  dispatch: () => measureAll({
    sw1: (n) => modelSwitches(n, 1),        // n switches, 4 LWPs per CPU
    sw2: (n) => modelSwitches(n, 2),
    sw8: (n) => modelSwitches(n, 8),
    sw64: (n) => modelSwitches(n, 64),
    rq1: (n) => modelSwitchCost(n, 1),      // n round trips, 1..10,000 runnable LWPs queued
    rq100: (n) => modelSwitchCost(n, 100),
    rq10k: (n) => modelSwitchCost(n, 10_000),
    ceilYield: ceilingPingPong,             // this group's own ceiling (2 yields per round trip)
  }),
  fresh: () => measureAll({
    fresh: (n) => freshRuns(n, false),          // n executions of a fresh 2-CPU machine
    freshCheck: (n) => freshRuns(n, true),
  }),
  park: () => measureAll({
    park0: (n) => modelCreateWaitBeside(n, 0, false),   // create+exit+wait beside 0 / 1,000 / 10,000 parked LWPs
    park0check: (n) => modelCreateWaitBeside(n, 0, true),
    park1k: (n) => modelCreateWaitBeside(n, 1000, false),
    park1kcheck: (n) => modelCreateWaitBeside(n, 1000, true),
    park10k: (n) => modelCreateWaitBeside(n, 10_000, false),
  }),
};
type GroupName = keyof typeof GROUPS;
type Results = { [G in GroupName]: ReturnType<(typeof GROUPS)[G]> };
interface Child { stats: Record<string, Stat>; freshDecisions: typeof freshDecisions; heap2k?: { bytes: number; perLwp: number }; heap64k?: { bytes: number; perLwp: number } }

const GROUP = process.env.BENCH_GROUP;
if (GROUP !== undefined) {
  // A child: one group, its result as the last line.
  const out: Child = { stats: {}, freshDecisions };
  if (GROUP === 'memory') {
    out.heap2k = parkedHeap(2000);
    out.heap64k = parkedHeap(65535);
  } else {
    if (GROUP === 'life') verifyAlternation(500);
    out.stats = GROUPS[GROUP as GroupName]();
  }
  console.log(JSON.stringify(out));
  process.exit(0);
}

/** Run one group in a fresh node process (with this process's loader flags) and read its result. */
function inChild(group: GroupName | 'memory'): Child {
  const text = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_GROUP: group }, encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(text.trim().split('\n').pop()!) as Child;
}

const t0 = performance.now();
console.log(`lwpkit bench: node ${process.version}, ${process.platform}/${process.arch}, ${os.cpus().length} host cpus`);
console.log(`median of ${REPS} interleaved reps of ~${TARGET_MS} ms each; spread = (max-min)/median over the reps;`);
console.log(`of ceiling = model/ceiling of the medians; best/best = the same from each one's fastest rep;`);
console.log(`each group of measurements runs in a process of its own\n`);

const groups = {} as Record<GroupName, Child>;
for (const g of Object.keys(GROUPS) as GroupName[]) groups[g] = inChild(g);
const memory = inChild('memory');
Object.assign(freshDecisions, groups.fresh.freshDecisions);
const r = Object.assign({}, ...Object.values(groups).map((c) => c.stats)) as Results['life'] & Results['dispatch'] & Results['fresh'] & Results['park'];
const heap2k = memory.heap2k!;
const heap64k = memory.heap64k!;

const rows: [string, keyof typeof r, keyof typeof r][] = [
  ['create+exit+wait, 1 cpu', 'create1', 'ceilCreate'],
  ['create+exit+wait, 4 cpu', 'create4', 'ceilCreate'],
  ['create+exit+wait, 1 cpu, check', 'create1check', 'ceilCreate'],
  ['create+exit+wait, 4 cpu, check', 'create4check', 'ceilCreate'],
  ['  ceiling: bare generator', 'ceilCreate', 'ceilCreate'],
  ['ping-pong round trips, 1 cpu', 'pingpong', 'ceilPingpong'],
  ['  ceiling: bare generators', 'ceilPingpong', 'ceilPingpong'],
];
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
// Switch rates are quoted against bare yields (2 per ceiling round trip).
const ceilYield = 2 * r.ceilYield.rate, ceilYieldBest = 2 * r.ceilYield.best;
const table = [['measurement', 'ops/s', 'reps n', 'spread', 'of ceiling', 'x slower', 'best/best']];
for (const [label, key, ceil] of rows) {
  const s = r[key], ratio = s.rate / r[ceil].rate;
  table.push([label, fmt(s.rate), fmt(s.n), `${(s.spread * 100).toFixed(1)}%`,
    key === ceil ? '-' : ratio.toPrecision(3), key === ceil ? '-' : (1 / ratio).toFixed(1),
    key === ceil ? '-' : (s.best / r[ceil].best).toPrecision(3)]);
}
const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
for (const row of table) console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
console.log('');
const swRows: [string, keyof typeof r][] = [['switches/s, 1 cpu, 4 LWPs', 'sw1'], ['switches/s, 2 cpu, 8 LWPs', 'sw2'], ['switches/s, 8 cpu, 32 LWPs', 'sw8'], ['switches/s, 64 cpu, 256 LWPs', 'sw64']];
const t2 = [['dispatcher', 'switches/s', 'reps n', 'spread', 'of bare yields', 'x slower', 'best/best']];
for (const [label, key] of swRows) {
  const st = r[key];
  t2.push([label, fmt(st.rate), fmt(st.n), `${(st.spread * 100).toFixed(1)}%`, (st.rate / ceilYield).toPrecision(3), (ceilYield / st.rate).toFixed(1), (st.best / ceilYieldBest).toPrecision(3)]);
}
const rqRows: [string, keyof typeof r][] = [['switch cost, 1 runnable', 'rq1'], ['switch cost, 100 runnable', 'rq100'], ['switch cost, 10,000 runnable', 'rq10k']];
for (const [label, key] of rqRows) {
  const st = r[key], sps = 2 * st.rate;
  t2.push([label, fmt(sps), fmt(st.n), `${(st.spread * 100).toFixed(1)}%`, (sps / ceilYield).toPrecision(3), (ceilYield / sps).toFixed(1), ((2 * st.best) / ceilYieldBest).toPrecision(3)]);
}
const w2 = t2[0]!.map((_, c) => Math.max(...t2.map((row) => row[c]!.length)));
for (const row of t2) console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(w2[c]!) : cell.padStart(w2[c]!))).join('  '));
const flat = r.rq1.rate / r.rq10k.rate;
console.log(`switch cost at 10,000 runnable / at 1 runnable: ${flat.toFixed(2)}x (flat = 1)`);
console.log(`\ncost of the checker: ${(r.create1.rate / r.create1check.rate).toFixed(1)}x (1 cpu), ${(r.create4.rate / r.create4check.rate).toFixed(1)}x (4 cpu)`);

// Exploration-sized runs, the checker and the lifecycle beside parked LWPs, memory.
const t3 = [['scale', 'figure', 'reps n', 'spread', 'note']];
const dec = (k: 'check' | 'nocheck') => freshDecisions[k];
t3.push(['fresh 2-cpu machine, main + 3 workers', `${fmt(r.fresh.rate)} exec/s`, fmt(r.fresh.n), `${(r.fresh.spread * 100).toFixed(1)}%`, `${fmt(r.fresh.rate * dec('nocheck'))} decisions/s (${dec('nocheck').toFixed(1)} per execution)`]);
t3.push(['  the same, checked', `${fmt(r.freshCheck.rate)} exec/s`, fmt(r.freshCheck.n), `${(r.freshCheck.spread * 100).toFixed(1)}%`, `${fmt(r.freshCheck.rate * dec('check'))} decisions/s`]);
const ck0 = r.park0.rate / r.park0check.rate, ck1k = r.park1k.rate / r.park1kcheck.rate;
t3.push(['checker cost, 0 parked LWPs', `${ck0.toFixed(2)}x`, fmt(r.park0check.n), `${(r.park0check.spread * 100).toFixed(1)}%`, 'create+exit+wait, unchecked/checked rate']);
t3.push(['checker cost, 1,000 parked LWPs', `${ck1k.toFixed(2)}x`, fmt(r.park1kcheck.n), `${(r.park1kcheck.spread * 100).toFixed(1)}%`, `growth ${(ck1k / ck0).toFixed(2)}x (flat = 1)`]);
const live10k = r.park0.rate / r.park10k.rate;
t3.push(['lifecycle, 10,000 live LWPs / none', `${live10k.toFixed(2)}x`, fmt(r.park10k.n), `${(r.park10k.spread * 100).toFixed(1)}%`, 'cost growth (flat = 1)']);
t3.push(['heap per parked LWP', `${(heap2k.perLwp / 1024).toFixed(2)} KiB`, '2,000', '-', 'heap after GC, beyond an empty machine']);
t3.push(['65,535 live LWPs (maxlwp 65535)', `${(heap64k.bytes / 1048576).toFixed(1)} MB`, '65,535', '-', `${(heap64k.perLwp / 1024).toFixed(2)} KiB each`]);
const w3 = t3[0]!.map((_, c) => Math.max(...t3.map((row) => row[c]!.length)));
console.log('');
for (const row of t3) console.log(row.map((cell, c) => (c === 0 || c === 4 ? cell.padEnd(w3[c]!) : cell.padStart(w3[c]!))).join('  ').trimEnd());
console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

// Explore throughput (issue 11): bench/explore.ts.
const exploreRates = await benchExplore(10_000);

const round = (x: number, d = 4) => Number(x.toPrecision(d));
console.log(JSON.stringify({
  bench: 'lwpkit',
  node: process.version,
  reps: REPS,
  rates: Object.fromEntries(Object.entries(r).map(([k, s]) => [k, round(s.rate)])),
  spread: Object.fromEntries(Object.entries(r).map(([k, s]) => [k, round(s.spread, 3)])),
  // model rate / ceiling rate, and its inverse ("x slower")
  ratios: Object.fromEntries(rows.filter(([, k, c]) => k !== c).map(([, k, c]) => [k, round(r[k].rate / r[c].rate)])),
  slower: Object.fromEntries(rows.filter(([, k, c]) => k !== c).map(([, k, c]) => [k, round(r[c].rate / r[k].rate, 3)])),
  // the same ratio from the fastest rep of each: less hurt by other load
  bestRatios: Object.fromEntries(rows.filter(([, k, c]) => k !== c).map(([, k, c]) => [k, round(r[k].best / r[c].best)])),
  checkCost: { ncpu1: round(r.create1.rate / r.create1check.rate, 3), ncpu4: round(r.create4.rate / r.create4check.rate, 3) },
  // the dispatcher: switches/s over bare yields/s, and the switch cost's growth with the runnable LWPs
  switchRatios: Object.fromEntries(swRows.map(([, k]) => [k, round(r[k].rate / ceilYield)])),
  runnableRatios: Object.fromEntries(rqRows.map(([, k]) => [k, round((2 * r[k].rate) / ceilYield)])),
  switchCostGrowth10k: round(flat, 3),
  explore: exploreRates,
  fresh: { execPerSec: round(r.fresh.rate), decisionsPerSec: round(r.fresh.rate * dec('nocheck')), checkedExecPerSec: round(r.freshCheck.rate), checkedDecisionsPerSec: round(r.freshCheck.rate * dec('check')), decisionsPerExec: round(dec('nocheck'), 3) },
  checkCostParked: { parked0: round(ck0, 3), parked1000: round(ck1k, 3) },
  lifecycleGrowth10kLive: round(live10k, 3),
  heapPerParkedLwpKiB: round(heap2k.perLwp / 1024, 3),
  heap65535LwpsMB: round(heap64k.bytes / 1048576, 3),
}));
