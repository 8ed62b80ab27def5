/*
 * Lightweight processes: NetBSD kern_lwp.c rev 1.172, whole functions.
 *
 * Models lwp_create, lwp_startup, lwp_exit, lwp_free, lwp_wait1,
 * lwp_suspend, lwp_continue, lwp_find, lwp_find2, lwp_find_first,
 * lwp_alive, lwp_addref, lwp_delref, lwp_delref2, lwp_drainrefs,
 * lwp_need_userret and lwp_userret.  (The lock helpers lwp_lock & co are
 * in mutex.ts, lwp_unsleep in sleepq.ts, lwp_exit_switchaway in synch.ts.)
 *
 * States and their locks are described in h/lwp.ts.  Every state change
 * goes through k.setStat, and the checker holds it to the one transition
 * table, src/check/transitions.ts, which reads:
 *
 *   IDL -> RUN, SUSPENDED, STOP      RUN -> ONPROC
 *   ONPROC -> RUN, SLEEP, STOP, SUSPENDED, ZOMB
 *   SLEEP -> ONPROC, RUN, STOP       STOP -> RUN, SLEEP
 *   SUSPENDED -> RUN
 *   idle LWPs:      IDL -> ONPROC, ONPROC -> IDL
 *   kernel threads: ONPROC -> IDL, RUN -> IDL, IDL -> ONPROC
 *   still LP_RUNNING (woken before it switched away):
 *                   STOP -> ONPROC, SUSPENDED -> ONPROC
 *
 * Counters (p.lock): nlwps counts every LWP on p's list; nzlwps the
 * zombies plus those past the point of no return in lwp_exit; nrlwps
 * those in LSRUN, LSONPROC, LSSLEEP (and LSIDL during creation); ndlwps
 * the detached; nlwpwait the LWPs inside lwp_wait1.
 */
import type { Gen, Thread } from '../engine/coroutine.ts';
import { DONE } from './done.ts';
import type { CpuInfo } from './h/cpu.ts';
import { Lwp, type LwpStart } from './h/lwp.ts';
import type { Proc } from './h/proc.ts';
import { EDEADLK, EINTR, ESRCH } from './errno.ts';
import { lwpLock, lwpLocked, lwpUnlock, lwpUnlockTo, mutexEnter, mutexExit, mutexOwned } from './mutex.ts';
import {
  LP_BOUND, LP_MPSAFE, LP_RUNNING, LPR_DETACHED, LSIDL, LSONPROC, LSRUN, LSSLEEP, LSSTOP, LSSUSPENDED, LSZOMB,
  LW_LWPCTL, LW_PENDSIG, LW_SINTR, LW_SYSTEM, LW_USERRET, LW_WCORE, LW_WEXIT, LW_WREBOOT, LW_WSINGLE, LW_WSUSPEND,
  LWP_DETACHED, LWPWAIT_EXITCONTROL, PS_WCORE, PS_WEXIT,
} from './param.ts';
import { kassert } from './panic.ts';
import { cvBroadcast, cvWait, cvWaitSig, waitOffCpu } from './sleepq.ts';
import { cpuNeedResched, lwpExitSwitchaway, miSwitch, miUserret, schedTakecpu, setrunnable, threadReap } from './synch.ts';
import { threadSuspendCheck } from './single.ts';
import { ST_EXIT } from './h/single.ts';
import { exit1, userFault } from './exit.ts';
import { lwpCtlFree, lwpctlExited } from './lwpctl.ts';
import { lwpFreeLimits } from './resource.ts';
import { lwpFinispecific, lwpInitspecific } from './specific.ts';
import { postsigs, procStopCheck } from './sig.ts';
import { kseThreadExit } from './kse.ts';

/* Assertion messages, built only when one fails (no closure per call). */
const startupMsg = (l: Lwp): string => `lwp_startup: ${l.proc.pid}.${l.lid} is not curlwp`;
const exitLocksMsg = (l: Lwp): string => `lwp_exit: ${l.proc.pid}.${l.lid} holds ${l.locks} lock(s)`;
const freeZombieMsg = (l: Lwp): string => `lwp_free: ${l.proc.pid}.${l.lid} is not a zombie`;
const freeOnCpuMsg = (l: Lwp): string => `lwp_free: ${l.proc.pid}.${l.lid} is still on a cpu`;
const delrefMsg = (l: Lwp): string => `lwp_delref2: ${l.proc.pid}.${l.lid} refcnt would go negative`;

