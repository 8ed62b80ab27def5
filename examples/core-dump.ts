/*
 * Core dump: one LWP of a threaded process faults; the others are stopped at the boundary, a core is written, the process dies.
 * Run with: lwpkit run example:core-dump --trace core.json
 *
 * Watch for: the faulting LWP single-threads the process in NO_EXIT mode
 * (FreeBSD's thread_single): the computing LWP gets an AST, the sleeper is
 * woken with ERESTART, the one in _lwp_wait bails out of lwp_wait1 because
 * the process is dumping core; all three park LSSUSPENDED.  The core
 * (m.kernel.cores) holds every LWP's state; then exit1 makes them exit,
 * and the parent's waitpid reports signal 11 with core: true.
 */
import { type Sys } from '../src/index.ts';

function* victim(sys: Sys) {
  yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(5_000); }, undefined, { name: 'spinner' });
  yield* sys.lwpCreate(function* (s: Sys) { yield* s.sleep(5_000); }, undefined, { name: 'sleeper' });
  const crasher = yield* sys.lwpCreate(function* (s: Sys) {
    yield* s.compute(30);
    throw new Error('null pointer dereference, as it were');
  }, undefined, { name: 'crasher' });
  yield* sys.lwpWait(crasher);
}

export function* main(sys: Sys) {
  const pid = yield* sys.spawn(victim);
  const st = yield* sys.waitpid(pid); // { signal: 11, core: true }
  if (!st.core) throw new Error('expected a core dump');
}
