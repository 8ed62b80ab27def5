/* The viewer's model without a browser: RunIndex against the machine's own m.ps(), and play mode's Game. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, type Sys } from '../src/index.ts';
import { Recorder } from '../src/trace/record.ts';
import { RunIndex, STATES, lstateOf } from '../src/web/model.ts';
import { RunObserver } from '../src/report/observe.ts';
import { MAXSLP_TICKS, psLines } from '../src/report/ps.ts';
import { DECISION_LABELS, Game } from '../src/web/play.ts';
import type { Chooser, DecisionKind } from '../src/engine/chooser.ts';
import { CHALLENGES, suspendRace } from '../src/web/challenges.ts';
import { main as workers } from '../examples/cli-workers.ts';

function recordWorkers() {
  const m = new Machine({ ncpu: 3, seed: 5, record: true });
  const r = new Recorder(m);
  m.spawn(workers, { name: 'workers' });
  return r.run({ program: 'workers', seed: 5 }).rec;
}

test('lanes and rows at every frame agree with the ps rows of that frame', () => {
  const rec = recordWorkers();
  const idx = new RunIndex(rec);
  let onproc = 0;
  for (let fi = 0; fi < rec.frames.length; fi++) {
    const c = rec.frames[fi]!.e;
    if (idx.frameAt(c) !== fi) continue; // several frames at one cursor: the last one counts
    const ps = idx.psAt(c);
    for (let cpu = 0; cpu < idx.ncpu; cpu++) {
      const segs = idx.cpuSegs[cpu]!;
      const s = segs[Math.min(RunIndex.firstAfter(segs, c, false), segs.length - 1)]!;
      // An ONPROC LWP is in its CPU's lane.  The lane may still show an LWP
      // that has left ONPROC but not yet switched away (mi_switch comes in a
      // later step): it is on that CPU all the same.
      const on = ps.find((r) => r.stat === 'ONPROC' && r.cpu === cpu && !idx.isIdle(r.pid, r.lid));
      const lane = s.v < 0 ? 'idle' : idx.lwps[s.v]!.key;
      if (on) {
        assert.equal(lane, `${on.pid}.${on.lid}`, `cpu${cpu} at cursor ${c}`);
        onproc++;
      } else if (lane !== 'idle') {
        const r = ps.find((x) => `${x.pid}.${x.lid}` === lane);
        assert.ok(r !== undefined && r.cpu === cpu && r.stat !== 'ONPROC', `cpu${cpu} at cursor ${c}: lane ${lane}, ps ${JSON.stringify(r)}`);
      }
    }
    for (const r of ps) {
      if (idx.isIdle(r.pid, r.lid)) continue;
      const row = idx.lwps[idx.byKey.get(`${r.pid}.${r.lid}`)!]!;
      const st = idx.stateAt(row, c);
      assert.equal(STATES[st.v], r.stat, `${row.key} at cursor ${c}`);
      if (r.stat === 'SLEEP') assert.equal(st.w, r.wchan);
    }
  }
  assert.ok(onproc > 10, 'LWPs were seen on CPUs');
});

test('tick stepping moves by whole ticks', () => {
  const idx = new RunIndex(recordWorkers());
  let c = 0;
  let n = 0;
  while (c < idx.n) {
    const next = idx.tickStep(c, 1);
    assert.ok(next > c);
    assert.ok(next === idx.n || idx.tickAt[next + 1]! > idx.tickAt[next]!, 'stops at the last event of a tick');
    assert.equal(idx.tickStep(next, -1) < next, true);
    c = next;
    n++;
  }
  assert.ok(n > 3);
});

test('a game replays the answers of a seeded run to the same end, and undo goes back exactly', () => {
  // Find a seed whose run deadlocks (the suspender wins the race).
  let choices: readonly number[] | null = null;
  let events = 0;
  for (let seed = 1; seed <= 60 && choices === null; seed++) {
    const m = new Machine({ ncpu: 3, seed, record: true });
    let n = 0;
    m.on(() => n++);
    m.spawn(suspendRace, { name: 'wait-forever' });
    if (m.run().outcome === 'deadlock') { choices = m.choices; events = n; }
  }
  assert.ok(choices !== null, 'some seed deadlocks');
  const g = new Game(CHALLENGES.find((c) => c.id === 'wait-forever')!);
  const seen: number[] = [];
  for (const a of choices) {
    const st = g.state();
    assert.ok(st.options !== null && a < st.options.length);
    seen.push(st.rec.events.length);
    g.choose(a);
  }
  const end = g.state();
  assert.equal(end.options, null);
  assert.equal(end.result.outcome, 'deadlock');
  assert.equal(end.rec.events.length, events);
  assert.equal(end.won, true);
  assert.ok(end.why.some((w) => w.key === '1.1' && /sleeps on lwpwait in _lwp_wait\(2\); only 1\.2 victim can end that, and that cannot move: stuck/.test(w.text) && w.stuck), end.why.map((w) => w.text).join('\n'));
  assert.ok(end.why.some((w) => w.key === '1.2' && w.stat === 'SUSPENDED'));
  g.undo();
  assert.equal(g.state().rec.events.length, seen[seen.length - 1]);
  assert.ok(g.state().options !== null);
  // No panic event of the pause leaks into the recording.
  assert.ok(!g.state().rec.events.some((e) => e.type === 'panic'));
});

test('the ESRCH challenge is met by letting the victim exit first', () => {
  const g = new Game(CHALLENGES.find((c) => c.id === 'suspend-esrch')!);
  // Always prefer the CPU running the victim, else the first option.
  const said = new Set<string>();
  for (let i = 0; i < 500 && g.state().options !== null; i++) {
    const o = g.state().options!;
    for (const x of o) said.add(x.what);
    const v = o.findIndex((x) => x.what.startsWith('1.2'));
    g.choose(v >= 0 ? v : 0);
  }
  const st = g.state();
  assert.equal(st.options, null);
  assert.equal(st.won, true, st.rec.meta.outcome);
  // The options say what the LWP on each CPU is in the middle of.
  assert.ok([...said].some((w) => /^1\.3 suspender, in _lwp_suspend\(2\)$/.test(w)), [...said].join(' | '));
  assert.ok([...said].some((w) => w === 'idle'));
});

test("STAT letters from a frame's rows and the rows' sleep times equal psLines with a RunObserver, 'I' included", () => {
  function* prog(sys: Sys) {
    yield* sys.lwpCreate(function* (s: Sys) { yield* s.sleep(5000); }, undefined, { name: 'long' });
    for (let i = 0; i < 10; i++) yield* sys.sleep(400);
    yield* sys.lwpWait(0);
  }
  const m0 = new Machine({ ncpu: 2, seed: 1 });
  const r = new Recorder(m0);
  m0.spawn(prog, { name: 'p' });
  const rec = r.run({ program: 'p' }).rec;
  const idx = new RunIndex(rec);
  const seen = new Set<string>();
  for (let fi = 0; fi < rec.frames.length; fi += 3) {
    const f = rec.frames[fi]!;
    if (idx.frameAt(f.e) !== fi) continue;
    const m = new Machine({ ncpu: 2, seed: 1 });
    const observer = new RunObserver(m);
    m.spawn(prog, { name: 'p' });
    m.run({ maxSteps: f.s });
    const want = psLines(m, { observer }).map((l) => l.stat);
    const got = idx.psAt(f.e).map((row) => {
      const since = idx.sleepSince(`${row.pid}.${row.lid}`, f.e);
      return lstateOf(row, since === undefined ? undefined : f.t - since, MAXSLP_TICKS);
    });
    assert.deepEqual(got, want, `frame ${fi} (step ${f.s}, tick ${f.t})`);
    for (const x of got) seen.add(x);
  }
  assert.ok(seen.has('I') && seen.has('S') && seen.has('OK'), [...seen].join(' '));
});

/** A deciding chooser that gives `answers` to every decision but jitter (0), then 0: what a deciding Game asks, outside the Game. */
class Answers implements Chooser {
  private i = 0;
  constructor(private readonly answers: readonly number[]) {}
  choose(): number { throw new Error('the engine asks decide()'); }
  decide(kind: DecisionKind): number { return kind === 'jitter' ? 0 : this.answers[this.i++] ?? 0; }
}