/** The thread of a new LWP: its stack starts in lwpEntry. */
const newLwpThread = (l: Lwp): Thread => l.k.engine.newThread('lwp', lwpEntry(l));

/**
 * lwp_create: make a new LWP in p2, with l1 as the template.  Called with
 * nothing locked.  The new LWP is LSIDL; the caller makes it runnable,
 * suspended or stopped.  Returns the LWP.
 */
export function* lwpCreate(l1: Lwp, p2: Proc, flags: number, start: LwpStart, name: string | null): Gen<Lwp> {
  const k = p2.k;
  kassert(l1 === k.curlwp() || l1.proc === k.proc0, 'lwp_create: template is not curlwp');

  // First off, reap a detached zombie waiting to be collected (its structure would be reused).
  if (p2.zomblwp !== null) {
    yield* mutexEnter(k, p2.lock);
    const isfree = p2.zomblwp;
    if (isfree !== null) {
      p2.zomblwp = null;
      yield* lwpFree(isfree, true, false); // releases p2.lock
    } else mutexExit(k, p2.lock);
  }

  const l2 = new Lwp(k, p2, 0, l1.cpu, l1.priority, name, newLwpThread);
  l2.pflag = LP_MPSAFE;
  if (p2.system) l2.flag |= LW_SYSTEM;
  l2.start = start;

  yield* mutexEnter(k, p2.lock);
  // lwp_initspecific, and lwp_update_creds for the new LWP (p.lock held).
  lwpInitspecific(l2);
  l2.cred = p2.cred;
  l2.sigmask = l1.sigmask; // l_sigmask: the creator's (what fork and _lwp_create both do)
  if ((flags & LWP_DETACHED) !== 0) {
    l2.prflag = LPR_DETACHED;
    p2.ndlwps++;
  }
  p2.nlwpid = (p2.nlwpid + 1) | 0; // lwpid_t is 32 bits; skip 0 on wrap
  if (p2.nlwpid === 0) p2.nlwpid++;
  l2.lid = p2.nlwpid;
  (l2.td as { name: string }).name = `${p2.pid}.${l2.lid}`;
  p2.lwpInsert(l2);
  // Born while another LWP single-threads the process: it parks (or exits)
  // at its first trip to user mode, like its siblings.
  if (p2.st.thread !== null) l2.flag |= LW_WSINGLE | (p2.st.mode === ST_EXIT ? LW_WEXIT : 0);
  if (k.personality.createCountsNrlwps) p2.nrlwps++;
  if (!p2.system) {
    // Inherit the affinity mask (under l1's lock, against sched_setaffinity)
    // and the scheduling class, then look for a CPU to start on.
    if (l1.affinity !== null && k.personality.createInheritsAffinity) {
      yield* lwpLock(l1);
      l2.affinity = l1.affinity;
      lwpUnlock(l1);
    }
    l2.class = l1.class;
    yield* lwpLock(l2);
    l2.cpu = schedTakecpu(l2);
    lwpUnlockTo(l2, l2.cpu.spcMutex);
  }
  mutexExit(k, p2.lock);
  k.alllwp.add(l2);
  l2.sys = k.makeSys(l2);
  if (k.tracing) k.emitFor(l1, { type: 'create', newPid: p2.pid, newLid: l2.lid, flags, name });
  return l2;
}

/**
 * The bottom frame of every LWP: lwp_startup, the trip to user mode, the
 * start routine, and lwp_exit when it returns.  A start routine that throws
 * is a fault: the process dies, as a process that faulted does.
 */
function* lwpEntry(l: Lwp): Gen<never> {
  lwpStartup(l);
  let first = true;
  for (;;) {
    let fault: { error: unknown } | null = null;
    try {
      // The first trip to user mode is inside the try: a KSE upcall thread's
      // user code (the UTS) starts from there (thread_userret).
      if (first) {
        const u = miUserret(l);
        if (u !== DONE) yield u; // a frame of its own, as call() made
      }
      first = false;
      yield lwpImage(l); // its own frame: exec unwinds to here
    } catch (error) {
      fault = { error };
    }
    if (fault !== null) yield userFault(l, fault.error);
    // exec() unwinds the old image's frames down to here and leaves the new one.
    if (l.execImage === null) break;
    l.start = l.execImage;
    l.execImage = null;
    const u = miUserret(l); // back to user mode, in the new image
    if (u !== DONE) yield u;
  }
  yield lwpExit(l);
  return l.k.panic('lwp_exit returned');
}

