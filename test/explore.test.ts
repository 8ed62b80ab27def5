/* The explorer (src/explore): decision space, strategies, schedules, shrinking, replay, workers, checkpoints. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Machine, type KEvent, type Sys } from '../src/index.ts';
import { Engine } from '../src/engine/engine.ts';
import { HALT, choice, type Gen } from '../src/engine/coroutine.ts';
import { SeededChooser } from '../src/engine/chooser.ts';
import { explore, replay, calibrate, exploreRun, STRATEGIES } from '../src/explore/explore.ts';
import { exploreParallel } from '../src/explore/workers.ts';
import { DfsStrategy } from '../src/explore/dfs.ts';
import { PctStrategy } from '../src/explore/pct.ts';
import { ExploreChooser, ReplayDivergence, runScenario, failureSignature } from '../src/explore/run.ts';
import { scheduleSize } from '../src/explore/schedule.ts';
import { scenario as racy } from './fixtures/explore-racy.ts';
import { BUGS } from '../bugs/planted.ts';

const RACY = resolve(import.meta.dirname, 'fixtures/explore-racy.ts');

function* worker(sys: Sys, n: number) {
  for (let i = 0; i < 3; i++) {
    yield* sys.compute(3 + n);
    yield* sys.schedYield();
  }
}
function* main(sys: Sys) {
  for (let i = 0; i < 3; i++) yield* sys.lwpCreate(worker, i);
  for (let i = 0; i < 3; i++) yield* sys.lwpWait(0);
}

test('every default answer is the default hardware: the seeds strategy replays new Machine({ seed }) event for event', () => {
  for (const seed of [1, 5, 9]) {
    const a = new Machine({ ncpu: 2, seed });
    const ea: KEvent[] = [];
    a.on((e) => ea.push(e));
    a.spawn(main, { name: 'main' });
    a.run({ maxTicks: 200_000 });
    const eb: KEvent[] = [];
    const out = runScenario({ ncpu: 2, main }, () => {
      const rng = new SeededChooser(seed);
      return { decide: (kind, n) => (kind === 'cpu' ? rng.choose(n) : 0) };
    }, (m) => m.on((e) => eb.push(e)));
    assert.equal(out.failure, null);
    assert.ok(out.log.kinds.includes('d') && out.log.kinds.includes('j'), 'the run asked delay and jitter decisions');
    assert.deepEqual(eb, ea);
  }
});

test('a deciding chooser is asked every kind of decision, each with at least two options', () => {
  const out = runScenario({ ncpu: 2, main }, () => ({ decide: () => 0 }));
  const kinds = new Set(out.log.kinds);
  for (const k of ['c', 'd', 'j', 'p']) assert.ok(kinds.has(k), `no '${k}' decision`);
  assert.ok(out.log.options.every((n) => n >= 2));
});

test('each strategy finds the lost update, and none fails the correct version', () => {
  const fixed = () => {
    const sc = racy();
    return { ...sc, check: () => null };
  };
  for (const strategy of STRATEGIES.filter((s) => s !== 'seeds')) {
    const r = explore(racy, { strategy, runs: 3000, seed: 1, shrink: false });
    assert.ok(r.found !== null, `${strategy} missed the lost update in ${r.runs} runs`);
    assert.match(r.found.message, /lost update: n = 1/);
    const ok = explore(fixed, { strategy, runs: 60, seed: 1 });
    assert.equal(ok.found, null, `${strategy} failed a correct run`);
  }
  // The race needs a timing that fixed tick costs never give: plain seeds miss it.
  assert.equal(explore(racy, { strategy: 'seeds', runs: 1000 }).found, null);
});

test('the clean kernel never fails a planted-bug scenario, under any strategy', () => {
  for (const b of BUGS) {
    for (const strategy of STRATEGIES) {
      const r = explore(b.scenario, { strategy, runs: 60, seed: 3, shrink: false });
      assert.equal(r.found, null, `${b.id} under ${strategy}: ${r.found?.message}`);
    }
  }
});

test('pct(d=1) finds a depth-1 ordering bug at least as often as its bound 1/n says', () => {
  // B must not run its step before A's: a depth-1 bug (one ordering constraint).
  const ordering = () => {
    const order: string[] = [];
    return {
      ncpu: 2,
      main: function* (sys: Sys) {
        const a = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(2); order.push('a'); });
        const b = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(2); order.push('b'); });
        yield* sys.lwpWait(a);
        yield* sys.lwpWait(b);
      },
      check: () => (order[0] === 'b' ? 'b ran before a' : null),
    };
  };
  const pct = new PctStrategy(1);
  calibrate(ordering, pct);
  const N = 400;
  let hits = 0;
  for (let r = 0; r < N; r++) if (exploreRun(ordering, pct, 7, r).failure !== null) hits++;
  const bound = pct.probability();
  assert.ok(bound > 0 && bound <= 1);
  assert.ok(hits / N >= bound * 0.8, `pct(d=1) hit ${hits}/${N}, bound ${bound}`);
  // And the plain default never does: the bug needs the schedule.
  assert.equal(explore(ordering, { strategy: 'seeds', runs: 200 }).found, null);
});

/*
 * dfs on a program small enough to count by hand: two CPUs; A takes one
 * choice point and halts, B halts at once.  The decisions: which CPU goes
 * first (2 options); A's choice point: go, hold, stall 3 or stall 20
 * ticks; if A went on while B is still ready, which of them goes next.
 * Leaves (answers, non-default count):
 *   A first: go, B next (0,0,0)=0; go, A again (0,0,1)=1; hold or a stall (0,1) (0,2) (0,3)=1
 *   B first: A then goes (1,0)=1; A held or stalled (1,1) (1,2) (1,3)=2
 * so bound 0: 1 schedule, bound 1: 6, bound 2: 9.
 */
