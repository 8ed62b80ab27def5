/*
 * The demo `npm start` runs: a process on the default 4-CPU machine that
 * starts workers, waits for them, shows _lwp_wait's ESRCH and EDEADLK, and
 * reaps a detached LWP.  It prints a ps -s table part-way through, then
 * the outcome, an event summary and the final ps table.
 */
import { Machine, LWP_DETACHED, SyscallError, type Sys } from '../src/index.ts';
import { countEvents, printSummary } from './show.ts';
import { psTable } from '../src/report/ps.ts';

function* worker(sys: Sys, n: number) {
  yield* sys.compute(40 * n);   // user-mode work, time-sliced with the others
  yield* sys.sleep(5);          // a timed sleep
  yield* sys.compute(10);
}

function* main(sys: Sys) {
  const lids: number[] = [];
  for (let i = 1; i <= 6; i++) lids.push(yield* sys.lwpCreate(worker, i, { name: `worker${i}` }));
  yield* sys.lwpCreate(worker, 1, { flags: LWP_DETACHED, name: 'detached' });

  // Collect them in any order: lwpWait(0) takes whichever exits first.
  for (let i = 0; i < lids.length; i++) yield* sys.lwpWait(0);

  // Nothing left to collect: ESRCH.  Waiting for oneself: EDEADLK.
  for (const lid of [0, yield* sys.lwpSelf()]) {
    try {
      yield* sys.lwpWait(lid);
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
    }
  }
}

const m = new Machine({ ncpu: 4, seed: 1 });
const counts = countEvents(m);
const pid = m.spawn(main, { name: 'demo', uid: 1000 });

// Stop the clock part-way through to look at every LWP, as `ps -s` would...
m.run({ maxTicks: 60 });
console.log(`ps -s at tick ${m.now}: O on a CPU, R runnable, S asleep (WCHAN says on what), '-' detached, K kernel\n`);
console.log(psTable(m));
console.log('');
// ...then run on to the end.
printSummary(m, m.run({ maxTicks: 1_000_000 }), pid, counts);
