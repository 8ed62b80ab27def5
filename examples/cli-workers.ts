/*
 * Workers: main starts six LWPs and a detached one, and collects them.
 * Run with: lwpkit run example:workers --trace workers.json
 */
import { LWP_DETACHED, type Sys } from '../src/index.ts';

function* worker(sys: Sys, n: number) {
  yield* sys.compute(40 * n);   // user-mode work, time-sliced with the others
  yield* sys.sleep(5);          // a timed sleep
  yield* sys.compute(10);
}

export function* main(sys: Sys) {
  for (let i = 1; i <= 6; i++) yield* sys.lwpCreate(worker, i, { name: `worker${i}` });
  yield* sys.lwpCreate(worker, 1, { flags: LWP_DETACHED, name: 'detached' });
  for (let i = 0; i < 6; i++) yield* sys.lwpWait(0);
}
