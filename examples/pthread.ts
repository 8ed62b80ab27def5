/*
 * The pthread library: four threads add to a shared counter under a mutex, and main joins them.
 * Run with: lwpkit run example:pthread --ncpu 2 --trace pthread.json
 *
 * Watch for: pthread (src/lib/pthread.ts) is built only on system calls, as
 * NetBSD's libpthread is: a thread is an LWP, a contended mutex spins while
 * its owner's lwpctl block says it is on a CPU and parks otherwise, and an
 * unlock unparks the waiters.  Each thread holds the lock across 40 ticks
 * of work, long enough to be preempted, so the others spin or park
 * (lock.spins, lock.parks); without the lock, increments would be lost.
 * join collects each thread's return value.
 */
import { pthread, type Sys } from '../src/index.ts';

export function* main(sys: Sys) {
  const lock = new pthread.Mutex();
  const shared = { count: 0 };

  function* adder(s: Sys, n: number) {
    for (let k = 0; k < 5; k++) {
      yield* pthread.mutexLock(s, lock);
      const seen = shared.count;
      yield* s.compute(40);           // long enough to be preempted: the lock keeps the others out
      shared.count = seen + 1;
      yield* pthread.mutexUnlock(s, lock);
      yield* s.compute(10);
    }
    return n * 10;                    // what join returns
  }

  const threads: pthread.Pthread[] = [];
  for (let n = 1; n <= 4; n++) {
    const { error, thread } = yield* pthread.create(sys, adder, n, { name: `adder${n}` });
    if (error !== 0) throw new Error(`pthread_create: errno ${error}`);
    threads.push(thread!);
  }
  let sum = 0;
  for (const t of threads) {
    const { error, value } = yield* pthread.join(sys, t);
    if (error !== 0) throw new Error(`pthread_join: errno ${error}`);
    sum += value as number;
  }
  if (shared.count !== 20 || sum !== 100) throw new Error(`lost updates: count ${shared.count}, sum ${sum}`);
}
