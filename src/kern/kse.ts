/*
 * KSE: FreeBSD's M:N scheduler activations, the other half of the FreeBSD
 * seed (freebsd-kern_thread.c-kse.txt) and of its era's kern_switch.c.
 *
 * Models proc_linkup, kse_link, kse_unlink, ksegrp_link, ksegrp_unlink,
 * kse_stash, ksegrp_stash, thread_link, kse_purge, thread_schedule_upcall,
 * signal_upcall (disabled, as in the seed), thread_user_enter,
 * thread_userret, thread_export_context, thread_link_mboxes, the KSE half
 * of thread_exit and of thread_suspend_check, msleep's upcall, and
 * kern_switch.c's setrunqueue, remrunqueue and kse_reassign.
 *
 * The picture.  A KSE is a virtual CPU of its ksegrp: only a thread that
 * holds one may be on a CPU run queue.  A thread entering the kernel while
 * its KSE's mailbox names a user thread (km_curthread) is UNBOUND for that
 * entry: if it blocks it gives its KSE away (to the first runnable thread
 * of the group without one, else back to the KSE's owner, else idle), and
 * if nothing else of the group is runnable the block first makes an upcall
 * from the standin, so the UTS gets the virtual CPU back.  On its way out
 * an unbound thread saves its user context into its thread mailbox, puts
 * the mailbox on kg_completed, and exits (on a borrowed KSE) or turns into
 * the upcall that hands kg_completed to the UTS.  BOUND threads (the UTS
 * itself, and anyone whose km_curthread is null) keep their KSE while they
 * block, like 1:1 threads, and on their way out lend it to a thread that
 * waits for one (TDI_LOAN on the owner) until nobody needs it.
 *
 * Lists: kg_runq holds the runnable unbound threads, best first; those from
 * its head to kg_last_assigned hold a KSE and are on a CPU run queue, the
 * rest wait.  Every KSE is idle (kg_iq), or attached to one thread
 * (queued: KES_ONRUNQ, else KES_UNQUEUED); a lent one is also on kg_lq.
 *
 * Locking: the seed's sched_lock is the engine's atomicity here: each of
 * these functions changes the KSE lists in one stretch without a yield
 * (see h/kse.ts).  Threads on kg_runq without a KSE stay LSRUN under their
 * CPU's spc_mutex, off every run queue.
 */
import { setcontext, type Gen } from '../engine/coroutine.ts';
import type { CpuInfo } from './h/cpu.ts';
import type { Lwp } from './h/lwp.ts';
import type { Proc } from './h/proc.ts';
import { EFAULT } from './errno.ts';
import { kassert } from './panic.ts';
import {
  KES_IDLE, KES_ONRUNQ, KES_UNQUEUED, KEF_EXIT, Kse, Ksegrp, KseProc, KseThread,
  TDF_INMSLEEP, TDF_UNBOUND, TDF_UPCALLING, TDI_LOAN, type KseMailbox, type KseThrMailbox,
} from './h/kse.ts';
import { LP_RUNNING, LPR_DETACHED, LSIDL, LSONPROC, LSRUN, LSSTOP, LSSUSPENDED, LW_PENDSIG, LW_USERRET, LW_WEXIT, LW_WSINGLE, PS_WEXIT, SSTOP } from './param.ts';
import { lwpAlloc, lwpExit, lwpUserret } from './lwp.ts';
import { lwpLock, lwpUnlock } from './mutex.ts';
import { miSwitch, placeOn, schedEnqueueCpu } from './synch.ts';
import { lwpInitspecific } from './specific.ts';
import { lwpChargeUpcall } from './resource.ts';
import { ST_EXIT } from './h/single.ts';

/* ---- Events ---- */

function kev(l: Lwp, what: 'upcall' | 'loan' | 'assign' | 'steal' | 'idle' | 'return' | 'create' | 'exit' | 'export' | 'mode', ke: Kse | null, detail = ''): void {
  const k = l.k;
  if (!k.tracing) return;
  k.emitFor(l, { type: 'kse', what, kse: ke === null ? -1 : ke.id, kg: ke === null ? -1 : ke.ksegrp.id, detail });
}

/* ---- Linking (kse_link & co) ---- */

