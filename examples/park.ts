/*
 * Park and unpark: an LWP parks until another unparks it, and an unpark that comes before the park is kept.
 * Run with: lwpkit run example:park --ktrace park.txt
 *
 * Watch for: _lwp_park sleeps on "parked" until _lwp_unpark wakes it.  An
 * unpark that arrives while the target is not parked is not lost: it
 * stays pending, and the target's next park returns EALREADY at once
 * (this is what lets a thread library unpark a waiter that has not gone
 * to sleep yet).  A park with a timeout that nobody unparks returns
 * ETIMEDOUT.
 */
import { SyscallError, type Sys } from '../src/index.ts';

/** Park, and say how it ended: 'unparked', or the errno (EALREADY, ETIMEDOUT, ...). */
function* park(sys: Sys, timeout?: number) {
  try {
    yield* sys.lwpPark(timeout === undefined ? {} : { timeout });
    return 'unparked';
  } catch (e) {
    if (e instanceof SyscallError) return e.code;
    throw e;
  }
}

export function* main(sys: Sys) {
  const seen: string[] = [];
  const waiter = yield* sys.lwpCreate(function* (s: Sys) {
    yield* s.compute(50);
    seen.push(yield* park(s));    // main's unpark came first: EALREADY at once
    seen.push(yield* park(s));    // nothing pending: sleeps until main unparks it
  }, undefined, { name: 'waiter' });

  yield* sys.lwpUnpark(waiter);   // it is not parked yet: the unpark is left pending
  yield* sys.sleep(150);          // meanwhile it parks for real
  yield* sys.lwpUnpark(waiter);   // wakes it
  yield* sys.lwpWait(waiter);

  seen.push(yield* park(sys, 50)); // nobody unparks main: ETIMEDOUT after 50 ticks
  if (seen.join() !== 'EALREADY,unparked,ETIMEDOUT') throw new Error(`unexpected: ${seen.join()}`);
}
