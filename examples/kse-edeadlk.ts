/*
 * KSE kse_exit's EDEADLK: the last KSE of a group cannot go while another thread of the group lives.
 * Run with: lwpkit run example:kse-edeadlk --ncpu 2 --ps
 *
 * Watch for: one KSE, two threads.  main blocks as an unbound thread, so
 * the upcall thread takes the KSE; its kse_exit is EDEADLK (main would be
 * left with no KSE to run on).  Once main is the only thread, its own
 * kse_exit just leaves KSE mode and returns 0.
 */
import { SyscallError, type KseMailbox, type Sys } from '../src/index.ts';

/** The UTS entry; `n` counts the EDEADLKs of this run. */
function* uts(sys: Sys, km: KseMailbox, n: { deadlk: number }): Generator<any, void, any> {
  if (km.completed === null) {
    try {
      yield* sys.kseExit(); // the group's only KSE, and main still sleeps in it
    } catch (e) {
      if (!(e instanceof SyscallError) || e.code !== 'EDEADLK') throw e;
      n.deadlk++;
    }
    yield* sys.kseRelease();
  }
  const c = km.completed!; // kse_release does not return: we get here only with a completion
  km.completed = null;
  km.curthread = c;
  yield* sys.setcontext(c.context!); // main's sleep has returned: resume it
}

export function* main(sys: Sys) {
  const n = { deadlk: 0 };
  const km: KseMailbox = { curthread: null, completed: null, func: (usys, kmb) => uts(usys, kmb, n), stack: null, flags: 0, udata: null, sigscaught: [] };
  yield* sys.kseCreate(km);
  km.curthread = { context: null, next: null, flags: 0, udata: 'main', uticks: 0, sticks: 0 };
  yield* sys.sleep(10);
  km.curthread = null;
  yield* sys.kseExit();  // the only thread of the only group: back to 1:1, returns 0
  yield* sys.exit(n.deadlk); // 1
}
