/*
 * Planted kernel bugs: each a small textual patch to src/kern, written as
 * {file, find, replace} so that it survives refactors that move code around
 * (test/explore-bugs.test.ts checks that every `find` occurs exactly once
 * in the tree), with a scenario that exposes it under some schedules.
 * The scenarios are correct programs: on the clean kernel no schedule
 * fails them.  `npm run bugs` (bugs/run.ts) applies each patch to a
 * temporary copy of the repository, never to the tree.
 */
import type { ScenarioFn } from '../src/explore/run.ts';
import type { Sys } from '../src/sys/sys.ts';

export interface PlantedBug {
  id: string;
  /** The kind of mistake, as a kernel developer would make it. */
  title: string;
  file: string;
  find: string;
  replace: string;
  scenario: ScenarioFn;
}

/** Ignore a system call's error (the scenarios only care that nothing hangs or panics). */
function* tolerate(g: Generator<any, unknown, any>): Generator<any, void, any> {
  try { yield* g; } catch { /* errno: fine */ }
}

/** main unparks a child that is on its way to park: the unpark must never be lost. */
const parkRace = (childWork: number): ScenarioFn => () => ({
  ncpu: 2,
  main: function* (sys: Sys) {
    const lid = yield* sys.lwpCreate(function* (s: Sys) {
      yield* s.compute(childWork);
      yield* tolerate(s.lwpPark());
    });
    yield* sys.lwpUnpark(lid);
    yield* sys.lwpWait(lid);
  },
});

/** main waits for a child that exits soon: the exit must never be missed. */
const exitRace = (childWork: number): ScenarioFn => () => ({
  ncpu: 2,
  main: function* (sys: Sys) {
    const lid = yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(childWork); });
    yield* sys.lwpWait(lid);
  },
});

export const BUGS: PlantedBug[] = [
  {
    id: 'park-check-unlocked',
    title: 'lwp_park tests the pending-unpark flag before taking the locks that protect it',
    file: 'src/kern/park.ts',
    find: `  const sq = yield* sleeptabLookup(k, wchan);
  // An unpark (or a wakeup) that came before we got here: do not sleep.
  yield* lwpLock(l);
  if ((l.flag & (LW_CANCELLED | LW_UNPARKED)) !== 0) {`,
    replace: `  const pending = (l.flag & (LW_CANCELLED | LW_UNPARKED)) !== 0;
  const sq = yield* sleeptabLookup(k, wchan);
  yield* lwpLock(l);
  if (pending) {`,
    scenario: parkRace(4),
  },
  {
    id: 'unpark-stale-parked',
    title: 'lwp_unpark decides whether the target is parked before locking it',
    file: 'src/kern/park.ts',
    find: `  yield* lwpLock(t);
  if (isParked(t)) {`,
    replace: `  const parked = isParked(t);
  yield* lwpLock(t);
  if (parked) {`,
    scenario: parkRace(3),
  },
  {
    id: 'cv-interlock-early',
    title: 'cv_wait drops the interlock before it is on the sleep queue (a lost wakeup)',
    file: 'src/kern/sleepq.ts',
    find: `  const sq = yield* sleeptabLookup(k, cv);
  yield* sleepqEnter(sq, l);
  sleepqEnqueue(sq, cv, cv.wmesg, l);
  mutexExit(k, mtx);`,
    replace: `  mutexExit(k, mtx);
  const sq = yield* sleeptabLookup(k, cv);
  yield* sleepqEnter(sq, l);
  sleepqEnqueue(sq, cv, cv.wmesg, l);`,
    scenario: exitRace(3),
  },
  {
    id: 'exit-no-wakeup',
    title: 'lwp_exit forgets to wake the LWPs waiting in lwp_wait',
    file: 'src/kern/lwp.ts',
    find: `  p.nrlwps--;
  yield* cvBroadcast(k, p.lwpcv);
  lwpctlExited(l);`,
    replace: `  p.nrlwps--;
  lwpctlExited(l);`,
    scenario: exitRace(0),
  },
  {
    id: 'wait-deadlock-off-by-one',
    title: "lwp_wait1's deadlock test is off by one (< for <=)",
    file: 'src/kern/lwp.ts',
    find: `p.nrlwps + p.nzlwps - p.ndlwps <= p.nlwpwait`,
    replace: `p.nrlwps + p.nzlwps - p.ndlwps < p.nlwpwait`,
    scenario: () => ({
      ncpu: 2,
      main: function* (sys: Sys) {
        yield* sys.lwpCreate(function* (s: Sys) { yield* tolerate(s.lwpWait(0)); });
        yield* tolerate(sys.lwpWait(0));
      },
    }),
  },
  {
    id: 'unpark-all-relock',
    title: "_lwp_unpark_all's loop does not retake the sleep queue lock after a slow unpark",
    file: 'src/kern/park.ts',
    find: `    yield* unparkSlow(l, target); // ESRCH: skipped
    yield* mutexEnter(k, sq.lock);`,
    replace: `    yield* unparkSlow(l, target); // ESRCH: skipped`,
    scenario: () => ({
      ncpu: 2,
      main: function* (sys: Sys) {
        const parker = function* (s: Sys) { yield* s.compute(1); yield* tolerate(s.lwpPark()); };
        const a = yield* sys.lwpCreate(parker);
        const b = yield* sys.lwpCreate(parker);
        yield* sys.compute(8);
        yield* sys.lwpUnparkAll([a, b]);
        yield* sys.lwpWait(a);
        yield* sys.lwpWait(b);
      },
    }),
  },
  {
    id: 'free-on-cpu',
    title: 'lwp_free frees an LWP without waiting for it to leave its CPU',
    file: 'src/kern/lwp.ts',
    find: `  yield* waitOffCpu(l);
  kassert((l.pflag & LP_RUNNING) === 0`,
    replace: `  kassert((l.pflag & LP_RUNNING) === 0`,
    scenario: exitRace(3),
  },
  {
    id: 'exit1-no-parent-wakeup',
    title: 'exit1 makes the process a zombie without waking its parent in wait',
    file: 'src/kern/exit.ts',
    find: `    yield* cvBroadcast(k, parent.waitcv);
    yield* mutexEnter(k, parent.lock);`,
    replace: `    yield* mutexEnter(k, parent.lock);`,
    scenario: () => ({
      ncpu: 2,
      main: function* (sys: Sys) {
        const pid = yield* sys.spawn(function* (s: Sys) { yield* s.compute(2); });
        yield* sys.compute(12);
        yield* sys.waitpid(pid);
      },
    }),
  },
  {
    id: 'wait-nlwpwait-leak',
    title: 'lwp_wait1 forgets to drop nlwpwait on the path that collects a zombie',
    file: 'src/kern/lwp.ts',
    find: `      l2.waiter = 0;
      p.nlwpwait--;`,
    replace: `      l2.waiter = 0;`,
    scenario: exitRace(1),
  },
  {
    id: 'single-no-wake-sleepers',
    title: 'thread_single (exit) does not wake interruptible sleepers, so exit waits for them forever',
    file: 'src/kern/single.ts',
    find: `      } else if (l2.stat === LSSLEEP && (l2.flag & LW_SINTR) !== 0) {
        yield* setrunnable(l2); // the sleep returns EINTR or ERESTART
      } else {`,
    replace: `      } else {`,
    scenario: () => ({
      ncpu: 2,
      main: function* (sys: Sys) {
        yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(3); yield* tolerate(s.lwpPark()); });
        yield* sys.compute(4);
        yield* sys.exit(0);
      },
    }),
  },
];
