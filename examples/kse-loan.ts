/*
 * KSE loaning: a bound thread returning to user space lends its KSE to a thread waiting for one.
 * Run with: lwpkit run example:kse-loan --ncpu 1 --ps --trace kse-loan.json
 *
 * Watch for: the process has one KSE.  main, carrying a user thread
 * (km_curthread set), sleeps; the upcall thread takes the KSE and makes
 * bound system calls.  When main's sleep ends it needs a KSE and waits on
 * kg_runq.  The upcall thread's next return to user space lends it the KSE
 * (`kse loan`, then `kse assign ... lent by`); main saves its context and
 * exits, being on a borrowed KSE (`kse export`), and the KSE returns to its
 * owner (`kse return`).  The owner's later upcall resumes main's context.
 */
import type { KseMailbox, KseThrMailbox, Sys } from '../src/index.ts';

/** The UTS entry; `n` counts the upcalls of this run. */
function* uts(sys: Sys, km: KseMailbox, n: { upcalls: number }): Generator<any, void, any> {
  const upcalls = ++n.upcalls;
  // Resume main if the completed list has it (the poll's own context is dropped).
  for (let c = km.completed; c !== null; c = c.next) {
    if (c.udata !== 'main') continue;
    km.completed = null;
    km.curthread = c;
    yield* sys.setcontext(c.context!);
  }
  if (upcalls === 1) {
    for (let i = 0; i < 20; i++) yield* sys.getpid(); // bound calls: each return checks for a waiting thread
    km.curthread = thread('poll');
    yield* sys.getpid(); // unbound: comes back as an upcall with the completed list
  }
  yield* sys.kseRelease();
}

function thread(name: string): KseThrMailbox {
  return { context: null, next: null, flags: 0, udata: name, uticks: 0, sticks: 0 };
}

export function* main(sys: Sys) {
  const n = { upcalls: 0 };
  const km: KseMailbox = { curthread: null, completed: null, func: (usys, kmb) => uts(usys, kmb, n), stack: null, flags: 0, udata: null, sigscaught: [] };
  yield* sys.kseCreate(km);
  km.curthread = thread('main'); // from now on our calls are the user thread's
  yield* sys.sleep(5);           // blocks: the upcall thread gets the KSE
  km.curthread = null;           // resumed by the UTS, on the upcall thread
}