function tinyEngine(chooser: ExploreChooser): Engine {
  const e = new Engine(chooser, 100);
  e.hooks = { onQuantum: () => null, onAst: () => { throw new Error('no ast'); } };
  function* a(): Gen<never> { yield choice('x'); for (;;) yield HALT; }
  function* b(): Gen<never> { for (;;) yield HALT; }
  e.addCpu(e.newThread('a', a()));
  e.addCpu(e.newThread('b', b()));
  return e;
}
test('dfs is exhaustive on a program whose schedules are counted by hand', () => {
  for (const [bound, want] of [[0, 1], [1, 6], [2, 9], [3, 9]] as const) {
    const dfs = new DfsStrategy(bound);
    const seen = new Set<string>();
    let dfsRuns = 0;
    for (let run = 0; !dfs.exhausted(); run++, dfsRuns++) {
      assert.ok(run < 100, 'dfs does not terminate');
      const ch = new ExploreChooser();
      const e = tinyEngine(ch);
      ch.policy = dfs.begin({ engine: e, rng: new SeededChooser(1), run });
      assert.equal(e.run(1000, 1000), 'quiescent');
      seen.add(ch.log.answers.join(','));
      dfs.end(ch.log);
    }
    assert.equal(seen.size, want, `bound ${bound}: ${[...seen].join(' ')}`);
    // Iterative deepening reruns the smaller bounds' schedules: runs = sum of the levels' sizes.
    const runs = [1, 6, 9, 9].slice(0, bound + 1).reduce((a, b) => a + b, 0);
    assert.equal(dfsRuns, runs);
  }
});

test('dfs reports an exhausted bound on a kernel scenario', () => {
  const r = explore(BUGS[0]!.scenario, { strategy: 'dfs', bound: 1, runs: 5000 });
  assert.equal(r.found, null);
  assert.ok(r.exhausted !== undefined && r.exhausted.bound === 1 && r.exhausted.schedules === r.runs);
  assert.ok(r.runs > 10);
});

test('shrinking keeps the failure and does not grow the schedule; a JSON round trip replays it', () => {
  const r = explore(racy, { strategy: 'random', runs: 3000, seed: 2 });
  assert.ok(r.found !== null);
  const f = r.found;
  assert.ok(f.shrunkSize.nondefault <= f.size.nondefault);
  assert.deepEqual(scheduleSize(f.shrunk), f.shrunkSize);
  const again = replay(racy, JSON.parse(JSON.stringify(f.shrunk)));
  assert.equal(failureSignature(again.failure!), failureSignature(f.message));
  const orig = replay(racy, JSON.parse(JSON.stringify(f.schedule)));
  assert.equal(orig.failure, f.message);
});