/** ksegrp_link: a new, empty group at the head of p's list. */
export function ksegrpLink(kp: KseProc): Ksegrp {
  const kg = new Ksegrp(kp.nextKgId++);
  kp.ksegrps.unshift(kg);
  kp.numksegrps++;
  return kg;
}

/** ksegrp_unlink: called when the group has no thread and no KSE left. */
export function ksegrpUnlink(kp: KseProc, kg: Ksegrp): void {
  kassert(kg.numthreads === 0 && kg.kses === 0, 'ksegrp_unlink: residual threads or KSEs');
  kp.ksegrps.splice(kp.ksegrps.indexOf(kg), 1);
  kp.numksegrps--;
  ksegrpStash(kp);
}

/** ksegrp_stash, kse_stash: free the structure (the model counts it). */
function ksegrpStash(kp: KseProc): void { kp.freedKsegrps++; }
function kseStash(kp: KseProc): void { kp.freedKses++; }

/** kse_link: a new KSE at the head of kg's list, attached to nobody. */
export function kseLink(kp: KseProc, kg: Ksegrp): Kse {
  const ke = new Kse(kp.nextKseId++, kg);
  kg.kseq.unshift(ke);
  kg.kses++;
  ke.state = KES_UNQUEUED;
  return ke;
}

/** kse_unlink: take ke out of its group, and the group out of p when it was the last. */
export function kseUnlink(kp: KseProc, ke: Kse): void {
  const kg = ke.ksegrp;
  if (ke.state === KES_IDLE) {
    kg.idleKses--;
    kg.iq.splice(kg.iq.indexOf(ke), 1);
  }
  kg.kseq.splice(kg.kseq.indexOf(ke), 1);
  kseStash(kp);
  if (--kg.kses === 0) ksegrpUnlink(kp, kg);
}

/** thread_link: l joins kg, holding no KSE. */
export function threadLink(l: Lwp, kg: Ksegrp): KseThread {
  const kt = new KseThread(kg);
  l.kse = kt;
  kg.threads.unshift(l);
  kg.numthreads++;
  return kt;
}

function threadUnlink(l: Lwp): void {
  const kg = l.kse!.ksegrp;
  kg.threads.splice(kg.threads.indexOf(l), 1);
  kg.numthreads--;
}

/**
 * proc_linkup, done lazily at the first kse_create: one ksegrp, and one
 * KSE bound to each live LWP of p.  Called by curlwp with p.lock held.
 */
export function procLinkup(p: Proc): KseProc {
  kassert(p.kse === null, 'proc_linkup: already linked');
  const kp = new KseProc();
  p.kse = kp;
  const kg = ksegrpLink(kp);
  for (const l of [...p.eachLwp()].reverse()) {
    if (l.stat === LSIDL || l.exiting || l.stat === 5 /* LSZOMB */) continue;
    const kt = threadLink(l, kg);
    const ke = kseLink(kp, kg);
    kt.kse = ke;
    ke.thread = l;
    if (l.stat === LSRUN) {
      ke.state = KES_ONRUNQ;
      kg.runqKses++;
      kg.runnable++;
    }
  }
  return kp;
}

/** Leave KSE mode (kse_exit of the only thread of the only group): back to the proc_linkup state, which the model keeps as none. */
export function kseLeave(l: Lwp): void {
  const p = l.proc;
  kev(l, 'mode', l.kse!.kse, 'leave');
  l.kse = null;
  p.kse = null;
}

/**
 * thread_alloc, for a standin: an LWP structure of l's process not yet on
 * its list.  It becomes a thread of the process only if an upcall needs it
 * (threadScheduleUpcall); otherwise it is simply dropped.
 */
export function threadAllocStandin(l: Lwp): Lwp {
  return lwpAlloc(l, { fn: upcallReturned, arg: null }, 'upcall');
}

/**
 * What an upcall thread's start routine is: nothing.  Its user code is the
 * UTS, set up by thread_userret; if the UTS function ever returns, the
 * thread ends (its KSE is reassigned), as a kse_release would.
 */
function* upcallReturned(): Gen<void> {}

/**
 * thread_link of a standin into its process: what lwp_create does under
 * p.lock, done here in one stretch (the seed holds sched_lock).  The new
 * LWP is detached (nobody waits for an upcall thread) and LSIDL.
 */