/** Enter user mode: take the start routine (l.start) and start it; its generator is the program's frame. */
function lwpImage(l: Lwp): Gen<unknown> {
  const start = l.start!;
  l.start = null;
  return start.fn(l.sys, start.arg) as Gen<unknown>;
}

/**
 * thread_alloc (FreeBSD, for KSE standins): a new LWP structure of l1's
 * process, running `start`, on no list yet.  kse.ts links it if it is used.
 */
export function lwpAlloc(l1: Lwp, start: LwpStart, name: string | null): Lwp {
  const k = l1.k;
  const l2 = new Lwp(k, l1.proc, 0, l1.cpu, l1.priority, name, newLwpThread);
  l2.pflag = LP_MPSAFE;
  l2.start = start;
  return l2;
}

/** Make l (curlwp) run `image` from the top once its frames are unwound (exec). */
export function setExecImage(l: Lwp, image: LwpStart): void {
  l.execImage = image;
}

/** lwp_startup: the first thing a new LWP runs, on its CPU, with nothing locked. */
export function lwpStartup(l: Lwp): void {
  const k = l.k;
  kassert(l === k.curlwp(), startupMsg, l);
  kassert(l.stat === LSONPROC, 'lwp_startup: lwp not LSONPROC');
  kassert(l.locks === 0, 'lwp_startup: locks held');
  threadReap(l.cpu);
}

/**
 * lwp_exit: called by curlwp with nothing locked; never returns.  The last
 * live LWP takes the whole process with it (exit1, status 0).
 */
export function* lwpExit(l: Lwp): Gen<never> {
  const k = l.k;
  const p = l.proc;
  kassert(l === k.curlwp(), 'lwp_exit: not curlwp');
  kassert(l.locks === 0, exitLocksMsg, l);

  yield* mutexEnter(k, p.lock);
  if (p.nlwps - p.nzlwps === 1) {
    kassert(p !== k.proc0, 'lwp_exit: last lwp of proc0');
    return yield* exit1(l, 0, 0);
  }
  p.nzlwps++;
  l.exiting = true;
  mutexExit(k, p.lock);

  lwpFinispecific(l); // while it is still safe to sleep
  l.cred = null;       // kauth_cred_free: release the cached credentials

  // Drop the references others hold, and park a detached LWP for collection.
  yield* mutexEnter(k, p.lock);
  yield* lwpDrainrefs(l);
  if ((l.prflag & LPR_DETACHED) !== 0) {
    let l2: Lwp | null;
    while ((l2 = p.zomblwp) !== null) {
      p.zomblwp = null;
      yield* lwpFree(l2, false, false); // releases p.lock
      yield* mutexEnter(k, p.lock);
      l.refcnt++;
      yield* lwpDrainrefs(l);
    }
    p.zomblwp = l;
  }

  // A pending process signal we were asked to take goes to the others.
  if ((l.flag & LW_PENDSIG) !== 0 && p.sig.pend !== 0n) {
    for (const l2 of p.eachLwp()) {
      yield* lwpLock(l2);
      l2.flag |= LW_PENDSIG;
      lwpUnlock(l2);
    }
  }

  yield* lwpLock(l);
  l.exiting = false;
  k.setStat(l, LSZOMB, 'exit');
  if (l.kse !== null) kseThreadExit(l);
  if (l.name !== null && k.personality.exitRenamesZombie) l.name = '(zombie)';
  lwpUnlock(l);
  p.nrlwps--;
  yield* cvBroadcast(k, p.lwpcv);
  lwpctlExited(l);
  yield* procStopCheck(p); // we may have been the last LWP the stop waited for
  mutexExit(k, p.lock);
  if (k.tracing) k.emitFor(l, { type: 'exit' });
  return yield* lwpExitSwitchaway(l);
}