test('a replay that diverges says where, and never guesses', () => {
  const r = explore(racy, { strategy: 'random', runs: 3000, seed: 2, shrink: false });
  const s = structuredClone(r.found!.schedule);
  const i = s.kinds.indexOf('d');
  s.kinds = s.kinds.slice(0, i) + 'j' + s.kinds.slice(i + 1);
  s.options[i] = 3;
  s.answers[i] = 0;
  assert.throws(() => replay(racy, s), (e: unknown) => e instanceof ReplayDivergence && new RegExp(`decision ${i} \\(delay`).test(e.message));
  const o = r.found!.schedule;
  const short = { ...o, kinds: o.kinds.slice(0, 5), options: o.options.slice(0, 5), answers: o.answers.slice(0, 5) };
  assert.throws(() => replay(racy, short), /replay diverged at decision 5 .*schedule ends after 5/);
  assert.throws(() => replay(racy, { lwpkit: '0.1.0' }), /not an lwpkit schedule/);
});

test('workers: 2 gives the same report as workers: 1', async () => {
  for (const strategy of ['portfolio'] as const) {
    const one = explore(racy, { strategy, runs: 3000, seed: 4 });
    const two = await exploreParallel(RACY, { strategy, runs: 3000, seed: 4, workers: 2 });
    assert.ok(one.found !== null);
    const strip = (r: typeof one) => ({ ...r, elapsedMs: 0 });
    assert.deepEqual(strip(two), strip(one));
  }
  const none1 = explore(racy, { strategy: 'seeds', runs: 200, seed: 4 });
  const none2 = await exploreParallel(RACY, { strategy: 'seeds', runs: 200, seed: 4, workers: 2 });
  assert.equal(none1.found, null);
  assert.deepEqual({ ...none2, elapsedMs: 0 }, { ...none1, elapsedMs: 0 });
});

test('a checkpoint file resumes an exploration where it stopped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lwpkit-ckpt-'));
  try {
    const file = join(dir, 'ck.json');
    let built = 0;
    const sc = () => { built++; return { ncpu: 2, main }; };
    const first = explore(sc, { strategy: 'random', runs: 100, seed: 1, checkpoint: file });
    assert.equal(first.runs, 100);
    assert.ok(existsSync(file));
    built = 0;
    const second = explore(sc, { strategy: 'random', runs: 250, seed: 1, checkpoint: file });
    assert.equal(built, 150, 'the resumed call ran the 150 remaining runs only (random needs no calibration run)');
    const whole = explore(sc, { strategy: 'random', runs: 250, seed: 1 });
    assert.equal(second.runs, 250);
    assert.deepEqual(second.perStrategy, whole.perStrategy);
    assert.equal(second.decisions, whole.decisions);
    assert.throws(() => explore(sc, { strategy: 'pct', runs: 10, seed: 1, checkpoint: file }), /belongs to random seed 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the lock-order detector reports a reversal with both acquisition paths, though no run deadlocked', async () => {
  const { runDetached, burn } = await import('../src/engine/coroutine.ts');
  const { kthreadCreate } = await import('../src/kern/proc.ts');
  const { mutexEnter, mutexExit } = await import('../src/kern/mutex.ts');
  const { KMutex } = await import('../src/kern/h/mutex.ts');
  const { formatReversal } = await import('../src/explore/lockorder.ts');
  // Two kernel threads take alpha and beta in opposite orders, 40 ticks apart: never at once.
  const sc = () => ({
    ncpu: 2,
    main: function* (sys: Sys) { yield* sys.compute(1); },
    setup: (m: Machine) => {
      const k = m.kernel;
      const a = new KMutex('alpha', false), b = new KMutex('beta', false);
      function* ab() { yield* mutexEnter(k, a); yield* mutexEnter(k, b); mutexExit(k, b); mutexExit(k, a); }
      function* ba() { yield burn(40); yield* mutexEnter(k, b); yield* mutexEnter(k, a); mutexExit(k, a); mutexExit(k, b); }
      nameKernelFunctions({ ab, ba });
      runDetached(kthreadCreate(k.cpus[0]!.idlelwp, 'ab', ab));
      runDetached(kthreadCreate(k.cpus[1]!.idlelwp, 'ba', ba));
    },
  });
  const { nameKernelFunctions } = await import('../src/explore/labels.ts');
  const r = explore(sc, { strategy: 'seeds', runs: 5 });
  assert.equal(r.found, null, 'no run deadlocked');
  assert.ok(r.lockOrder !== undefined && r.lockOrder.length === 1, JSON.stringify(r.lockOrder));
  const lor = r.lockOrder[0]!;
  assert.deepEqual([...lor.cycle].sort(), ['alpha', 'beta']);
  assert.equal(lor.paths.length, 2);
  const text = formatReversal(lor);
  assert.match(text, /alpha -> beta: lwp 0\.\d+ took alpha in lwktEntry > ab > mutexEnterChoice, then beta in lwktEntry > ab > mutexEnterChoice/);
  assert.match(text, /beta -> alpha: lwp 0\.\d+ took beta in lwktEntry > ba > mutexEnterChoice, then alpha in lwktEntry > ba > mutexEnterChoice/);
  // The clean kernel's own paths make no reversal on the planted-bug scenarios.
  for (const b of BUGS) assert.equal(explore(b.scenario, { strategy: 'random', runs: 40 }).lockOrder, undefined, b.id);
});

