/*
 * Cycle: t1 waits for t2, t2 for t3, t3 for t1; _lwp_wait misses it.
 *
 * lwp_wait1 refuses a wait (EDEADLK) only when the target waits for the
 * caller, or when every LWP of the process would be waiting.  Here main
 * exits first and stays a zombie nobody collects, so the process counts one
 * LWP that is not waiting, and the three-LWP cycle goes to sleep for good.
 * lwpkit run example:cycle exits with status 1 and prints the wait-for
 * graph with the cycle marked.
 */
import type { Sys } from '../src/index.ts';

/** Wait for LWP `target`. */
function* waiter(sys: Sys, target: number) {
  yield* sys.compute(10);
  yield* sys.lwpWait(target);
}

export function* main(sys: Sys) {
  // lids are handed out in order: main is 1, so t1, t2, t3 are 2, 3, 4.
  yield* sys.lwpCreate(waiter, 3, { name: 't1' });
  yield* sys.lwpCreate(waiter, 4, { name: 't2' });
  yield* sys.lwpCreate(waiter, 2, { name: 't3' });
  yield* sys.lwpExit();
}
