/*
 * Context switching and wakeup (kern_synch.c, kern_idle.c, the placement
 * half of kern_runq.c): mi_switch, lwp_exit_switchaway, setrunnable,
 * preempt, yield, sched_takecpu, sched_enqueue's resched decision,
 * cpu_need_resched, idle_loop and mi_userret.
 *
 * Switching: the outgoing LWP calls miSwitch with its own lock held and
 * its state already set (LSSLEEP, LSSUSPENDED, LSSTOP, LSZOMB) or still
 * LSONPROC (yield/preempt: it goes back on the run queue).  miSwitch takes
 * the CPU's spcMutex, picks the next LWP (or the idle LWP), releases every
 * lock, and hands the CPU to the new LWP's thread.  LP_RUNNING marks the
 * LWP whose state is tied to a CPU; it is cleared only as the CPU is handed
 * over, and lwp_free waits for it.
 */
import { HALT, switchTo, type Gen } from '../engine/coroutine.ts';
import type { CpuInfo, Lwp } from './kernel.ts';
import { lwpLock, lwpLocked, lwpSetlock, lwpUnlock, lwpUnlockTo, mutexEnter, mutexExit, mutexOwned } from './mutex.ts';
import { cvBroadcast, lwpUnsleep } from './sleepq.ts';
import { lwpUserret } from './lwp.ts';
import { lwpctlExited, lwpctlSwitchIn, lwpctlSwitchOut } from './lwpctl.ts';
import {
  LP_PREEMPTING, LP_RUNNING, LSIDL, LSONPROC, LSRUN, LSSLEEP, LSSTOP, LSSUSPENDED, LSZOMB,
  LW_IDLE, LW_USERRET, LW_WSUSPEND, PRI_IDLE, STAT_NAMES,
} from './param.ts';
import { kassert } from './panic.ts';

/**
 * sched_takecpu, simplified: stay where we are if that CPU is idle,
 * otherwise the least loaded CPU, preferring the current one on a tie.
 * Load is queued LWPs plus one for a busy CPU.
 */
export function schedTakecpu(l: Lwp): CpuInfo {
  const cpus = l.k.cpus;
  const cur = l.cpu;
  if (cpus.length === 1) return cur;
  let best = cur;
  let bestLoad = load(cur);
  if (bestLoad === 0) return cur;
  for (const ci of cpus) {
    const ld = load(ci);
    if (ld < bestLoad) {
      best = ci;
      bestLoad = ld;
    }
  }
  return best;
}

function load(ci: CpuInfo): number {
  return ci.runq.count + (ci.curlwp === ci.idlelwp ? 0 : 1);
}

/**
 * sched_enqueue(l, false) + resched_cpu: called with l LSRUN and locked by
 * l.cpu's spcMutex.  Puts it on the run queue and, if it should run before
 * what the CPU runs now, asks that CPU to reschedule.
 */
export function schedEnqueueRunnable(l: Lwp): void {
  const ci = l.cpu;
  kassert(l.stat === LSRUN && lwpLocked(l, ci.spcMutex), 'sched_enqueue: lwp not LSRUN under spc_mutex');
  ci.runq.enqueue(l);
  if (l.priority > ci.curpriority) cpuNeedResched(ci, 'wakeup');
}

/**
 * cpu_need_resched: ask `ci` to pick again.  An idle CPU is kicked awake;
 * another busy CPU gets an AST (an IPI) that cuts its user time short.
 */
export function cpuNeedResched(ci: CpuInfo, why: string): void {
  const k = ci.k;
  ci.wantResched = true;
  const self = k.curcpu();
  if (ci === self) return;
  if (k.tracing) {
    const l = k.curlwp();
    k.emit({ t: k.now, cpu: self === null ? -1 : self.index, pid: l ? l.proc.pid : -1, lid: l ? l.lid : -1, type: 'ipi', target: ci.index, why });
  }
  if (ci.curlwp === ci.idlelwp) k.engine.kick(ci.hw);
  else k.engine.interrupt(ci.hw);
}

/**
 * nextlwp: called with ci's spcMutex held.  Takes the best LWP off the run
 * queue (or the idle LWP) and makes it LSONPROC under spcLwplock.
 */