test('a kernel panic names its path and the locks held: a sleep with a spin lock held, a release by a non-owner', async () => {
  const { runDetached, burn } = await import('../src/engine/coroutine.ts');
  const { kthreadCreate } = await import('../src/kern/proc.ts');
  const { mutexEnter, mutexExit } = await import('../src/kern/mutex.ts');
  const { KMutex, CondVar } = await import('../src/kern/h/mutex.ts');
  const { cvWait } = await import('../src/kern/sleepq.ts');
  const { nameKernelFunctions } = await import('../src/explore/labels.ts');
  const withThreads = (bodies: Record<string, (m: Machine) => (l: any) => Gen<void>>) => () => ({
    ncpu: 2,
    main: function* (sys: Sys) { yield* sys.compute(1); },
    setup: (m: Machine) => {
      let i = 0;
      for (const [name, body] of Object.entries(bodies)) {
        const b = body(m);
        nameKernelFunctions({ [name]: b });
        runDetached(kthreadCreate(m.kernel.cpus[i++ % 2]!.idlelwp, name, b));
      }
    },
  });
  const sleeper = withThreads({
    sleeper: (m) => function* sleeper(l) {
      const k = m.kernel;
      const spinlk = new KMutex('spinlk', true), mtx = new KMutex('mtx', false);
      yield* mutexEnter(k, spinlk);
      yield* mutexEnter(k, mtx);
      yield* cvWait(l, new CondVar('nothing'), mtx);
    },
  });
  const a = explore(sleeper, { strategy: 'seeds', runs: 1, shrink: false });
  assert.match(a.found!.message, /^panic: mi_switch: 0\.\d+ switching away holding 1 lock\(s\) \[cpu0, lwp 0\.\d+ in lwktEntry > sleeper > cvWaitCommon > sleepqBlock > miSwitch; holding spinlk \(spin\) taken in lwktEntry > sleeper > mutexEnterChoice\]$/);

  const shared = new WeakMap<Machine, InstanceType<typeof KMutex>>();
  const lockOf = (m: Machine) => { let x = shared.get(m); if (!x) shared.set(m, (x = new KMutex('victim', false))); return x; };
  const thief = withThreads({
    holder: (m) => function* holder() { yield* mutexEnter(m.kernel, lockOf(m)); yield burn(30); mutexExit(m.kernel, lockOf(m)); },
    releaser: (m) => function* releaser() { yield burn(10); mutexExit(m.kernel, lockOf(m)); },
  });
  const b = explore(thief, { strategy: 'seeds', runs: 1, shrink: false });
  assert.match(b.found!.message, /^panic: mutex_exit: victim not owned by lwp 0\.\d+ \(owner lwp 0\.\d+\) \[cpu1, lwp 0\.\d+ in lwktEntry > releaser > mutexExit\]$/);
});

test('CPUs held back at every choice point still let the run stop at maxTicks', () => {
  // While main is held, the only timeline event is the sleeper's timer, far past maxTicks.
  function* forever(sys: Sys) {
    yield* sys.lwpCreate(function* (s: Sys) { yield* s.sleep(10_000); });
    for (;;) { yield* sys.compute(5); yield* sys.schedYield(); }
  }
  const out = runScenario({ ncpu: 2, main: forever, maxTicks: 500 }, () => ({ decide: (kind) => (kind === 'delay' ? 1 : 0) }));
  assert.equal(out.result.outcome, 'limit');
  assert.ok(out.result.ticks <= 500, `ran to tick ${out.result.ticks}`);
  assert.ok(out.log.answers.some((a, i) => a === 1 && out.log.kinds[i] === 'd'), 'CPUs were held');
});
