/*
 * _lwp_wakeup: one LWP kicks another out of an interruptible sleep, which returns EINTR.
 * Run with: lwpkit run example:wakeup --ktrace wakeup.txt
 *
 * Watch for: _lwp_wakeup of an LWP asleep interruptibly makes its sleep
 * return EINTR.  Of an LWP that is not asleep it fails with ENODEV, but it
 * marks the LWP first (LW_UNPARKED, LW_CANCELLED), as NetBSD 6's code does:
 * that LWP's next park returns EALREADY at once.  An LWP that does not
 * exist is ESRCH.
 */
import { SyscallError, type Sys } from '../src/index.ts';

/** Run a system call that must fail with `code`. */
function* expectErrno(code: string, call: Generator<unknown, unknown, unknown>) {
  try {
    yield* call;
  } catch (e) {
    if (e instanceof SyscallError && e.code === code) return;
    throw e;
  }
  throw new Error(`expected ${code}`);
}

export function* main(sys: Sys) {
  // A sleeper, woken long before its 1000 ticks are up.
  const box = { sleeping: false };
  const sleeper = yield* sys.lwpCreate(function* (s: Sys) {
    box.sleeping = true;                  // atomic with the start of the sleep below
    yield* expectErrno('EINTR', s.sleep(1_000));
  }, undefined, { name: 'sleeper' });
  while (!box.sleeping) yield* sys.sleep(5);
  yield* sys.sleep(5);                    // it is well inside its sleep now
  yield* sys.lwpWakeup(sleeper);          // succeeds: its sleep returns EINTR
  yield* sys.lwpWait(sleeper);

  // A busy LWP: the wakeup fails, but its next park does not sleep.
  const busy = yield* sys.lwpCreate(function* (s: Sys) {
    yield* s.compute(200);
    yield* expectErrno('EALREADY', s.lwpPark());
  }, undefined, { name: 'busy' });
  yield* expectErrno('ENODEV', sys.lwpWakeup(busy));
  yield* sys.lwpWait(busy);

  yield* expectErrno('ESRCH', sys.lwpWakeup(99));
}
