/* Trace exporters: Chrome JSON (checked by checkTrace), ftrace text, kdump text. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, LWP_DETACHED, SyscallError, type KEvent, type RunResult, type Sys } from '../src/index.ts';
import { toChromeTrace, MACHINE_PID, CPU_TID_BASE, type ChromeTrace, type TraceEvent } from '../src/trace/chrome.ts';
import { checkTrace } from '../src/trace/checkTrace.ts';
import { namesFromMachine } from '../src/trace/common.ts';
import { toFtrace } from '../src/trace/ftrace.ts';
import { toKtrace } from '../src/trace/ktrace.ts';

// --- programs -------------------------------------------------------------

function* worker(sys: Sys, n: number) {
  yield* sys.compute(40 * n);
  yield* sys.sleep(5);
  yield* sys.compute(10);
}

/** The demo: workers, waits, ESRCH and EDEADLK, a detached LWP. */
function* demo(sys: Sys) {
  const lids: number[] = [];
  for (let i = 1; i <= 6; i++) lids.push(yield* sys.lwpCreate(worker, i, { name: `worker${i}` }));
  yield* sys.lwpCreate(worker, 1, { flags: LWP_DETACHED, name: 'detached' });
  for (let i = 0; i < lids.length; i++) yield* sys.lwpWait(0);
  for (const lid of [0, yield* sys.lwpSelf()]) {
    try {
      yield* sys.lwpWait(lid);
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
    }
  }
}

/** Many yields and short sleeps: lots of switches and migrations. */
function* churn(sys: Sys) {
  const spin = function* (s: Sys, n: number) {
    for (let i = 0; i < 8; i++) {
      yield* s.compute(3 + ((n * 7 + i) % 11));
      if (i % 3 === 0) yield* s.schedYield(); else yield* s.sleep(1 + (i % 2));
    }
  };
  for (let i = 0; i < 9; i++) yield* sys.lwpCreate(spin, i);
  const child = yield* sys.spawn(function* (s: Sys) { yield* s.compute(30); yield* s.exit(3); });
  for (let i = 0; i < 9; i++) yield* sys.lwpWait(0);
  yield* sys.waitpid(child);
}

/** A deadlock: LWP 2 suspends main, then exits; nothing continues main. */
function* stuck(sys: Sys) {
  yield* sys.lwpCreate(function* (s: Sys) { yield* s.lwpSuspend(1); }, undefined, { flags: LWP_DETACHED });
  yield* sys.compute(500);
}

interface Run { m: Machine; r: RunResult; events: KEvent[] }

function record(program: (sys: Sys) => Generator<any, unknown, any>, seed: number, ncpu = 4): Run {
  const m = new Machine({ ncpu, seed });
  const events: KEvent[] = [];
  m.on((e) => events.push(e));
  m.spawn(program, { name: program.name });
  const r = m.run({ maxTicks: 1_000_000 });
  return { m, r, events };
}

function exportRun(run: Run): ChromeTrace {
  const trace = toChromeTrace(run.events, { endTicks: run.r.ticks, deadlock: run.r.blocked, names: namesFromMachine(run.m) });
  return JSON.parse(JSON.stringify(trace)) as ChromeTrace;
}

// --- Chrome trace ---------------------------------------------------------

for (const [name, program] of [['demo', demo], ['churn', churn]] as const) {
  for (const seed of [1, 2, 3, 7]) {
    test(`chrome trace of ${name} (seed ${seed}) passes checkTrace after a JSON round trip`, () => {
      const run = record(program, seed);
      assert.equal(run.r.outcome, 'idle');
      const trace = exportRun(run);
      assert.deepEqual(checkTrace(trace), []);
      assert.ok(trace.displayTimeUnit === 'ns' || trace.displayTimeUnit === 'ms');
      const ev = trace.traceEvents;
      // A slice per CPU that ran something, flows, counters and metadata.
      const cpuSlices = ev.filter((e) => e.ph === 'X' && e.pid === MACHINE_PID && e.tid! >= CPU_TID_BASE);
      assert.ok(cpuSlices.length > 0);
      assert.ok(ev.some((e) => e.ph === 's') && ev.some((e) => e.ph === 'f' && e.bp === 'e'));
      assert.ok(ev.some((e) => e.ph === 'C' && e.name === 'live LWPs'));
      assert.ok(ev.some((e) => e.ph === 'M' && e.name === 'thread_name' && (e.args as { name: string }).name === 'cpu0'));
      // Each switch's target shows up as a CPU slice on that CPU.
      const sw = run.events.filter((e): e is Extract<KEvent, { type: 'switch' }> => e.type === 'switch' && e.toPid > 0);
      for (const s of sw.slice(0, 20)) {
        assert.ok(cpuSlices.some((x) => x.tid === CPU_TID_BASE + s.cpu && (x.args as { pid: number; lid: number }).pid === s.toPid
          && (x.args as { lid: number }).lid === s.toLid && x.ts! <= s.t + 1 && x.ts! + x.dur! >= s.t), `slice for switch at ${s.t}`);
      }
      // No LWP is on two CPUs at once.
      const byLwp = new Map<string, TraceEvent[]>();
      for (const x of cpuSlices) {
        const a = x.args as { pid: number; lid: number };
        const k = `${a.pid}.${a.lid}`;
        byLwp.set(k, [...(byLwp.get(k) ?? []), x]);
      }
      for (const [k, xs] of byLwp) {
        xs.sort((a, b) => a.ts! - b.ts!);
        for (let i = 1; i < xs.length; i++) assert.ok(xs[i - 1]!.ts! + xs[i - 1]!.dur! <= xs[i]!.ts! + 1e-6, `${k} on two CPUs at ${xs[i]!.ts}`);
      }
    });
  }
}