/**
 * lwp_free: free a dead LWP.  Unless `last`, called with p.lock held, which
 * it releases.  Waits until the LWP is off its CPU.  `recycle` says the
 * structure is about to be reused (lwp_create); it changes nothing here.
 */
export function* lwpFree(l: Lwp, recycle: boolean, last: boolean): Gen<void> {
  const k = l.k;
  const p = l.proc;
  kassert(l !== k.curlwp(), 'lwp_free: freeing curlwp');
  kassert(last || mutexOwned(k, p.lock), 'lwp_free: p.lock not held');
  kassert(l.stat === LSZOMB, freeZombieMsg, l);
  lwpFreeLimits(l); // chglwpcnt(-1), but not for proc0 or the last LWP
  if (!last) {
    // Fold its run time into the process, as it comes off the list.
    p.rtime += l.rtime;
    p.nvcsw += l.ncsw - l.nivcsw;
    p.nivcsw += l.nivcsw;
    p.lwpRemove(l);
    p.nzlwps--;
    if ((l.prflag & LPR_DETACHED) !== 0) p.ndlwps--;
    // Have LWPs sleeping in lwp_wait1 re-check for deadlock.
    yield* cvBroadcast(k, p.lwpcv);
    mutexExit(k, p.lock);
  }
  // On another CPU it may not have switched away yet: wait until it has.
  yield* waitOffCpu(l);
  kassert((l.pflag & LP_RUNNING) === 0 && l.cpu.curlwp !== l, freeOnCpuMsg, l);
  if (l.lwpctl !== null) yield* lwpCtlFree(l);
  k.alllwp.delete(l);
  if (k.tracing) {
    const cur = k.curlwp();
    k.emitFor(cur ?? l, { type: 'free', freedPid: p.pid, freedLid: l.lid });
  }
  void recycle;
}

/** What lwp_wait1 reports: an errno, and on success the lid collected. */
export interface WaitResult {
  error: number;
  departed: number;
}

/**
 * lwp_wait1: wait for an LWP of our process to exit and collect it.  lid 0
 * means any undetached LWP.  Called with p.lock held; returns with it held.
 */
export function* lwpWait1(l: Lwp, lid: number, flags: number): Gen<WaitResult> {
  const k = l.k;
  const p = l.proc;
  kassert(mutexOwned(k, p.lock), 'lwp_wait1: p.lock not held');
  p.nlwpwait++;
  l.inWait = true;
  l.waitingfor = lid;
  const curlid = l.lid;
  const exiting = (flags & LWPWAIT_EXITCONTROL) !== 0;
  let error = 0;

  for (;;) {
    // The process is dumping core: go and be suspended until it is done.
    if ((p.sflag & PS_WCORE) !== 0) {
      mutexExit(k, p.lock);
      yield* lwpUserret(l);
      k.panic('lwp_wait1: lwp_userret returned during a core dump');
    }

    // Drain any detached LWP waiting to be reaped.
    let l2: Lwp | null;
    while ((l2 = p.zomblwp) !== null) {
      p.zomblwp = null;
      yield* lwpFree(l2, false, false); // releases p.lock
      yield* mutexEnter(k, p.lock);
    }

    // Look for an LWP to collect.  While the whole process exits, detached
    // LWPs count as eligible (but are drained above, not here).
    let nfound = 0;
    error = 0;
    for (l2 = p.lwps; l2 !== null; l2 = l2.sibNext) {
      // A specific wait whose target waits for us: deadlock.  Also traps
      // waiting for oneself.  Longer cycles are not detected (the seed's note).
      if (l2.lid === lid && l2.waitingfor === curlid) {
        error = EDEADLK;
        break;
      }
      if (l2 === l) continue;
      if ((l2.prflag & LPR_DETACHED) !== 0) {
        if (exiting) nfound++;
        continue;
      }
      if (lid !== 0) {
        if (l2.lid !== lid) continue;
        if (l2.waiter === 0) l2.waiter = curlid; // first waiter
      } else if (l2.waiter !== 0) {
        // Someone else waits for it specifically; it is theirs.
        nfound++;
        continue;
      }
      nfound++;
      if (l2.stat !== LSZOMB) continue;

      l.waitingfor = 0;
      l2.waiter = 0;
      p.nlwpwait--;
      l.inWait = false;
      const departed = l2.lid;
      yield* lwpFree(l2, false, false); // releases p.lock
      yield* mutexEnter(k, p.lock);
      return { error: 0, departed };
    }

    if (error !== 0) break;
    if (nfound === 0) {
      error = ESRCH;
      break;
    }

    // The kernel makes sure it cannot deadlock while exiting: keep waiting.
    if (exiting) {
      kassert(p.nlwps > 1, 'lwp_wait1: exiting with one lwp');
      yield* cvWait(l, p.lwpcv, p.lock);
      continue;
    }

    // Everyone else waits for exits or is suspended, and no zombie or
    // potential zombie is left: waiting would deadlock.  Or the process is
    // exiting and we are not the LWP running the exit.
    if ((p.sflag & PS_WEXIT) !== 0 || p.nrlwps + p.nzlwps - p.ndlwps <= p.nlwpwait) {
      error = EDEADLK;
      break;
    }

    // Wait for an LWP to exit, be collected or be detached.
    if ((error = yield* cvWaitSig(l, p.lwpcv, p.lock)) !== 0) break;
  }

  // Nothing collected.  Give up our claim on a specific target and let the
  // other waiters re-check for zombies and deadlock.
  if (lid !== 0) {
    const t = p.lidMap.get(lid);
    if (t !== undefined && t.waiter === curlid) t.waiter = 0;
  }
  p.nlwpwait--;
  l.inWait = false;
  l.waitingfor = 0;
  yield* cvBroadcast(k, p.lwpcv);
  return { error, departed: 0 };
}

