/*
 * Migration under load: eight busy LWPs on four CPUs are herded onto CPUs 2 and 3 with sched_setaffinity, then let go again.
 * Run with: lwpkit run example:migration --ncpu 4 --ps --trace migration.json
 *
 * Watch for: each affinity change calls lwp_migrate.  A running LWP gets a
 * target CPU and a reschedule; it moves when it next switches away (the
 * idle LWP of its old CPU carries it over, sched_idle).  Queued LWPs move
 * after their next turn, sleeping ones at once.  Once the mask is lifted,
 * idle CPUs 0 and 1 steal queued work back from the busy ones.
 */
import type { Sys } from '../src/index.ts';

function* worker(sys: Sys) {
  for (let i = 0; i < 6; i++) {
    yield* sys.compute(60);
    yield* sys.sleep(5);
  }
}

export function* main(sys: Sys) {
  const lids: number[] = [];
  for (let i = 0; i < 8; i++) lids.push(yield* sys.lwpCreate(worker, undefined, { name: `w${i}` }));
  yield* sys.sleep(50);
  for (const lid of lids) yield* sys.schedSetaffinity(lid, [2, 3]);
  yield* sys.sleep(200);
  for (const lid of lids) yield* sys.schedSetaffinity(lid, [0, 1, 2, 3]);
  for (let i = 0; i < 8; i++) yield* sys.lwpWait(0);
}
