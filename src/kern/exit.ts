/*
 * Process exit and reaping (kern_exit.c): exit1, exit_lwps, the parent's
 * wait (find_stopped_child + proc_free), and the fault path that kills a
 * process whose program threw.
 *
 * exit1 runs in the exiting LWP with p.lock held.  It marks the process
 * PS_WEXIT and makes every other LWP exit with FreeBSD's single-threading
 * in EXIT mode (single.ts), which replaces NetBSD 6's exit_lwps: it wakes
 * interruptible sleepers, unsuspends and continues the others, and keeps
 * re-scanning until all of them are zombies, so no LWP created, suspended
 * or put to sleep behind its back can hang the exit.  It then collects
 * them; the process goes SDYING -> SDEAD -> SZOMB with one LSZOMB LWP left,
 * which the parent frees when it reaps the process, and the parent is told
 * (waitpid wakes, SIGCHLD).  Processes spawned by the machine itself have
 * no parent process: they stay SZOMB for inspection.
 *
 * Also here: coredump (single-threading in NO_EXIT mode, then a snapshot
 * of every LWP into the machine's core list) and the exec of a new image
 * (BOUNDARY mode, upgraded to EXIT once the exec succeeds).
 */
import type { Gen } from '../engine/coroutine.ts';
import type { Lwp } from './h/lwp.ts';
import type { Proc } from './h/proc.ts';
import { ECHILD, ERESTART } from './errno.ts';
import { lwpLock, lwpUnlock, mutexEnter, mutexExit, mutexOwned } from './mutex.ts';
import {
  LPR_DETACHED, LSZOMB, PS_WCORE, PS_WEXIT, SDEAD, SDYING, SSTOP, STAT_NAMES, SZOMB,
} from './param.ts';
import { kassert } from './panic.ts';
import { cvBroadcast, cvWaitSig, wchanName } from './sleepq.ts';
import { lwpDrainrefs, lwpExit, lwpFree } from './lwp.ts';
import { lwpExitSwitchaway } from './synch.ts';
import { threadSingle, threadSingleEnd, threadSuspendCheck } from './single.ts';
import { ST_EXIT, ST_BOUNDARY, ST_NO_EXIT } from './h/single.ts';
import { kpsignal } from './sig.ts';
import { SIGCHLD, SIGSEGV } from './h/signal.ts';
import { lwpCtlExit } from './lwpctl.ts';
import { lwpFinispecific } from './specific.ts';
import { ksePurge } from './kse.ts';

/**
 * exit1: end the process.  Called by curlwp with p.lock held; never
 * returns.  `code` is the exit status, `sig` the signal that killed it (0
 * for a normal exit).
 */
export function* exit1(l: Lwp, code: number, sig: number, core = false): Gen<never> {
  const k = l.k;
  const p = l.proc;
  kassert(mutexOwned(k, p.lock), 'exit1: p.lock not held');
  kassert(p !== k.proc0, 'exit1: proc0');

  yield* yieldToOtherSingleThreader(l);
  p.sflag |= PS_WEXIT;
  if (k.tracing) k.emitFor(l, { type: 'proc', what: 'exit', detail: sig !== 0 ? `signal ${sig}` : `status ${code}` });

  // Make every other LWP exit, and collect them, before tearing the process down.
  if (p.nlwps > 1) {
    yield* threadSingle(l, ST_EXIT);
    yield* reapSiblings(l);
    if (p.kse !== null) ksePurge(p, l);
  }
  kassert(p.nlwps === 1, () => `exit1: ${p.nlwps} lwps left after single-threading`);
  p.st.thread = null;
  p.st.mode = 0;
  p.sig.core = core;

  p.stat = SDYING;
  p.xstat = code & 0xff;
  p.termsig = sig;
  // Drain references to the last LWP now, before proc_lock is held (the
  // seed does this under proc_lock; the model never sleeps holding it).
  yield* lwpDrainrefs(l);
  mutexExit(k, p.lock);

  // Tear down the lwpctl area, and the last LWP's specific data (lwp_exit
  // does the latter for every other LWP).
  if (p.lwpctl !== null) lwpCtlExit(l);
  lwpFinispecific(l);

  yield* mutexEnter(k, k.procLock);
  // Orphans go to init (the machine).
  for (const c of p.children) c.pptr = null;
  p.children.clear();
  p.stat = SDEAD;

  yield* mutexEnter(k, p.lock);
  l.prflag &= ~LPR_DETACHED;
  yield* lwpLock(l);
  k.setStat(l, LSZOMB, 'exit');
  lwpUnlock(l);
  p.stat = SZOMB;
  p.nrlwps--;
  p.nzlwps++;
  p.ndlwps = 0;
  p.lastlwp = l;
  mutexExit(k, p.lock);

  const parent = p.pptr;
  mutexExit(k, k.procLock);
  if (parent !== null) {
    yield* cvBroadcast(k, parent.waitcv);
    yield* mutexEnter(k, parent.lock);
    yield* kpsignal(parent, SIGCHLD);
    mutexExit(k, parent.lock);
  }
  if (k.tracing) k.emitFor(l, { type: 'proc', what: 'zombie', detail: sig !== 0 ? `signal ${sig}` : `status ${code & 0xff}` });
  return yield* lwpExitSwitchaway(l);
}