test('state slices carry the wait channel while asleep', () => {
  const trace = exportRun(record(demo, 1));
  const sleeps = trace.traceEvents.filter((e) => e.ph === 'X' && e.name === 'SLEEP');
  assert.ok(sleeps.length > 0);
  for (const s of sleeps) assert.equal(typeof (s.args as { wchan?: string }).wchan, 'string');
});

test('a deadlock is marked, and the trace still checks', () => {
  const run = record(stuck, 1, 2);
  assert.equal(run.r.outcome, 'deadlock');
  const trace = exportRun(run);
  assert.deepEqual(checkTrace(trace), []);
  assert.ok(trace.traceEvents.some((e) => e.ph === 'i' && e.name === 'deadlock' && e.s === 'g'));
  assert.ok(trace.traceEvents.some((e) => e.ph === 'i' && e.name === 'blocked' && e.pid === 1));
});

test('panic events become global instants', () => {
  const events: KEvent[] = [
    { t: 0, cpu: 0, pid: 1, lid: 1, type: 'state', from: 'RUN', to: 'ONPROC', why: 'switch' },
    { t: 5, cpu: 0, pid: 1, lid: 1, type: 'panic', message: 'lwp_exit: boom' },
  ];
  const trace = JSON.parse(JSON.stringify(toChromeTrace(events, { ncpu: 1 }))) as ChromeTrace;
  assert.deepEqual(checkTrace(trace), []);
  assert.ok(trace.traceEvents.some((e) => e.ph === 'i' && e.name === 'panic' && (e.args as { message: string }).message === 'lwp_exit: boom'));
});

test('an LWP seen on a new CPU before its old CPU switched away is moved, not doubled', () => {
  const events: KEvent[] = [
    { t: 0, cpu: 0, pid: 1, lid: 1, type: 'state', from: 'RUN', to: 'ONPROC', why: 'switch' },
    { t: 0, cpu: 0, pid: 0, lid: 1, type: 'switch', toPid: 1, toLid: 1, voluntary: true },
    { t: 3, cpu: 0, pid: 1, lid: 1, type: 'state', from: 'ONPROC', to: 'RUN', why: 'preempt' },
    { t: 3, cpu: 1, pid: 1, lid: 1, type: 'state', from: 'RUN', to: 'ONPROC', why: 'switch' },
    { t: 3, cpu: 0, pid: 1, lid: 1, type: 'switch', toPid: 0, toLid: 1, voluntary: false },
    { t: 3, cpu: 1, pid: 0, lid: 2, type: 'switch', toPid: 1, toLid: 1, voluntary: true },
  ];
  const trace = JSON.parse(JSON.stringify(toChromeTrace(events, { ncpu: 2, endTicks: 10 }))) as ChromeTrace;
  assert.deepEqual(checkTrace(trace), []);
  const cpu = trace.traceEvents.filter((e) => e.ph === 'X' && e.pid === MACHINE_PID && e.tid! >= CPU_TID_BASE);
  assert.equal(cpu.length, 2);
  assert.ok(cpu[0]!.ts! + cpu[0]!.dur! <= cpu[1]!.ts!);
});

// --- checkTrace negatives -------------------------------------------------

const M = (tid: number) => ({ name: 'thread_name', ph: 'M', pid: 1, tid, args: { name: 't' } });