function standinLink(td: Lwp, td2: Lwp, kg: Ksegrp): KseThread {
  const p = td.proc;
  const k = td.k;
  lwpInitspecific(td2);
  td2.cred = p.cred;
  td2.prflag = LPR_DETACHED;
  p.ndlwps++;
  p.nlwpid = (p.nlwpid + 1) | 0;
  if (p.nlwpid === 0) p.nlwpid++;
  td2.lid = p.nlwpid;
  (td2.td as { name: string }).name = `${p.pid}.${td2.lid}`;
  td2.sigmask = td.sigmask;
  p.lwpInsert(td2);
  lwpChargeUpcall(p);
  if (p.st.thread !== null) td2.flag |= LW_WSINGLE | (p.st.mode === ST_EXIT ? LW_WEXIT : 0);
  // Born while the process stops: it must stop too (proc_stop flagged the others).
  if (p.stat === SSTOP || p.sig.stopping) td2.flag |= LW_PENDSIG;
  if (k.personality.createCountsNrlwps) p.nrlwps++;
  td2.affinity = td.affinity;
  td2.class = td.class;
  td2.cpu = td.cpu;
  td2.mutex = td.cpu.spcMutex;
  k.alllwp.add(td2);
  td2.sys = k.makeSys(td2);
  if (k.tracing) k.emitFor(td, { type: 'create', newPid: p.pid, newLid: td2.lid, flags: 0, name: td2.name });
  return threadLink(td2, kg);
}

/* ---- KSE assignment (kern_switch.c) ---- */

/** The first thread of kg_runq that holds no KSE, or null. */
function firstUnassigned(kg: Ksegrp): Lwp | null {
  const la = kg.lastAssigned;
  const i = la === null ? 0 : kg.runq.indexOf(la) + 1;
  return kg.runq[i] ?? null;
}

/** Insert l into kg_runq after every thread of its priority or better. */
function kgRunqInsert(kg: Ksegrp, l: Lwp): void {
  const q = kg.runq;
  let i = q.length;
  while (i > 0 && q[i - 1]!.priority < l.priority) i--;
  q.splice(i, 0, l);
}

/** Give ke to t (LSRUN, queued on no CPU) and put t on its CPU's run queue. */
function kseAssign(ke: Kse, t: Lwp): void {
  const kg = ke.ksegrp;
  t.kse!.kse = ke;
  ke.thread = t;
  ke.state = KES_ONRUNQ;
  kg.runqKses++;
  if (t.rq === null) schedEnqueueCpu(t);
}

/**
 * setrunqueue's KSE part: called from sched_enqueue with l (a thread of a
 * KSE process) LSRUN under its CPU's spc_mutex, not yet queued.  A bound
 * thread goes on the run queue with its own KSE.  An unbound one joins
 * kg_runq and gets an idle KSE, or kg_last_assigned's if it is better;
 * failing both it waits there, on no CPU run queue.  Returns true: the
 * caller queues nothing itself.
 */
export function kseSetrunqueue(l: Lwp): boolean {
  const kt = l.kse!;
  const kg = kt.ksegrp;
  kg.runnable++;
  if ((kt.flags & TDI_LOAN) !== 0) {
    // A stopped owner continued while its KSE is lent: it waits, on no
    // queue, until kse_reassign gives the KSE back (ownerRun).
    if ((l.proc.sflag & PS_WEXIT) === 0 && l.kse!.kse !== null && l.kse!.kse.bound === l) return true;
    kseLoanBroken(l);
  }
  if ((kt.flags & TDF_UNBOUND) === 0) {
    const ke = kt.kse;
    if (ke !== null) {
      ke.state = KES_ONRUNQ;
      kg.runqKses++;
    }
    schedEnqueueCpu(l);
    return true;
  }
  kgSetrunqueue(l, kt.kse);
  return true;
}

/**
 * The unbound half of setrunqueue.  l is LSRUN; `ke` is the KSE it held
 * (it was running) or null.  l joins kg_runq; a KSE it holds or finds goes
 * to the right thread of kg_runq to keep the top ones assigned.
 */