/**
 * lwp_suspend: ask t to suspend.  Called with p.lock held and t locked;
 * returns with t unlocked.  The suspension itself happens in lwp_userret.
 */
export function* lwpSuspend(curl: Lwp, t: Lwp): Gen<number> {
  const k = t.k;
  kassert(mutexOwned(k, t.proc.lock), 'lwp_suspend: p.lock not held');
  kassert(lwpLocked(t), 'lwp_suspend: target not locked');
  kassert(curl !== t || curl.stat === LSONPROC, 'lwp_suspend: self not on cpu');

  // If we have been told to exit, suspending anyone else could deadlock.
  // (1.69.2.6 tested l_stat here by mistake, so its guard never fired.)
  if (k.personality.suspendExitGuard && (curl.flag & (LW_WEXIT | LW_WCORE)) !== 0) {
    lwpUnlock(t);
    return EDEADLK;
  }

  switch (t.stat) {
    case LSRUN:
    case LSONPROC:
      t.flag |= LW_WSUSPEND;
      lwpNeedUserret(t);
      lwpUnlock(t);
      return 0;
    case LSSLEEP:
      t.flag |= LW_WSUSPEND;
      // Kick it to the kernel boundary so that it releases what it holds.
      if ((t.flag & LW_SINTR) !== 0) yield* setrunnable(t);
      else lwpUnlock(t);
      return 0;
    case LSSUSPENDED:
      lwpUnlock(t);
      return 0;
    case LSSTOP:
      t.flag |= LW_WSUSPEND;
      yield* setrunnable(t);
      return 0;
    case LSIDL:
    case LSZOMB:
      lwpUnlock(t);
      return EINTR; // what Solaris does
  }
}

/**
 * lwp_continue: restart a suspended LWP, or cancel a suspension that has
 * not happened yet.  Called with p.lock held and l locked; returns with l
 * unlocked.
 */
export function* lwpContinue(l: Lwp): Gen<void> {
  kassert(mutexOwned(l.k, l.proc.lock), 'lwp_continue: p.lock not held');
  kassert(lwpLocked(l), 'lwp_continue: lwp not locked');
  if ((l.flag & LW_WREBOOT) !== 0) {
    lwpUnlock(l);
    return;
  }
  l.flag &= ~LW_WSUSPEND;
  // Parked by single-threading is not _lwp_suspend's to end.
  if (l.stat !== LSSUSPENDED || l.stParked) {
    lwpUnlock(l);
    return;
  }
  yield* setrunnable(l);
}