test('checkTrace rejects overlapping slices on one track', () => {
  const bad = { traceEvents: [M(1), { name: 'a', ph: 'X', ts: 0, dur: 10, pid: 1, tid: 1 }, { name: 'b', ph: 'X', ts: 5, dur: 10, pid: 1, tid: 1 }] };
  const p = checkTrace(bad);
  assert.equal(p.length, 1);
  assert.match(p[0]!, /overlaps/);
  // The same slices on two tracks, nested ones, and touching ones are fine.
  assert.deepEqual(checkTrace([{ name: 'a', ph: 'X', ts: 0, dur: 10, pid: 1, tid: 1 }, { name: 'b', ph: 'X', ts: 5, dur: 10, pid: 1, tid: 2 }]), []);
  assert.deepEqual(checkTrace([{ name: 'a', ph: 'X', ts: 0, dur: 10, pid: 1, tid: 1 }, { name: 'b', ph: 'X', ts: 2, dur: 3, pid: 1, tid: 1 }, { name: 'c', ph: 'X', ts: 10, dur: 1, pid: 1, tid: 1 }]), []);
});

test('checkTrace rejects B/E overlapping an X, unbalanced B/E, and mismatched names', () => {
  assert.match(checkTrace([{ name: 'a', ph: 'B', ts: 0, pid: 1, tid: 1 }, { name: 'b', ph: 'X', ts: 1, dur: 10, pid: 1, tid: 1 }, { ph: 'E', ts: 5, pid: 1, tid: 1 }]).join('\n'), /overlaps/);
  assert.match(checkTrace([{ name: 'a', ph: 'B', ts: 0, pid: 1, tid: 1 }]).join('\n'), /never ended/);
  assert.match(checkTrace([{ ph: 'E', ts: 0, pid: 1, tid: 1 }]).join('\n'), /no open B/);
  assert.match(checkTrace([{ name: 'a', ph: 'B', ts: 0, pid: 1, tid: 1 }, { name: 'b', ph: 'E', ts: 1, pid: 1, tid: 1 }]).join('\n'), /does not match/);
});

test('checkTrace rejects bad phases, timestamps, counters and unbound flows', () => {
  assert.match(checkTrace([{ name: 'a', ph: 'Q', ts: 0, pid: 1, tid: 1 }]).join(), /unknown phase/);
  assert.match(checkTrace([{ name: 'a', ph: 'X', ts: '0', dur: 1, pid: 1, tid: 1 }]).join(), /ts must be/);
  assert.match(checkTrace([{ name: 'a', ph: 'X', ts: 0, pid: 1, tid: 1 }]).join(), /dur must be/);
  assert.match(checkTrace([{ name: 'c', ph: 'C', ts: 0, pid: 1, args: { n: '3' } }]).join(), /not a finite number/);
  assert.match(checkTrace([{ name: 'c', ph: 'C', ts: 0, pid: 1 }]).join(), /args must be/);
  assert.match(checkTrace([
    { name: 'a', ph: 'X', ts: 0, dur: 1, pid: 1, tid: 1 },
    { name: 'w', ph: 's', ts: 0.5, pid: 1, tid: 1, cat: 'w', id: 1 },
    { name: 'w', ph: 'f', bp: 'e', ts: 4, pid: 1, tid: 2, cat: 'w', id: 1 },
  ]).join(), /not bound/);
  assert.match(checkTrace([{ name: 'w', ph: 'f', bp: 'e', ts: 4, pid: 1, tid: 2, cat: 'w', id: 9 }]).join(), /no open start/);
  assert.match(checkTrace({ traceEvents: [], displayTimeUnit: 'us' }).join(), /displayTimeUnit/);
  assert.match(checkTrace(42).join(), /not a trace/);
});

// --- ftrace ---------------------------------------------------------------

/**
 * A parser written from Perfetto's systrace text grammar
 * (SystraceLineTokenizer + SystraceLineParser): the line regex, then
 * space-separated args split at '='.
 */
