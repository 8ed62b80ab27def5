/*
 * KSE M:N: six user threads on two KSEs; one blocks in the kernel and gives its KSE back to the UTS.
 * Run with: lwpkit run example:kse-mn --ncpu 2 --ps --trace kse-mn.json
 *
 * Watch for: the user threads have no kernel threads of their own.  When
 * the sleeper's nanosleep blocks, the kernel makes an upcall from its
 * standin (a `kse upcall` event, "lent to"), so the UTS runs the other
 * threads on that KSE meanwhile.  When the sleep ends, the carrier saves
 * the sleeper's context (`kse export`) and becomes the upcall that hands
 * it back to the UTS.  At most two kernel threads of the process are ever
 * on a CPU: one per KSE.
 */
import { kse, type Sys } from '../src/index.ts';

function* sleeper(sys: Sys) {
  yield* sys.compute(5);
  yield* sys.sleep(40);   // blocks in the kernel: an upcall gives this KSE back to the UTS
  yield* sys.compute(5);
}

function* worker(sys: Sys, n: number) {
  for (let i = 0; i < 3; i++) {
    yield* sys.compute(10 + n); // user time only: no kernel entry, no upcall
    yield* sys.getpid();        // a system call that does not block: reported at once
  }
  return n;
}

export function* main(sys: Sys) {
  const uts = yield* kse.start(sys, { kses: 2 });
  const threads = [uts.spawn(sleeper), ...[1, 2, 3, 4, 5].map((n) => uts.spawn(worker, n))];
  for (const t of threads) yield* uts.join(t);
  yield* uts.stop(); // every other KSE exits; the process is 1:1 again
}