function kgSetrunqueue(l: Lwp, held: Kse | null): void {
  const kt = l.kse!;
  const kg = kt.ksegrp;
  let ke = held;
  let tda = kg.lastAssigned;
  if (ke === null) {
    if (kg.iq.length !== 0) {
      ke = kg.iq.shift()!;
      kg.idleKses--;
    } else if (tda !== null && tda.priority < l.priority && tda.rq !== null) {
      // Steal the worst assigned thread's KSE: it goes back to waiting.
      ke = tda.kse!.kse!;
      tda.kse!.kse = null;
      ke.thread = null;
      kg.runqKses--;
      const i = kg.runq.indexOf(tda);
      kg.lastAssigned = i > 0 ? kg.runq[i - 1]! : null;
      if (tda.cpu.migrating === tda) tda.cpu.migrating = null;
      tda.rq.dequeue(tda);
      kev(l, 'steal', ke, `from ${tda.proc.pid}.${tda.lid}`);
      tda = kg.lastAssigned;
    }
  } else {
    ke.thread = null;
    kt.kse = null;
    kg.runqKses -= ke.state === KES_ONRUNQ ? 1 : 0;
    ke.state = KES_UNQUEUED;
  }
  kgRunqInsert(kg, l);
  if (ke === null) {
    lendStoppedKse(kg);
    return;
  }
  let td2: Lwp;
  if (tda === null) {
    td2 = kg.runq[0]!;
    kg.lastAssigned = td2;
  } else if (tda.priority < l.priority) {
    td2 = l;
  } else {
    td2 = kg.runq[kg.runq.indexOf(tda) + 1]!;
    kg.lastAssigned = td2;
  }
  kseAssign(ke, td2);
  if (held === null || td2 !== l) kev(td2, 'assign', ke);
  // l had been queued by a requeue and lost its KSE to a better thread.
  if (l.rq !== null && kt.kse === null) {
    if (l.cpu.migrating === l) l.cpu.migrating = null;
    l.rq.dequeue(l);
  }
}

/**
 * A thread of kg waits for a KSE and none is free: a KSE held by a stopped
 * bound thread is lent to it (kseStopped), so that the waiter, too, can
 * reach the stop.  A stopped holder lends at its stop only if someone waits
 * then; this covers a waiter that came later (one woken from a sleep, or
 * the lender of a standin that started stopped).
 */
function lendStoppedKse(kg: Ksegrp): void {
  for (const ke of kg.kseq) {
    const t = ke.thread;
    if (t === null || t.stat !== LSSTOP || ke.bound !== null) continue;
    kseStopped(t);
    if (ke.thread !== t) return; // lent
  }
}

/**
 * mi_switch's requeue (yield or preemption) of a KSE thread: l was
 * running, is now LSRUN and on ci's run queue.  Called with ci's
 * spc_mutex held.
 */
export function kseRequeue(l: Lwp): void {
  const kt = l.kse!;
  const kg = kt.ksegrp;
  kg.runnable++;
  const ke = kt.kse;
  if ((kt.flags & TDF_UNBOUND) === 0 || ke === null) {
    if (ke !== null) {
      ke.state = KES_ONRUNQ;
      kg.runqKses++;
    }
    return;
  }
  kgSetrunqueue(l, ke);
}

/**
 * remrunqueue: l (a KSE thread) leaves its CPU's run queue to run.  Called
 * from the pick with the queue's spc_mutex held.
 */
export function kseRemrunqueue(l: Lwp): void {
  const kt = l.kse!;
  const kg = kt.ksegrp;
  kg.runnable--;
  const ke = kt.kse;
  if (ke !== null && ke.state === KES_ONRUNQ) {
    ke.state = KES_UNQUEUED;
    kg.runqKses--;
  }
  const i = kg.runq.indexOf(l);
  if (i < 0) return;
  if (kg.lastAssigned === l) kg.lastAssigned = i > 0 ? kg.runq[i - 1]! : null;
  kg.runq.splice(i, 1);
}

/**
 * kse_reassign: ke was freed by its thread (a block, an exit, a loan).  It
 * goes to the first runnable thread without a KSE, else back to its owner
 * (which was lending it), else to kg_iq.  Called on CPU ci, in one stretch.
 */