/**
 * Before exit1 or coredump take the process over: if another LWP is already
 * exiting it, just go (never returns); if another is single-threading it
 * (exec, a core dump), do what it says at the boundary first.  Called with
 * p.lock held; returns with it held once l may proceed.
 */
function* yieldToOtherSingleThreader(l: Lwp): Gen<void> {
  const p = l.proc;
  for (;;) {
    if ((p.sflag & PS_WEXIT) !== 0) {
      mutexExit(l.k, p.lock);
      return yield* lwpExit(l);
    }
    if (p.st.thread === null || p.st.thread === l) return;
    yield* threadSuspendCheck(l, false);
  }
}

/**
 * A start routine (or a signal handler) threw: the LWP faulted.  As a trap
 * does, this kills the process with SIGSEGV, whose default action dumps
 * core: every other LWP is brought to the boundary, the core is written,
 * and the process dies.  A thrown exception cannot be resumed, so this
 * SIGSEGV is not delivered to a handler.  Called by curlwp with nothing
 * locked; never returns.
 */
export function* userFault(l: Lwp, error: unknown): Gen<never> {
  const k = l.k;
  const p = l.proc;
  const reason = `lwp ${l.lid} threw ${describeError(error)}`;
  if (k.tracing) k.emitFor(l, { type: 'proc', what: 'fault', detail: reason });
  yield* mutexEnter(k, p.lock);
  if (p.fault === null && (p.sflag & PS_WEXIT) === 0) {
    p.fault = reason;
    p.faultError = error;
  }
  return yield* coredump(l, SIGSEGV);
}

/**
 * coredump (sigexit with a core-dumping signal): stop every other LWP at
 * the boundary (single-threading, NO_EXIT), write the core, then exit1
 * with the core flag.  Called by curlwp with p.lock held; never returns.
 */
export function* coredump(l: Lwp, sig: number): Gen<never> {
  const k = l.k;
  const p = l.proc;
  kassert(mutexOwned(k, p.lock), 'coredump: p.lock not held');
  yield* yieldToOtherSingleThreader(l);
  p.sflag |= PS_WCORE;
  if (p.nlwps > 1) yield* threadSingle(l, ST_NO_EXIT);
  k.cores.push({
    pid: p.pid, name: p.name, signal: sig, t: k.now,
    lwps: [...p.eachLwp()].sort((a, b) => a.lid - b.lid).map((x) => ({
      lid: x.lid, stat: STAT_NAMES[x.stat], name: x.name ?? '', cpu: x.cpu.index,
      wchan: x.wchan === null ? '' : wchanName(x.wchan, x.wmesg), rtime: x.rtime, dumper: x === l,
    })),
  });
  if (k.tracing) k.emitFor(l, { type: 'proc', what: 'core', detail: `signal ${sig}` });
  p.sflag &= ~PS_WCORE;
  return yield* exit1(l, 0, sig, true);
}

/**
 * The exec half that concerns LWPs: park every other LWP at the boundary
 * (BOUNDARY), then, the new image being loaded, make them exit (EXIT) and
 * collect them.  Called by curlwp with p.lock held; returns with it held:
 * 0, or ERESTART if another LWP is single-threading (the call is retried
 * after that LWP has had its way at our boundary).
 */