test('be the scheduler with delays: a stall is asked, answered, replayed, and undone', () => {
  const sc = CHALLENGES[0]!;
  const g = new Game(sc);
  g.setDecide(true);
  let guard = 0;
  // The first delay asked of a CPU running a user LWP.
  while (!(g.state().kind === 'delay' && g.state().about !== 'idle') && guard++ < 200) g.choose(0);
  const before = g.state();
  assert.equal(before.kind, 'delay');
  assert.deepEqual(before.options!.map((o) => o.what), DECISION_LABELS.delay);
  assert.ok(before.options!.every((o) => o.cpu === before.cpu && o.cpu >= 0));
  const n = g.answers.length;
  g.choose(3); // stall this CPU 20 ticks
  assert.deepEqual(g.kinds.slice(-1), ['delay']);
  const held = g.state();
  // The choice log of the run has the hold in it, and the same answers outside the Game give the same run.
  assert.equal(held.rec.choices.filter((c) => c === 3).length, g.answers.filter((c) => c === 3).length);
  const run = (answers: readonly number[]) => {
    const m = new Machine({ ncpu: sc.ncpu, chooser: new Answers(answers), record: true });
    const r = new Recorder(m);
    m.spawn(sc.program, { name: sc.id });
    return r.run({ program: sc.id }).rec.events;
  };
  const goOn = run([...g.answers.slice(0, n), 0]);
  const holdOn = run(g.answers);
  assert.notDeepEqual(holdOn, goOn, 'stalling the CPU changes the run');
  assert.deepEqual(held.rec.events, holdOn.slice(0, held.rec.events.length));
  g.undo();
  const back = g.state();
  assert.equal(back.kind, 'delay');
  assert.equal(back.cpu, before.cpu);
  assert.deepEqual(back.rec.events, before.rec.events);
  assert.deepEqual(g.kinds.length, n);
  // Off again: only CPUs are asked.
  g.setDecide(false);
  assert.equal(g.answers.length, 0);
  for (let i = 0; i < 20 && g.state().options !== null; i++) { assert.equal(g.state().kind, 'cpu'); g.auto(); }
});