export function kseReassign(ke: Kse, ci: CpuInfo, by: Lwp): void {
  const kg = ke.ksegrp;
  kassert(ke.thread === null, 'kse_reassign: kse still has a thread');
  const td = firstUnassigned(kg);
  if (td !== null) {
    kg.lastAssigned = td;
    kseAssign(ke, td);
    kev(td, 'assign', ke, ke.bound !== null ? `lent by ${ke.bound.proc.pid}.${ke.bound.lid}` : '');
    return;
  }
  const owner = ke.bound;
  if (owner !== null) {
    ke.bound = null;
    kg.lq.splice(kg.lq.indexOf(ke), 1);
    kg.loanKses--;
    owner.kse!.flags &= ~TDI_LOAN;
    ke.thread = owner;
    kev(owner, 'return', ke);
    ownerRun(owner, ke, ci);
    return;
  }
  ke.state = KES_IDLE;
  kg.iq.unshift(ke);
  kg.idleKses++;
  kev(by, 'idle', ke);
}

/**
 * The owner of a lent KSE has it back: make it run.  It is a standin that
 * never ran (LSIDL), a lender that switched away (LSSUSPENDED), or a lender
 * still on its way out of a CPU (LP_RUNNING: it notices in mi_switch, as
 * setrunnable's first case does).
 */
function ownerRun(owner: Lwp, ke: Kse, ci: CpuInfo): void {
  const k = owner.k;
  const p = owner.proc;
  const kg = ke.ksegrp;
  if (owner.stat === LSSTOP) {
    ke.state = KES_UNQUEUED; // a stopped owner just holds it again
    return;
  }
  if (owner.stat === LSRUN) {
    // A stopped owner that was continued meanwhile, waiting for it.
    ke.state = KES_ONRUNQ;
    kg.runqKses++;
    schedEnqueueCpu(owner);
    return;
  }
  if (owner.stat === LSIDL && (p.stat === SSTOP || p.sig.stopping)) {
    // A standin of a stopped or stopping process: it starts stopped, with
    // its KSE, as a new LWP of a stopped process does; SIGCONT runs it.  (A
    // lender has LW_PENDSIG from proc_stop and stops at its user boundary.)
    if (k.personality.createCountsNrlwps) p.nrlwps--;
    owner.mutex = ci.spcLwplock;
    placeOn(owner, ci);
    k.setStat(owner, LSSTOP, 'kse');
    return;
  }
  // A lender is not counted in nrlwps, so its process may have stopped
  // meanwhile: it must stop at its user boundary before it runs user code.
  if (p.stat === SSTOP || p.sig.stopping) owner.flag |= LW_PENDSIG;
  if (owner.stat === LSSUSPENDED || !k.personality.createCountsNrlwps) p.nrlwps++;
  if ((owner.pflag & LP_RUNNING) !== 0) {
    k.setStat(owner, LSONPROC, 'kse');
    return;
  }
  owner.mutex = ci.spcMutex;
  placeOn(owner, ci);
  k.setStat(owner, LSRUN, 'kse');
  kg.runnable++;
  ke.state = KES_ONRUNQ;
  kg.runqKses++;
  schedEnqueueCpu(owner);
}

/**
 * A lender made runnable by someone other than kse_reassign (exit's
 * single-threading wakes everyone): the loan is void.  It runs without
 * a KSE; the process is on its way out.
 */
function kseLoanBroken(l: Lwp): void {
  const kt = l.kse!;
  kt.flags &= ~TDI_LOAN;
  const ke = kt.kse;
  kt.kse = null;
  if (ke !== null && ke.bound === l) {
    const kg = ke.ksegrp;
    ke.bound = null;
    kg.lq.splice(kg.lq.indexOf(ke), 1);
    kg.loanKses--;
  }
}

/**
 * mi_switch's KSE part, for a thread that stops running (sleep, stop,
 * suspension; not a yield): an unbound thread, or one on a lent KSE, gives
 * its KSE up.  A bound thread blocks with it, except in an exiting process.  Called on l's CPU with its
 * spc_mutex held.
 */
