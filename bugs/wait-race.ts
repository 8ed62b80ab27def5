/*
 * The README's walkthrough program: main creates an LWP that computes
 * for 3 ticks and exits, and waits for it.  Correct on the clean kernel
 * under every schedule; with the planted bug cv-interlock-early, a run
 * where the exit lands in cv_wait's window loses the wakeup.
 *   lwpkit explore bugs/wait-race.ts
 */
import type { Sys } from '../src/index.ts';

export default function* main(sys: Sys) {
  const lid = yield* sys.lwpCreate(function* child(s: Sys) { yield* s.compute(3); });
  yield* sys.lwpWait(lid);
}