export function* execSingle(l: Lwp): Gen<number> {
  const p = l.proc;
  if (p.nlwps === 1) return 0;
  if ((yield* threadSingle(l, ST_BOUNDARY)) !== 0) return ERESTART;
  yield* threadSingle(l, ST_EXIT);
  yield* reapSiblings(l);
  yield* threadSingleEnd(l);
  return 0;
}

/**
 * Free every other LWP of l's process once single-threading in EXIT mode
 * has made them all zombies (FreeBSD's exit frees its threads; NetBSD 6
 * collected them with lwp_wait1(EXITCONTROL)).  They are freed directly,
 * not through lwp_wait1: an LWP that left lwp_wait1 through its core-dump
 * bail-out never cleared its l_waiter mark, and a wait for any LWP skips
 * a zombie with a waiter, which would hang the exit (a latent NetBSD 6
 * hazard).  Called with p.lock held; returns with it held.
 */
function* reapSiblings(l: Lwp): Gen<void> {
  const k = l.k;
  const p = l.proc;
  for (;;) {
    let z: Lwp | null = p.zomblwp;
    if (z !== null) p.zomblwp = null;
    else for (const l2 of p.eachLwp()) if (l2 !== l) { z = l2; break; }
    if (z === null) return;
    kassert(z.stat === LSZOMB, () => `exit: lwp ${p.pid}.${z!.lid} is not a zombie after single-threading`);
    z.waiter = 0;
    // It left lwp_wait1 through the core-dump bail-out, still counted there.
    if (z.inWait) {
      z.inWait = false;
      z.waitingfor = 0;
      p.nlwpwait--;
    }
    yield* lwpFree(z, false, false); // releases p.lock
    yield* mutexEnter(k, p.lock);
  }
}

export function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  try { return `a non-Error value: ${JSON.stringify(e) ?? String(e)}`; } catch { return `a non-Error value: ${String(e)}`; }
}

/** What the parent learns about a child it reaps. */
export interface ChildStatus {
  error: number;
  pid: number;
  status: number;
  signal: number;
  stopped: boolean;
  core: boolean;
}

/**
 * wait for a child (find_stopped_child + proc_free): pid > 0 for that child,
 * -1 for any.  Sleeps interruptibly until one is a zombie; ECHILD if there
 * is no such child.  Called by curlwp with nothing locked.
 */
export function* procWait(l: Lwp, pid: number, untraced = false): Gen<ChildStatus> {
  const k = l.k;
  const p = l.proc;
  yield* mutexEnter(k, k.procLock);
  for (;;) {
    let found = false;
    for (const c of p.children) {
      if (pid !== -1 && c.pid !== pid) continue;
      found = true;
      if (c.stat === SZOMB) {
        const st: ChildStatus = { error: 0, pid: c.pid, status: c.xstat, signal: c.termsig, stopped: false, core: c.sig.core };
        yield* procFree(c); // releases procLock
        return st;
      }
      if (untraced && c.stat === SSTOP && !c.sig.waited) {
        c.sig.waited = true;
        mutexExit(k, k.procLock);
        return { error: 0, pid: c.pid, status: 0, signal: c.sig.xsig, stopped: true, core: false };
      }
    }
    if (!found) {
      mutexExit(k, k.procLock);
      return { error: ECHILD, pid: 0, status: 0, signal: 0, stopped: false, core: false };
    }
    const error = yield* cvWaitSig(l, p.waitcv, k.procLock);
    if (error !== 0) {
      mutexExit(k, k.procLock);
      return { error, pid: 0, status: 0, signal: 0, stopped: false, core: false };
    }
  }
}

/**
 * proc_free: the parent collects a zombie.  Called with procLock held,
 * which it releases.  The last LWP is freed once it is off its CPU.
 */
function* procFree(c: Proc): Gen<void> {
  const k = c.k;
  const parent = c.pptr!;
  kassert(c.stat === SZOMB && c.nlwps === 1 && c.nzlwps === 1 && c.nrlwps === 0, 'proc_free: not a clean zombie');
  parent.children.delete(c);
  parent.rtime += c.rtime;
  c.reaped = true;
  mutexExit(k, k.procLock);
  const last = c.lastlwp!;
  yield* lwpFree(last, false, true);
  c.rtime += last.rtime;
  if (k.tracing) k.emitFor(k.curlwp()!, { type: 'proc', what: 'reap', detail: `pid ${c.pid}` });
}