export function kseSwitchout(l: Lwp, ci: CpuInfo): void {
  const kt = l.kse!;
  if ((kt.flags & TDI_LOAN) !== 0) return; // thread_userret lent it already
  const ke = kt.kse;
  if (ke === null || ke.thread !== l) return;
  // Once the process exits, a blocking thread (the exit's own single-threader
  // among them) gives its KSE up too, so that the threads waiting for one
  // can run to their exit.
  if ((kt.flags & TDF_UNBOUND) === 0 && ke.bound === null && (l.proc.sflag & PS_WEXIT) === 0) {
    if (l.stat === LSSTOP) kseStopped(l);
    return;
  }
  kt.kse = null;
  ke.thread = null;
  ke.state = KES_UNQUEUED;
  kseReassign(ke, ci, l);
}

/**
 * Lend l's KSE (TDI_LOAN: l owns it, kg_lq holds it) and give it to the
 * first thread waiting for one.  Called with l locked, in one stretch.
 */
function kseLoan(l: Lwp, ke: Kse, why = ''): void {
  const kg = l.kse!.ksegrp;
  l.kse!.flags |= TDI_LOAN;
  ke.bound = l;
  ke.thread = null;
  ke.state = KES_UNQUEUED;
  kg.lq.push(ke);
  kg.loanKses++;
  kev(l, 'loan', ke, why);
  kseReassign(ke, l.cpu, l);
}

/**
 * A bound thread holding its KSE has stopped (job control), switching out
 * or where it slept (proc_stop).  It does not need the KSE while stopped:
 * if a thread of its group waits for one, lend it (TDI_LOAN), so that the
 * waiter too can reach its stop; it comes back to the owner when nobody
 * needs it, or when the owner is continued and waits for it.  Called in
 * one stretch, with l locked.
 */
export function kseStopped(l: Lwp): void {
  const kt = l.kse!;
  const ke = kt.kse;
  if (ke === null || ke.thread !== l || ke.bound !== null || (kt.flags & (TDF_UNBOUND | TDI_LOAN)) !== 0) return;
  const kg = kt.ksegrp;
  if (firstUnassigned(kg) === null) return;
  kseLoan(l, ke, 'stopped');
}

/* ---- Upcalls ---- */

/**
 * thread_schedule_upcall: turn td's standin into an upcall thread on ke.
 * On td's own KSE (the msleep path) the upcall owns ke but lends it to td
 * until td blocks, exits or returns to user space; on a new KSE it runs at
 * once.  Returns the upcall thread, or null when none can be made.
 */
export function threadScheduleUpcall(td: Lwp, ke: Kse): Lwp | null {
  const kt = td.kse!;
  const newkse = ke !== kt.kse;
  // An owner that is bound cannot take an upcall: we only borrow this KSE.
  if (ke.bound !== null && (ke.bound.kse!.flags & TDF_UNBOUND) === 0) return null;
  kassert(ke.bound === null, 'thread_schedule_upcall: kse already bound');
  const td2 = kt.standin;
  if (td2 === null) {
    kassert(!newkse, 'thread_schedule_upcall: no reserve thread for a new kse');
    return null;
  }
  kt.standin = null;
  const kt2 = standinLink(td, td2, ke.ksegrp);
  kt2.flags = TDF_UPCALLING;
  kt2.kse = ke;
  const kg = ke.ksegrp;
  if (!newkse) {
    ke.bound = td2;
    kt2.flags |= TDI_LOAN;
    kg.lq.push(ke);
    kg.loanKses++;
  } else {
    ke.bound = null;
    ke.thread = td2;
    ownerRun(td2, ke, td.cpu);
  }
  kev(td2, 'upcall', ke, newkse ? 'new kse' : `lent to ${td.proc.pid}.${td.lid}`);
  return td2;
}

/**
 * signal_upcall: disabled in the seed (it returns before doing anything),
 * and so here: signals to a KSE process are delivered as to any process.
 */
export function signalUpcall(_p: Proc, _sig: number): Lwp | null {
  return null;
}

/**
 * msleep's KSE part: l is about to block.  An unbound thread carrying a
 * user thread, with nothing else of its group runnable, first makes an
 * upcall on its own KSE, which it keeps until it really switches away.
 * Called with l asleep and locked by its sleep queue.
 */