function nextlwp(ci: CpuInfo): Lwp {
  const k = ci.k;
  let newl = ci.runq.best();
  if (newl !== null) {
    ci.runq.dequeue(newl);
    kassert(newl.mutex === ci.spcMutex && newl.cpu === ci, 'nextlwp: queued lwp not under this spc_mutex');
    newl.pflag |= LP_RUNNING;
    lwpSetlock(newl, ci.spcLwplock);
    k.setStat(newl, LSONPROC, 'switch');
  } else {
    newl = ci.idlelwp;
    newl.pflag |= LP_RUNNING;
    k.setStat(newl, LSONPROC, 'idle');
  }
  ci.wantResched = false;
  ci.curpriority = newl === ci.idlelwp ? PRI_IDLE : newl.priority;
  return newl;
}

function switchEvent(l: Lwp, newl: Lwp, voluntary: boolean): void {
  const k = l.k;
  k.emit({ type: 'switch', toPid: newl.proc.pid, toLid: newl.lid, voluntary, ...k.ev(l) });
}

/**
 * mi_switch: called with l = curlwp locked, its new state set.  Returns
 * with nothing locked, true if another LWP ran in between.
 */
export function* miSwitch(l: Lwp): Gen<boolean> {
  const k = l.k;
  const ci = l.cpu;
  kassert(l === k.curlwp(), 'mi_switch: not curlwp');
  kassert(ci === k.curcpu(), 'mi_switch: l.cpu is not this cpu');
  kassert(lwpLocked(l), () => `mi_switch: ${l.proc.pid}.${l.lid} not locked`);
  kassert((l.pflag & LP_RUNNING) !== 0, 'mi_switch: lwp not running');
  kassert(l.stat !== LSRUN, 'mi_switch: lwp is LSRUN');
  yield* mutexEnter(k, ci.spcMutex);
  const preempting = (l.pflag & LP_PREEMPTING) !== 0;
  if (l.stat === LSONPROC) {
    kassert(lwpLocked(l, ci.spcLwplock), 'mi_switch: running lwp not under spc_lwplock');
    if ((l.flag & LW_IDLE) === 0) {
      k.setStat(l, LSRUN, preempting ? 'preempt' : 'yield');
      lwpSetlock(l, ci.spcMutex);
      ci.runq.enqueue(l);
    } else {
      k.setStat(l, LSIDL, 'idle');
    }
  }
  const newl = nextlwp(ci);
  l.pflag &= ~LP_PREEMPTING;
  if (newl === l) {
    mutexExit(k, ci.spcMutex);
    lwpUnlock(l);
    return false;
  }
  // Release everything but l's own lock, then l's lock.
  if (l.mutex === ci.spcMutex) mutexExit(k, ci.spcLwplock);
  else mutexExit(k, ci.spcMutex);
  l.ncsw++;
  l.pflag &= ~LP_RUNNING;
  lwpUnlock(l);
  kassert(l.locks === 0, () => `mi_switch: ${l.proc.pid}.${l.lid} switching away holding ${l.locks} lock(s)`);
  ci.nswtch++;
  if (k.tracing) switchEvent(l, newl, !preempting);
  lwpctlSwitchOut(l); // lwpctl: off CPU
  ci.curlwp = newl;
  yield switchTo(newl.td);
  // Switched back in, perhaps on another CPU: publish where, and count it.
  lwpctlSwitchIn(l, k.curcpu()!.index);
  threadReap(l.cpu);
  return true;
}

/**
 * thread_reap (FreeBSD): free the stack of the LWP that last died on this
 * CPU.  A dead LWP cannot free the stack it is running on, so
 * lwp_exit_switchaway stashes it (thread_stash) and the next thread to run
 * here frees it.  Called on `ci` by whatever runs there next.
 */
export function threadReap(ci: CpuInfo): void {
  const td = ci.zombieTd;
  if (td === null) return;
  kassert(td.cpu === -1 && ci.curlwp.td !== td, () => `thread_reap: ${td.name}'s stack is still on a cpu`);
  td.frames.length = 0;
  td.traps.length = 0;
  ci.zombieTd = null;
}

/**
 * lwp_exit_switchaway: called by a dead LWP (LSZOMB) with nothing locked.
 * Picks the next LWP and leaves the CPU for good.
 */