/**
 * lwp_migrate: move l to CPU tci.  Called with l locked; returns with it
 * unlocked.  As 1.172: an LWP still on its CPU counts as LSONPROC; a
 * migration already under way is just retargeted; RUN and ONPROC set
 * l.targetCpu (ONPROC also asks its CPU to reschedule) and the move happens
 * when it next switches away (mi_switch hands it to the idle LWP, which
 * moves it: sched_idle); IDL, SLEEP, STOP and SUSPENDED move at once, with
 * the lock handed over (lwp_unlock_to) where the new CPU's lock covers the
 * state.  An LWP asleep that had a target is placed there on wakeup.
 */
export function* lwpMigrate(l: Lwp, tci: CpuInfo): Gen<void> {
  const k = l.k;
  kassert(lwpLocked(l), 'lwp_migrate: lwp not locked');
  kassert((l.pflag & LP_BOUND) === 0, 'lwp_migrate: lwp is bound to its cpu');
  let lstat = l.stat;
  if ((l.pflag & LP_RUNNING) !== 0) lstat = LSONPROC;
  if (l.targetCpu !== null) {
    l.targetCpu = tci;
    lwpUnlock(l);
    return;
  }
  if (l.cpu === tci) {
    lwpUnlock(l);
    return;
  }
  switch (lstat) {
    case LSRUN:
      l.targetCpu = tci;
      break;
    case LSIDL:
      l.cpu = tci;
      lwpUnlockTo(l, tci.spcMutex);
      return;
    case LSSLEEP:
      l.cpu = tci;
      break;
    case LSSTOP:
    case LSSUSPENDED:
      l.cpu = tci;
      if (l.wchan === null) {
        lwpUnlockTo(l, tci.spcLwplock);
        return;
      }
      break;
    case LSONPROC: {
      l.targetCpu = tci;
      const ci = l.cpu;
      yield* mutexEnter(k, ci.spcMutex);
      cpuNeedResched(ci, 'migrate');
      mutexExit(k, ci.spcMutex);
      break;
    }
    default:
      break;
  }
  lwpUnlock(l);
}

/** lwp_find: a live LWP of p by lid (not LSIDL, not LSZOMB), or null.  p.lock held. */
export function lwpFind(p: Proc, id: number): Lwp | null {
  kassert(mutexOwned(p.k, p.lock), 'lwp_find: p.lock not held');
  const l = p.lidMap.get(id);
  if (l === undefined || l.stat === LSIDL || l.stat === LSZOMB) return null;
  return l;
}

/**
 * lwp_find2: find process `pid` (0: our own) and LWP `lid` in it (0: the
 * first on its list, in any state).  On success returns with p.lock held.
 */
export function* lwpFind2(cur: Lwp, pid: number, lid: number): Gen<Lwp | null> {
  const k = cur.k;
  let p: Proc | undefined;
  if (pid !== 0) {
    yield* mutexEnter(k, k.procLock);
    p = k.procs.get(pid);
    if (p === undefined) {
      mutexExit(k, k.procLock);
      return null;
    }
    yield* mutexEnter(k, p.lock);
    mutexExit(k, k.procLock);
  } else {
    p = cur.proc;
    yield* mutexEnter(k, p.lock);
  }
  const l = lid !== 0 ? lwpFind(p, lid) : p.lwps;
  if (l === null) mutexExit(k, p.lock);
  return l;
}

/** lwp_alive: is l in a state that can still run?  p.lock held. */
export function lwpAlive(l: Lwp): boolean {
  kassert(mutexOwned(l.k, l.proc.lock), 'lwp_alive: p.lock not held');
  switch (l.stat) {
    case LSSLEEP: case LSRUN: case LSONPROC: case LSSTOP: case LSSUSPENDED:
      return true;
    default:
      return false;
  }
}

/** lwp_find_first: the first live LWP of p, or null.  p.lock held. */
export function lwpFindFirst(p: Proc): Lwp | null {
  kassert(mutexOwned(p.k, p.lock), 'lwp_find_first: p.lock not held');
  for (const l of p.eachLwp()) if (lwpAlive(l)) return l;
  return null;
}

/** lwp_addref: hold l's structure; it cannot finish exiting until released.  p.lock held. */
export function lwpAddref(l: Lwp): void {
  kassert(mutexOwned(l.k, l.proc.lock), 'lwp_addref: p.lock not held');
  kassert(l.stat !== LSZOMB, 'lwp_addref: zombie');
  kassert(l.refcnt !== 0, 'lwp_addref: refcnt is zero');
  l.refcnt++;
}