export function kseSleepUpcall(l: Lwp): void {
  const kt = l.kse!;
  if ((kt.flags & (TDF_UNBOUND | TDF_INMSLEEP)) !== TDF_UNBOUND || kt.mailbox === null) return;
  // Nobody is left to take an upcall once the process exits or single-threads.
  const p = l.proc;
  if ((p.sflag & PS_WEXIT) !== 0 || p.st.thread !== null) return;
  const ke = kt.kse;
  if (ke === null || kt.ksegrp.runq.length !== 0) return;
  kt.flags |= TDF_INMSLEEP;
  threadScheduleUpcall(l, ke);
  kt.flags &= ~TDF_INMSLEEP;
}

/* ---- Kernel entry and exit ---- */

/** Is this a user mailbox object the kernel can read (copyin)? */
export function mailboxOk(m: unknown): m is KseMailbox {
  return typeof m === 'object' && m !== null && typeof (m as KseMailbox).func === 'function';
}

/**
 * thread_user_enter: at every system call of a KSE thread, before its
 * body.  `depth` is the frame depth of the user code making the call.
 * Decides bound or unbound from km_curthread.  Called with nothing locked.
 */
export function* threadUserEnter(l: Lwp, depth: number): Gen<void> {
  const p = l.proc;
  kassert(l === l.k.curlwp(), 'thread_user_enter: not curlwp');
  if ((p.sflag & PS_WEXIT) !== 0 && p.st.thread !== l) {
    yield* lwpExit(l);
  }
  const kt = l.kse!;
  kt.userDepth = depth;
  const ke = kt.kse;
  if (ke === null || ke.mailbox === null) return;
  const cur = ke.mailbox.curthread;
  if (cur === null || cur === -1 || typeof cur !== 'object') {
    kt.mailbox = null;
    kt.flags &= ~TDF_UNBOUND;
  } else {
    kt.mailbox = cur;
    if (kt.standin === null) kt.standin = threadAllocStandin(l);
    kt.flags |= TDF_UNBOUND;
  }
}

/**
 * thread_export_context: save l's user context (its user frames) into its
 * thread mailbox and push the mailbox onto kg_completed.  Returns 0, or
 * EFAULT for a mailbox the kernel cannot write.
 */
export function threadExportContext(l: Lwp): number {
  const kt = l.kse!;
  const mb = kt.mailbox;
  if (mb === null || typeof mb !== 'object') return EFAULT;
  const kg = kt.ksegrp;
  mb.context = { frames: l.td.frames.slice(1, kt.userDepth), value: undefined };
  mb.next = kg.completed;
  kg.completed = mb;
  kev(l, 'export', kt.kse);
  return 0;
}

/** thread_link_mboxes: hand kg_completed to the KSE's mailbox. */
export function threadLinkMboxes(kg: Ksegrp, ke: Kse): number {
  const km = ke.mailbox;
  if (km === null) return EFAULT;
  km.completed = kg.completed;
  kg.completed = null;
  return 0;
}

/**
 * thread_userret: the KSE work on every way back to user space (system
 * call, trap, a new thread's start).  Called by curlwp with nothing
 * locked, after mi_userret's own work.  An unbound thread exports its
 * context and exits (borrowed KSE) or becomes the upcall; then whoever
 * goes on lends its KSE to a waiting thread first; an upcall finally
 * starts the UTS (km_func) with the completed list, and never returns here.
 */
export function* threadUserret(l: Lwp): Gen<void> {
  const kt = l.kse!;
  const kg = kt.ksegrp;
  if ((kt.flags & TDF_UNBOUND) !== 0) {
    const error = threadExportContext(l);
    kt.mailbox = null;
    if (error !== 0) {
      // The context is lost: go synchronous (the seed also posts SIGSEGV).
      kt.flags &= ~TDF_UNBOUND;
      if (kt.kse === null || kt.kse.bound === null) return;
      yield* lwpExit(l);
    }
    if (kt.kse!.bound !== null) {
      // Borrowed: the UTS learns of us from a later upcall.
      yield* lwpExit(l);
    }
    kt.flags = (kt.flags & ~TDF_UNBOUND) | TDF_UPCALLING;
  }
  const ke = kt.kse!;
  if (firstUnassigned(kg) !== null) yield* kseLend(l, ke);
  if (kt.standin === null) {
    ke.tdspare = null;
    kt.standin = threadAllocStandin(l);
  }
  if ((kt.flags & TDF_UPCALLING) === 0) return;
  kt.flags &= ~TDF_UPCALLING;
  const km = ke.mailbox!;
  threadLinkMboxes(kg, ke);
  km.curthread = null;
  kev(l, 'upcall', ke, 'start');
  // cpu_set_upcall_kse: user mode resumes in km_func(mailbox), on a fresh stack.
  yield setcontext(1, { frames: [ke.upcall!(l.sys, km)], value: undefined });
  kassert(false, 'thread_userret: upcall returned into the kernel');
}

