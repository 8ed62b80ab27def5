/*
 * KSE kse_wakeup: a second KSE idles with kse_release, and kse_wakeup gives it an upcall.
 * Run with: lwpkit run example:kse-wakeup --ncpu 2 --ps
 *
 * Watch for: kse_create's second call makes a new KSE, which starts with
 * an upcall (`kse upcall ... new kse`); its UTS has nothing to do and
 * releases it (`kse idle`).  kse_wakeup on a busy KSE is a no-op returning
 * 0; on the idle one it is an upcall; on a mailbox no KSE has, ESRCH.
 */
import { SyscallError, type KseMailbox, type Sys } from '../src/index.ts';

function mailbox(name: string, func: KseMailbox['func']): KseMailbox {
  return { curthread: null, completed: null, func, stack: null, flags: 0, udata: name, sigscaught: [] };
}

export function* main(sys: Sys) {
  let wakeups = 0;
  /** The UTS entry: count the upcall, then give the KSE back (kse_release). */
  const uts = function* (usys: Sys) {
    wakeups++;
    yield* usys.kseRelease();
  };
  const km0 = mailbox('km0', uts);
  const km1 = mailbox('km1', uts);
  yield* sys.kseCreate(km0);      // first call: our own KSE gets the mailbox, no upcall
  yield* sys.kseCreate(km1);      // a new KSE, starting with an upcall that releases it
  yield* sys.sleep(5);
  yield* sys.kseWakeup(km0);      // our own KSE is busy: nothing happens
  yield* sys.kseWakeup(km1);      // idle: an upcall on it
  yield* sys.sleep(5);
  yield* sys.kseWakeup(null);     // null: the first idle KSE of our group
  yield* sys.sleep(5);
  try {
    yield* sys.kseWakeup(mailbox('nobody', uts)); // no KSE has this mailbox
  } catch (e) {
    if (!(e instanceof SyscallError) || e.code !== 'ESRCH') throw e;
  }
  yield* sys.exit(wakeups); // 3: kse_create's upcall and two wakeups
}
