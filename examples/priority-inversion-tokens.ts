/*
 * Priority inversion with tokens: a serializing token is dropped whenever its holder is switched out, so the high thread never waits behind the middle one.
 * Run with: lwpkit run example:priority-inversion-tokens --ncpu 1 --trace tokens.json
 *
 * Watch for: three kernel threads on one CPU, as in priority-inversion.ts,
 * but low serializes with a DragonFly token instead of a mutex.  When
 * medium preempts low, low's token goes with the switch; high takes it at
 * once and runs to its end.  low gets the token back before it runs again
 * (the switch will not run a thread that cannot have all its tokens).  The
 * price: low's critical work was interrupted, so a token protects only
 * what happens between two blocking points.
 */
import type { Sys } from '../src/index.ts';
import { type Gen, burn } from '../src/engine/coroutine.ts';
import type { Lwp } from '../src/kern/h/lwp.ts';
import { lwktCreate, lwktGettoken, lwktInterrupt, lwktIntrCreate, lwktReltoken, lwktYieldQuick } from '../src/kern/lwkt.ts';
import { LwktToken } from '../src/kern/h/lwkt.ts';
import { PRI_KERNEL_RT, PRI_KTHREAD, PRI_INTR } from '../src/kern/param.ts';

const tok = new LwktToken('example');
const log: string[] = [];

function* low(l: Lwp): Gen<void> {
  yield* lwktGettoken(l, tok);
  log.push(`${l.k.now} low has the token`);
  for (let i = 0; i < 5; i++) { yield burn(10); yield* lwktYieldQuick(l); }   // preemption points
  log.push(`${l.k.now} low releases the token`);
  lwktReltoken(l, tok);
}

function* medium(l: Lwp): Gen<void> {
  for (let i = 0; i < 10; i++) { yield burn(20); yield* lwktYieldQuick(l); }
  log.push(`${l.k.now} medium done`);
}

function* high(l: Lwp): Gen<void> {
  yield* lwktGettoken(l, tok);
  log.push(`${l.k.now} high has the token`);
  yield burn(10);
  lwktReltoken(l, tok);
}

export function* main(sys: Sys) {
  // Kernel threads are kernel code: the example reaches the kernel through its LWP.
  const me = (sys as unknown as { l: Lwp }).l;
  const cpu = me.k.cpus[0]!;
  // medium and high are woken by interrupts at ticks 15 and 25 (they wait descheduled till then).
  const md = yield* lwktIntrCreate(me, cpu, 'medium', PRI_KERNEL_RT, medium);
  const hi = yield* lwktIntrCreate(me, cpu, 'high', PRI_INTR, high);
  lwktInterrupt(md, 15);
  lwktInterrupt(hi, 25);
  yield* lwktCreate(me, 'low', low, { pri: PRI_KTHREAD, cpu });
  yield* sys.sleep(400);
  console.log(log.join('\n'));
}