/** lwp_delref: drop a reference; takes and releases p.lock. */
export function* lwpDelref(l: Lwp): Gen<void> {
  const k = l.k;
  yield* mutexEnter(k, l.proc.lock);
  yield* lwpDelref2(l);
  mutexExit(k, l.proc.lock);
}

/** lwp_delref2: drop a reference with p.lock held; the last one wakes the drainer. */
export function* lwpDelref2(l: Lwp): Gen<void> {
  const k = l.k;
  kassert(mutexOwned(k, l.proc.lock), 'lwp_delref2: p.lock not held');
  kassert(l.stat !== LSZOMB, 'lwp_delref2: zombie');
  kassert(l.refcnt > 0, delrefMsg, l);
  if (--l.refcnt === 0) yield* cvBroadcast(k, l.proc.lwpcv);
}

/** lwp_drainrefs: drop our own reference and wait for all others to go.  p.lock held. */
export function lwpDrainrefs(l: Lwp): Gen<void> {
  const k = l.k;
  kassert(mutexOwned(k, l.proc.lock), 'lwp_drainrefs: p.lock not held');
  kassert(l.refcnt !== 0, 'lwp_drainrefs: refcnt is zero');
  l.refcnt--;
  return l.refcnt === 0 ? DONE : drainWait(l); // nobody else holds a reference: no generator
}

function* drainWait(l: Lwp): Gen<void> {
  while (l.refcnt !== 0) yield* cvWait(l, l.proc.lwpcv, l.proc.lock);
}

/**
 * lwp_need_userret: make l pass through lwp_userret soon.  Called with l
 * locked.  An LWP running on another CPU gets an AST there (an IPI).
 */
export function lwpNeedUserret(l: Lwp): void {
  kassert(lwpLocked(l), 'lwp_need_userret: lwp not locked');
  const k = l.k;
  const ci: CpuInfo = l.cpu;
  if (l.stat !== LSONPROC || ci.curlwp !== l || ci === k.curcpu()) return;
  if (k.tracing) {
    const cur = k.curlwp()!;
    k.emitFor(cur, { type: 'ipi', target: ci.index, why: 'userret' });
  }
  k.engine.interrupt(ci.hw);
}

/**
 * lwp_userret: on the way to user mode with LW_USERRET work.  Pending
 * signals first, then suspension (or a core dump's stop), then exit; loop
 * until nothing is left.  l = curlwp, LSONPROC, nothing locked.
 */
export function* lwpUserret(l: Lwp): Gen<void> {
  const k = l.k;
  const p = l.proc;
  kassert(l === k.curlwp() && l.stat === LSONPROC, 'lwp_userret: not the running curlwp');
  while ((l.flag & LW_USERRET) !== 0) {
    // Single-threading first: no user code (not even a signal handler) may
    // run while another LWP has the process to itself.
    if ((l.flag & LW_WSINGLE) !== 0) {
      yield* mutexEnter(k, p.lock);
      yield* threadSuspendCheck(l, false);
      mutexExit(k, p.lock);
    }
    if ((l.flag & (LW_PENDSIG | LW_WCORE | LW_WEXIT)) === LW_PENDSIG) {
      yield* postsigs(l);
    }
    if ((l.flag & LW_WSUSPEND) !== 0) {
      yield* mutexEnter(k, p.lock);
      p.nrlwps--;
      yield* cvBroadcast(k, p.lwpcv);
      yield* lwpLock(l);
      k.setStat(l, LSSUSPENDED, 'suspend');
      if (k.personality.userretRelockOnSuspend) {
        lwpUnlock(l);
        mutexExit(k, p.lock);
        yield* lwpLock(l);
      } else {
        mutexExit(k, p.lock);
      }
      yield* miSwitch(l);
    }
    if ((l.flag & LW_WEXIT) !== 0) {
      yield* lwpExit(l);
    }
    if ((l.flag & LW_LWPCTL) !== 0) {
      yield* lwpLock(l);
      l.flag &= ~LW_LWPCTL;
      lwpUnlock(l);
    }
    if ((l.flag & LW_WREBOOT) !== 0) l.flag &= ~LW_WREBOOT;
  }
}
