/*
 * Preemption by an interrupt-priority kernel thread: interrupts cut a computing LWP short; inside a critical section they wait for its end.
 * Run with: lwpkit run example:interrupt-preemption --ncpu 1 --trace intr.json
 *
 * Watch for: an interrupt thread (PRI_INTR, run queue level 28) bound to
 * CPU 0 is scheduled by an interrupt every 40 ticks and preempts whatever
 * runs (lwkt_preempt: lwkt.preempt_hit counts it).  The preempted LWP
 * resumes the moment the interrupt thread blocks again, ahead of anything
 * queued.  A kernel thread that enters a critical section holds the
 * interrupts off until its outermost crit_exit.
 */
import type { Sys } from '../src/index.ts';
import { burn, type Gen } from '../src/engine/coroutine.ts';
import type { Lwp } from '../src/kern/h/lwp.ts';
import { critEnter, critExit, lwktInterrupt, lwktIntrCreate } from '../src/kern/lwkt.ts';
import { PRI_INTR, PRI_KTHREAD } from '../src/kern/param.ts';

export function* main(sys: Sys) {
  const me = (sys as unknown as { l: Lwp }).l;   // kernel threads are kernel code
  const k = me.k;
  const cpu = k.cpus[0]!;
  const handled: number[] = [];
  const it = yield* lwktIntrCreate(me, cpu, 'ithread', PRI_INTR, function* (l: Lwp): Gen<void> {
    handled.push(l.k.now);
    yield burn(3);
  });
  for (let t = 40; t <= 400; t += 40) lwktInterrupt(it, t);
  // A kernel thread woken at tick 100 spends 70 ticks in a critical section:
  // the interrupts of ticks 120 and 160 are taken at its crit_exit, at 170.
  const kt = yield* lwktIntrCreate(me, cpu, 'crit', PRI_KTHREAD, function* (l: Lwp): Gen<void> {
    critEnter(l);
    yield burn(70);
    yield* critExit(l);
  });
  lwktInterrupt(kt, 100);
  yield* sys.compute(300);   // cut short by each interrupt
  yield* sys.sleep(150);
  console.log(`interrupts handled at ${handled.join(', ')}; lwkt.preempt_hit ${k.lwkt.preemptHit}`);
}
