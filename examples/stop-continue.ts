/*
 * Stop and continue: a parent stops its threaded child with SIGSTOP, sees it stopped, and continues it.
 * Run with: lwpkit run example:stop-continue --ps --trace stop.json
 *
 * Watch for: the child's computing LWPs stop at their next user boundary
 * (an AST cuts their user time short), its sleeping LWP stops where it
 * sleeps; once the last one stops the parent's waitpid(untraced) returns
 * and it gets SIGCHLD.  SIGCONT runs lwp_unstop on each LWP: the sleeper
 * goes back to its sleep, the others become runnable.
 */
import { SIGCHLD, SIGCONT, SIGSTOP, type Sys } from '../src/index.ts';

function* child(sys: Sys) {
  yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(300); }, undefined, { name: 'cruncher' });
  yield* sys.lwpCreate(function* (s: Sys) { yield* s.sleep(200); }, undefined, { name: 'sleeper' });
  yield* sys.compute(300);
  yield* sys.lwpWait(0);
  yield* sys.lwpWait(0);
}

export function* main(sys: Sys) {
  // With SA_RESTART, SIGCHLD does not interrupt our waitpid.
  yield* sys.sigaction(SIGCHLD, function* () {}, { restart: true });
  const pid = yield* sys.spawn(child);
  yield* sys.compute(50);
  yield* sys.kill(pid, SIGSTOP);
  const st = yield* sys.waitpid(pid, { untraced: true }); // { stopped: true, signal: SIGSTOP }
  if (!st.stopped) throw new Error('expected the child to be stopped');
  yield* sys.compute(100);                                // it makes no progress meanwhile
  yield* sys.kill(pid, SIGCONT);
  yield* sys.waitpid(pid);
}