export function* lwpExitSwitchaway(l: Lwp): Gen<never> {
  const k = l.k;
  const ci = l.cpu;
  kassert(l.stat === LSZOMB || l.stat === LSIDL, 'lwp_exit_switchaway: lwp not dead');
  kassert(ci === k.curcpu() && l === ci.curlwp, 'lwp_exit_switchaway: not curlwp');
  kassert(l.locks === 0, 'lwp_exit_switchaway: locks held');
  yield* mutexEnter(k, ci.spcMutex);
  const newl = nextlwp(ci);
  mutexExit(k, ci.spcMutex);
  ci.nswtch++;
  if (k.tracing) switchEvent(l, newl, true);
  l.pflag &= ~LP_RUNNING;
  lwpctlExited(l);
  ci.curlwp = newl;
  kassert(ci.zombieTd === null, 'lwp_exit_switchaway: a dead stack is already stashed here');
  ci.zombieTd = l.td; // thread_stash: the next thread here frees it
  yield switchTo(newl.td);
  return k.panic(`lwp ${l.proc.pid}.${l.lid} resumed after exit`);
}

/**
 * setrunnable: called with l.proc's p.lock held and l locked (not by a run
 * queue lock); returns with l unlocked.  Ends a stop or a suspension, or
 * aborts an interruptible sleep.
 */
export function* setrunnable(l: Lwp): Gen<void> {
  const k = l.k;
  const p = l.proc;
  kassert(mutexOwned(k, p.lock), 'setrunnable: p.lock not held');
  kassert(lwpLocked(l) && l.mutex !== l.cpu.spcMutex, 'setrunnable: lwp not locked, or locked by a run queue');
  kassert((l.flag & LW_IDLE) === 0, 'setrunnable: idle lwp');
  switch (l.stat) {
    case LSSTOP:
      p.nrlwps++;
      break;
    case LSSUSPENDED:
      l.flag &= ~LW_WSUSPEND;
      p.nrlwps++;
      yield* cvBroadcast(k, p.lwpcv);
      break;
    case LSSLEEP:
      kassert(l.wchan !== null, 'setrunnable: sleeping without a wait channel');
      break;
    default:
      k.panic(`setrunnable: lwp ${p.pid}.${l.lid} state was ${STAT_NAMES[l.stat]}`);
  }
  if (l.wchan !== null) {
    // Asleep underneath: take it off its sleep queue.
    if (l.stat !== LSSLEEP) k.setStat(l, LSSLEEP, 'setrunnable');
    yield* lwpUnsleep(l, true);
    return;
  }
  if ((l.pflag & LP_RUNNING) !== 0) {
    // Not yet switched away: it will notice on its way to mi_switch.
    k.setStat(l, LSONPROC, 'setrunnable');
    lwpUnlock(l);
    return;
  }
  const ci = schedTakecpu(l);
  yield* mutexEnter(k, ci.spcMutex);
  l.cpu = ci;
  lwpUnlockTo(l, ci.spcMutex);
  k.setStat(l, LSRUN, 'setrunnable');
  schedEnqueueRunnable(l);
  lwpUnlock(l);
}

/** preempt: called by curlwp with nothing locked; gives the CPU up involuntarily. */
export function* preempt(l: Lwp): Gen<void> {
  yield* lwpLock(l);
  kassert(lwpLocked(l, l.cpu.spcLwplock) && l.stat === LSONPROC, 'preempt: lwp not running');
  l.nivcsw++;
  l.pflag |= LP_PREEMPTING;
  yield* miSwitch(l);
}

/** yield: called by curlwp with nothing locked; gives the CPU to an equal or better LWP. */
export function* kyield(l: Lwp): Gen<void> {
  yield* lwpLock(l);
  kassert(lwpLocked(l, l.cpu.spcLwplock) && l.stat === LSONPROC, 'yield: lwp not running');
  yield* miSwitch(l);
}

/**
 * mi_userret: on the way back to user mode (end of a system call, or a
 * trap out of user time).  Reschedule if asked, then handle LW_USERRET.
 */
export function* miUserret(l: Lwp): Gen<void> {
  if (l.cpu.wantResched) yield* preempt(l);
  if ((l.flag & LW_USERRET) !== 0) yield* lwpUserret(l);
  kassert(l.locks === 0, () => `userret: ${l.proc.pid}.${l.lid} returning to user mode holding ${l.locks} lock(s)`);
}

/** idle_loop: the idle LWP of each CPU.  Halts until there is work, then switches to it. */
export function* idleLoop(ci: CpuInfo): Gen<never> {
  const l = ci.idlelwp;
  for (;;) {
    threadReap(ci);
    if (ci.runq.count === 0) {
      yield HALT;
      continue;
    }
    yield* lwpLock(l);
    yield* miSwitch(l);
  }
}