const LINE = /-(\d+)\s+\(?\s*(\d+|-+)?\)?\s?\[(\d+)\]\s*[a-zA-Z0-9.]{0,4}\s+(\d+\.\d+):\s+(\S+):/;
interface FLine { task: string; pid: number; tgid: string | undefined; cpu: number; tsNs: number; event: string; args: Map<string, string> }
function parseFtrace(text: string): FLine[] {
  const out: FLine[] = [];
  const lines = text.split('\n');
  assert.equal(lines[0], '# tracer: nop');
  for (const l of lines) {
    if (l.startsWith('#') || l.trim() === '') continue;
    const m = LINE.exec(l);
    assert.ok(m, `not a systrace line: ${l}`);
    const args = new Map<string, string>();
    for (const tok of l.slice(m.index + m[0].length).trim().split(' ')) {
      if (!tok.includes('=')) { args.set('name', tok); continue; }
      const [k, v] = tok.split('=');
      args.set(k!, v ?? '');
    }
    out.push({ task: l.slice(0, m.index).trim(), pid: Number(m[1]), tgid: m[2], cpu: Number(m[3]), tsNs: Math.round(Number(m[4]) * 1e9), event: m[5]!, args });
  }
  return out;
}

for (const tgid of [true, false]) {
  test(`ftrace text (tgid ${tgid}) follows the systrace grammar and the switches chain per CPU`, () => {
    const run = record(churn, 2);
    const text = toFtrace(run.events, { names: namesFromMachine(run.m), tgid });
    const lines = parseFtrace(text);
    const switches = run.events.filter((e) => e.type === 'switch');
    assert.equal(lines.filter((l) => l.event === 'sched_switch').length, switches.length);
    assert.ok(lines.some((l) => l.event === 'sched_waking'));
    assert.ok(lines.some((l) => l.event === 'sched_wakeup_new'));
    assert.ok(lines.some((l) => l.event === 'sched_process_exit'));
    let last = 0;
    const current = new Map<number, number>();
    for (const l of lines) {
      assert.ok(l.tsNs >= last, 'timestamps never decrease');
      last = l.tsNs;
      if (l.event !== 'sched_switch') continue;
      for (const k of ['prev_comm', 'prev_pid', 'prev_prio', 'prev_state', 'next_comm', 'next_pid', 'next_prio']) assert.ok(l.args.has(k), k);
      assert.match(l.args.get('prev_state')!, /^(R\+?|S|D|T|Z)$/);
      assert.equal(Number(l.args.get('prev_pid')), l.pid, 'the line is written by prev');
      assert.equal(l.task, l.args.get('prev_comm'));
      // prev is what the previous switch on this CPU switched to (idle, 0, at first).
      assert.equal(Number(l.args.get('prev_pid')), current.get(l.cpu) ?? 0);
      current.set(l.cpu, Number(l.args.get('next_pid')));
      if (tgid) assert.ok(l.tgid !== undefined);
    }
  });
}

test('ftrace comms never hold spaces or =', () => {
  const events: KEvent[] = [
    { t: 0, cpu: -1, pid: 0, lid: 1, type: 'proc', what: 'spawn', detail: 'pid 1 my prog=x' },
    { t: 0, cpu: 0, pid: 0, lid: 1, type: 'switch', toPid: 1, toLid: 1, voluntary: true },
  ];
  const l = parseFtrace(toFtrace(events, { ncpu: 1 }));
  assert.equal(l[0]!.args.get('next_comm'), 'my_prog_x');
});

// --- ktrace ---------------------------------------------------------------

test('kdump text: CALL/RET pairs, errno names, context switches', () => {
  const run = record(demo, 1);
  const text = toKtrace(run.events, { names: namesFromMachine(run.m) });
  const lines = text.trimEnd().split('\n');
  const rec = /^ *(\d+) +(\d+) (\S+) +(\d+\.\d{9}) (CALL|RET|CSW) +(.*)$/;
  for (const l of lines) assert.match(l, rec);
  assert.ok(lines.some((l) => / CALL  _lwp_create\(worker,1,/.test(l)));
  assert.ok(lines.some((l) => / RET   _lwp_wait -1 errno 3 ESRCH$/.test(l)));
  assert.ok(lines.some((l) => / RET   _lwp_wait -1 errno 11 EDEADLK$/.test(l)));
  assert.ok(lines.some((l) => / CSW   stop kernel$/.test(l)));
  assert.ok(lines.some((l) => / CSW   resume kernel$/.test(l)));
  // Every CALL of an LWP is followed by its RET before its next CALL.
  const open = new Map<string, string>();
  for (const l of lines) {
    const m = rec.exec(l)!;
    const key = `${m[1]}.${m[2]}`;
    if (m[5] === 'CALL') { assert.ok(!open.has(key), `${key} nested CALL`); open.set(key, m[6]!.split('(')[0]!); }
    if (m[5] === 'RET') { assert.equal(open.get(key), m[6]!.split(' ')[0]); open.delete(key); }
  }
  assert.equal(toKtrace(run.events, { pids: [99] }), '');
});
