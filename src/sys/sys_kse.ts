/*
 * The KSE system calls (the seed's kse_create, kse_exit, kse_release,
 * kse_wakeup, kse_thr_interrupt), with its errnos, over kern/kse.ts.
 * Mailboxes are user memory: plain objects the program owns; the kernel
 * reads them where the seed does copyin and writes them where it does
 * copyout.
 */
import type { Gen } from '../engine/coroutine.ts';
import type { Lwp } from '../kern/h/lwp.ts';
import { EDEADLK, EFAULT, EINVAL, ENOSYS, ESRCH } from '../kern/errno.ts';
import { mutexEnter, mutexExit } from '../kern/mutex.ts';
import { lwpExit } from '../kern/lwp.ts';
import { firstsig } from '../kern/sig.ts';
import {
  eachKse, kseLeave, kseLink, ksegrpLink, mailboxOk, procLinkup, threadAllocStandin, threadScheduleUpcall,
} from '../kern/kse.ts';
import { KEF_ASTPENDING, KEF_EXIT, KES_IDLE, TDF_UNBOUND, type Kse, type KseMailbox } from '../kern/h/kse.ts';
import type { Retval } from './sys_lwp.ts';

/** Is p in KSE mode (P_KSES)? */
function inKseMode(l: Lwp): boolean {
  return l.proc.kse !== null && l.proc.kse.kses;
}

/**
 * kse_create: enter KSE mode.  The first call without `newgroup` gives the
 * caller's own KSE the mailbox, with no upcall; later calls, and every
 * `newgroup` call, make a new KSE (in a new ksegrp for `newgroup`) that
 * starts with an upcall.  EFAULT for a mailbox the kernel cannot read.
 */
export function* sysKseCreate(l: Lwp, mbx: unknown, newgroup: boolean, rv: Retval<void>): Gen<number> {
  if (!mailboxOk(mbx)) {
    rv.detail = 'the mailbox must be an object with an upcall function `func`';
    return EFAULT;
  }
  const k = l.k;
  const p = l.proc;
  yield* mutexEnter(k, p.lock);
  const kp = p.kse ?? procLinkup(p);
  kp.kses = true; // easier to set than to test
  const kt = l.kse!;
  const ke = kt.kse!;
  let newke: Kse | null = null;
  if (newgroup) {
    const kg = ksegrpLink(kp);
    newke = kseLink(kp, kg);
  } else if ((kt.flags & TDF_UNBOUND) !== 0 || ke.mailbox !== null) {
    // The seed's one-KSE-per-CPU limit (EPROCLIM) is commented out: no limit here either.
    newke = kseLink(kp, kt.ksegrp);
  }
  if (newke === null) {
    ke.mailbox = mbx;
    ke.upcall = mbx.func;
    ke.stack = mbx.stack;
    mutexExit(k, p.lock);
    return 0;
  }
  if (firstsig(p.sig.pend) !== 0) newke.flags |= KEF_ASTPENDING;
  if (kt.standin === null) kt.standin = threadAllocStandin(l);
  newke.mailbox = mbx;
  newke.upcall = mbx.func;
  newke.stack = mbx.stack;
  threadScheduleUpcall(l, newke);
  mutexExit(k, p.lock);
  return 0;
}

/**
 * kse_exit: the caller's KSE goes away with it.  EINVAL outside KSE mode
 * or for an unbound caller; EDEADLK for the last KSE of a group with other
 * threads.  The only thread of the only group just leaves KSE mode.
 */
export function* sysKseExit(l: Lwp): Gen<number> {
  if (!inKseMode(l)) return EINVAL;
  const kt = l.kse!;
  if ((kt.flags & TDF_UNBOUND) !== 0) return EINVAL;
  const k = l.k;
  const p = l.proc;
  const kp = p.kse!;
  const kg = kt.ksegrp;
  yield* mutexEnter(k, p.lock);
  if (kg.kses === 1 && kg.numthreads > 1) {
    mutexExit(k, p.lock);
    return EDEADLK;
  }
  let numthreads = 0;
  for (const g of kp.ksegrps) numthreads += g.numthreads;
  if (numthreads === 1 && kp.numksegrps === 1) {
    kseLeave(l);
    mutexExit(k, p.lock);
    return 0;
  }
  kt.kse!.flags |= KEF_EXIT;
  mutexExit(k, p.lock);
  return yield* lwpExit(l);
}

/** kse_release: the caller ends; its KSE goes to a waiting thread or idles.  EINVAL outside KSE mode. */
export function* sysKseRelease(l: Lwp): Gen<number> {
  if (!inKseMode(l)) return EINVAL;
  return yield* lwpExit(l);
}

/**
 * kse_wakeup: an upcall on the KSE whose mailbox is `mbx` if it is idle (a
 * no-op if it is busy), or with null on the first idle KSE of the caller's
 * group.  EINVAL outside KSE mode, ESRCH if there is no such KSE.
 */
export function* sysKseWakeup(l: Lwp, mbx: unknown, rv: Retval<void>): Gen<number> {
  if (!inKseMode(l)) return EINVAL;
  if (mbx !== null && typeof mbx !== 'object') {
    rv.detail = 'the mailbox must be an object or null';
    return EFAULT;
  }
  const k = l.k;
  const p = l.proc;
  const kt = l.kse!;
  if (kt.standin === null) kt.standin = threadAllocStandin(l);
  yield* mutexEnter(k, p.lock);
  let ke: Kse | null = null;
  if (mbx !== null) {
    for (const ke2 of eachKse(p.kse!)) {
      if (ke2.mailbox !== (mbx as KseMailbox)) continue;
      if (ke2.state !== KES_IDLE) {
        mutexExit(k, p.lock);
        return 0;
      }
      ke = ke2;
      break;
    }
  } else {
    ke = kt.ksegrp.iq[0] ?? null;
  }
  if (ke === null) {
    mutexExit(k, p.lock);
    return ESRCH;
  }
  const kg = ke.ksegrp;
  kg.iq.splice(kg.iq.indexOf(ke), 1);
  kg.idleKses--;
  threadScheduleUpcall(l, ke);
  mutexExit(k, p.lock);
  return 0;
}

/** kse_thr_interrupt: not implemented in the seed. */
export function* sysKseThrInterrupt(_l: Lwp): Gen<number> {
  return ENOSYS;
}