/**
 * thread_userret's loan: a thread of kg_runq waits for a KSE, so l lends
 * its own to it and waits (TDI_LOAN) until kse_reassign gives it back.
 */
function* kseLend(l: Lwp, ke: Kse): Gen<void> {
  const k = l.k;
  const kt = l.kse!;
  const kg = kt.ksegrp;
  yield* lwpLock(l);
  if (firstUnassigned(kg) === null || kt.kse !== ke || ke.thread !== l) {
    lwpUnlock(l);
    return;
  }
  kseLoan(l, ke);
  l.proc.nrlwps--;
  k.setStat(l, LSSUSPENDED, 'loan');
  yield* miSwitch(l);
  // Back with our KSE, or woken by an exit (the loan was then voided).
  if ((l.flag & LW_USERRET) !== 0) yield* lwpUserret(l);
}

/**
 * thread_exit's KSE half: called by lwp_exit once l is LSZOMB, with p.lock
 * and l's lock held.  l leaves its group; its KSE is destroyed (KEF_EXIT)
 * or reassigned.
 */
export function kseThreadExit(l: Lwp): void {
  const kt = l.kse!;
  const p = l.proc;
  const kp = p.kse!;
  kt.standin = null; // thread_stash: the spare struct is dropped
  threadUnlink(l);
  const ke = kt.kse;
  kt.kse = null;
  if (ke !== null && ke.thread === l) {
    ke.thread = null;
    ke.state = KES_UNQUEUED;
    kassert(ke.bound !== l, 'thread_exit: entered with ke_bound set');
    // The seed decides KEF_EXIT under sched_lock right before exiting; here
    // p.lock is dropped in between, so decide again: never leave a group
    // with threads but no KSE.
    const kg = ke.ksegrp;
    if ((ke.flags & KEF_EXIT) !== 0 && kg.kses === 1 && kg.numthreads > 0) ke.flags &= ~KEF_EXIT;
    if ((ke.flags & KEF_EXIT) !== 0) {
      kev(l, 'exit', ke);
      kseUnlink(kp, ke);
    } else {
      if (ke.bound === null) ke.tdspare = l;
      kseReassign(ke, l.cpu, l);
    }
  }
  l.kse = null;
}

/**
 * thread_suspend_check's KSE case during SINGLE_EXIT: called with p.lock
 * held by a thread about to exit for the single-threader.  Its KSE goes
 * with it when that is safe: not lent, and not the last KSE of a group
 * that still has other threads.
 */
export function kseSuspendCheck(l: Lwp): void {
  const kt = l.kse!;
  const ke = kt.kse;
  if (ke === null || ke.thread !== l) return;
  const kg = ke.ksegrp;
  if (ke.bound === null && !(kg.kses === 1 && kg.numthreads > 1)) ke.flags |= KEF_EXIT;
}

/**
 * kse_purge: after a successful SINGLE_EXIT, with l the only thread left:
 * free every idle KSE and every other group.  Called with p.lock held.
 */
export function ksePurge(p: Proc, l: Lwp): void {
  const kp = p.kse!;
  const mine = l.kse?.ksegrp ?? null;
  for (const kg of [...kp.ksegrps]) {
    for (const ke of [...kg.iq]) {
      kg.iq.splice(kg.iq.indexOf(ke), 1);
      kg.idleKses--;
      kg.kseq.splice(kg.kseq.indexOf(ke), 1);
      kg.kses--;
      kseStash(kp);
    }
    if (kg !== mine) {
      kp.ksegrps.splice(kp.ksegrps.indexOf(kg), 1);
      kp.numksegrps--;
      ksegrpStash(kp);
    }
  }
}

/** Every KSE of p, group by group. */
export function* eachKse(kp: KseProc): IterableIterator<Kse> {
  for (const kg of kp.ksegrps) yield* kg.kseq;
}

export type { KseMailbox, KseThrMailbox };
