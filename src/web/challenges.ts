/*
 * The challenges of "be the scheduler", built from the bundled examples.
 *
 * suspend-race is examples/cli-deadlock.ts turned into a race: a
 * suspender and its victim start together, and who gets the CPU first
 * decides whether _lwp_suspend finds its victim (and main's _lwp_wait
 * then sleeps forever on an LWP nobody will continue) or finds it gone
 * (ESRCH).  cycle is examples/cli-cycle.ts as it is.
 */
import type { Sys } from '../sys/sys.ts';
import { ESRCH } from '../kern/errno.ts';
import type { Recording } from '../trace/record.ts';
import type { Scenario } from './play.ts';
import { main as cycle } from '../../examples/cli-cycle.ts';

/** The victim computes a little and returns (its LWP exits, a zombie until main collects it). */
function* victim(s: Sys) {
  yield* s.compute(2);
}

/** Suspends LWP 2, the victim. */
function* suspender(s: Sys) {
  yield* s.lwpSuspend(2);
}

/** main waits for the victim, then the suspender. */
export function* suspendRace(sys: Sys) {
  yield* sys.lwpCreate(victim, undefined, { name: 'victim' });
  yield* sys.lwpCreate(suspender, undefined, { name: 'suspender' });
  yield* sys.lwpWait(2);
  yield* sys.lwpWait(3);
}

const sysretErrno = (rec: Recording, name: string, errno: number): boolean =>
  rec.events.some((e) => e.type === 'sysret' && e.name === name && e.errno === errno);

export const CHALLENGES: Scenario[] = [
  {
    id: 'wait-forever',
    title: 'Make _lwp_wait sleep forever',
    goal: 'Main waits for the victim with _lwp_wait(2). Schedule the CPUs so that the suspender suspends the victim before it can exit: main then sleeps forever, and the run ends in a deadlock.',
    from: 'examples/cli-deadlock.ts, as a race between suspender and victim',
    ncpu: 3,
    program: suspendRace,
    won: (rec) => rec.meta.outcome === 'deadlock',
    hint: 'Give the suspender (1.3) the CPU whenever you can, and hold the victim (1.2) back.',
  },
  {
    id: 'suspend-esrch',
    title: 'Make the suspend return ESRCH',
    goal: 'Let the victim finish first: the suspender\'s _lwp_suspend(2) then finds no live LWP 2 and returns ESRCH.',
    from: 'examples/cli-deadlock.ts, as a race between suspender and victim',
    ncpu: 3,
    program: suspendRace,
    won: (rec) => sysretErrno(rec, '_lwp_suspend', ESRCH),
    hint: 'Run the victim (1.2) to its exit before the suspender looks it up.',
  },
  {
    id: 'cycle',
    title: 'Watch _lwp_wait miss a three-LWP cycle',
    goal: 't1 waits for t2, t2 for t3, t3 for t1. Whatever you choose, the run deadlocks: lwp_wait1 only refuses a target that waits for its caller. See the cycle in the wait-for graph.',
    from: 'examples/cli-cycle.ts',
    ncpu: 2,
    program: cycle,
    won: (rec) => rec.meta.outcome === 'deadlock' && (rec.waitFor?.cycles.length ?? 0) > 0,
  },
];
