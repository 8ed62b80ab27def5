/*
 * Priority inversion without tokens: a low real-time LWP holds a mutex, a medium one starves it, the high one waits behind both.
 * Run with: lwpkit run example:priority-inversion --ncpu 1 --trace inversion.json
 *
 * Watch for: low (SCHED_FIFO 1) takes the mutex and is preempted by
 * medium (SCHED_FIFO 20), which computes for a long time.  high (SCHED_FIFO
 * 40) then wants the mutex, parks on it, and can run again only after
 * medium has finished and low has let go: the highest priority LWP waits
 * for the middle one.  Nothing here lends low a priority (no turnstiles).
 */
import { SCHED_FIFO, pthread, type Sys } from '../src/index.ts';

const m = new pthread.Mutex();

function* low(sys: Sys) {
  yield* pthread.mutexLock(sys, m);
  yield* sys.compute(50);                 // medium arrives in the middle of this
  yield* pthread.mutexUnlock(sys, m);
}

function* medium(sys: Sys) {
  yield* sys.compute(400);
}

function* high(sys: Sys) {
  yield* pthread.mutexLock(sys, m);       // blocked until low runs again
  yield* sys.compute(10);
  yield* pthread.mutexUnlock(sys, m);
}

export function* main(sys: Sys) {
  yield* sys.schedSetaffinity(0, [0]);    // everyone on one CPU (inherited)
  yield* sys.schedSetparam(yield* sys.lwpSelf(), SCHED_FIFO, 60);
  const l = yield* sys.lwpCreate(low, undefined, { name: 'low' });
  yield* sys.schedSetparam(l, SCHED_FIFO, 1);
  yield* sys.sleep(20);                   // low takes the mutex
  const md = yield* sys.lwpCreate(medium, undefined, { name: 'medium' });
  yield* sys.schedSetparam(md, SCHED_FIFO, 20);
  const h = yield* sys.lwpCreate(high, undefined, { name: 'high' });
  yield* sys.schedSetparam(h, SCHED_FIFO, 40);
  for (const lid of [l, md, h]) yield* sys.lwpWait(lid);
}
