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
import { HALT, burn, switchTo, type Gen, type Thread } from '../engine/coroutine.ts';
import type { CpuInfo } from './h/cpu.ts';
import type { Kernel } from './h/kernel.ts';
import type { Lwp } from './h/lwp.ts';
import { critPanic, kpreemptPoint, lwktRelAll, lwktSwitchPick } from './lwkt.ts';
import { lwpLock, lwpLocked, lwpSetlock, lwpUnlock, lwpUnlockTo, mutexEnter, mutexExit, mutexOwned } from './mutex.ts';
import { cvBroadcast, lwpUnsleep } from './sleepq.ts';
import { lwpUserret } from './lwp.ts';
import { lwpctlExited, lwpctlSwitchIn, lwpctlSwitchOut } from './lwpctl.ts';
import {
  LP_PREEMPTING, LP_RUNNING, LSIDL, LSONPROC, LSRUN, LSSLEEP, LSSTOP, LSSUSPENDED, LSZOMB,
  IPI_LATENCY, LP_BOUND, LW_IDLE, LW_USERRET, LW_WSUSPEND, SCHED_FIFO, STAT_NAMES,
} from './param.ts';
import { kassert } from './panic.ts';
import { kseRequeue, kseSetrunqueue, kseSwitchout, threadUserret } from './kse.ts';
import { DONE } from './done.ts';
import { priLevel } from './runq.ts';

/* Assertion messages, built only when one fails (no closure per call). */
const takecpuLocked = (l: Lwp): string => `sched_takecpu: lwp ${l.proc.pid}.${l.lid} not locked`;
const takecpuNowhere = (l: Lwp): string => `sched_takecpu: lwp ${l.proc.pid}.${l.lid} may run nowhere`;
const reapMsg = (td: Thread): string => `thread_reap: ${td.name}'s stack is still on a cpu`;
const userretMsg = (l: Lwp): string => `userret: ${l.proc.pid}.${l.lid} returning to user mode holding ${l.locks} lock(s)`;

/** sched_migratable: may l run on ci (its affinity mask allows it)? */
export function schedMigratable(l: Lwp, ci: CpuInfo): boolean {
  const a = l.affinity;
  return a === null || a.includes(ci.index);
}

/**
 * sched_takecpu (kern_runq.c, without its cache-hotness estimate): the CPU
 * l should be queued on.  Called with l locked.  A bound LWP stays put; a
 * pending migration (l.targetCpu) is honoured; otherwise l stays where it
 * was (its creator's CPU for a new LWP) if that CPU is idle, else goes to
 * the least loaded CPU its affinity allows, preferring where it was on a
 * tie, then the lowest index.  Load is queued LWPs plus one for a busy CPU.
 */
export function schedTakecpu(l: Lwp): CpuInfo {
  kassert(lwpLocked(l), takecpuLocked, l);
  const cur = l.cpu;
  if ((l.pflag & LP_BOUND) !== 0) return cur;
  if (l.targetCpu !== null) return l.targetCpu;
  const cpus = l.k.cpus;
  if (cpus.length === 1) return cur;
  const curOk = schedMigratable(l, cur);
  let best: CpuInfo | null = curOk ? cur : null;
  let bestLoad = curOk ? load(cur) : Infinity;
  if (bestLoad === 0) return cur;
  for (const ci of cpus) {
    const ld = load(ci);
    if (ld < bestLoad && schedMigratable(l, ci)) {
      best = ci;
      bestLoad = ld;
    }
  }
  kassert(best !== null, takecpuNowhere, l);
  return best;
}

function load(ci: CpuInfo): number {
  return ci.runq.count + (ci.curlwp === ci.idlelwp ? 0 : 1);
}

/**
 * Put l (locked) on ci.  A migration pending towards ci stays pending until
 * l runs there (lwktSwitchPick): until then no idle CPU may steal it elsewhere.
 */
export function placeOn(l: Lwp, ci: CpuInfo): void {
  l.cpu = ci;
}

/**
 * sched_enqueue(l, false) + resched_cpu: called with l LSRUN and locked by
 * l.cpu's spcMutex.  Puts it on the run queue and, if its level is above
 * what the CPU runs now, asks that CPU to reschedule.  Otherwise it waits
 * here, and a halted CPU that may run it is kicked to come and steal it.
 */
export function schedEnqueueRunnable(l: Lwp): void {
  const ci = l.cpu;
  kassert(l.stat === LSRUN && lwpLocked(l, ci.spcMutex), 'sched_enqueue: lwp not LSRUN under spc_mutex');
  if (l.kse !== null && kseSetrunqueue(l)) return;
  schedEnqueueCpu(l);
}

/** sched_enqueue's queueing and resched: l is LSRUN and on no queue (the KSE code calls it for threads it assigns). */
export function schedEnqueueCpu(l: Lwp): void {
  const ci = l.cpu;
  ci.runq.enqueue(l);
  if (priLevel(l.priority) > ci.curlevel) cpuNeedResched(ci, 'wakeup');
  else if (l.k.nhalted !== 0) kickThief(ci, l);
}

/**
 * An idle CPU that could take l from ci: kick the first halted one l's
 * affinity allows (an IPI), so that its idle loop steals work.
 */
function kickThief(ci: CpuInfo, l: Lwp): void {
  if ((l.pflag & LP_BOUND) !== 0 || l.preemptLock) return;
  const k = l.k;
  for (const t of k.cpus) {
    if (!t.halted || t === ci || !schedMigratable(l, t)) continue;
    // The wake-up is an IPI: it takes IPI_LATENCY ticks to land.
    ipiEvent(k, t, 'steal');
    t.halted = false;
    k.nhalted--;
    k.engine.timeout(IPI_LATENCY, () => k.engine.kick(t.hw));
    return;
  }
}

function ipiEvent(k: Kernel, ci: CpuInfo, why: string): void {
  if (!k.tracing) return;
  const h = k.ev(k.curlwp()); // written out: a spread first costs microseconds
  k.emit({ t: h.t, cpu: h.cpu, pid: h.pid, lid: h.lid, type: 'ipi', target: ci.index, why });
}

/**
 * cpu_need_resched: ask `ci` to pick again.  An idle CPU is kicked awake;
 * another busy CPU gets an AST (an IPI) that cuts its user time short.
 * A CPU whose current LWP is inside a critical section takes it only at
 * the outermost critExit (the seed's gd_reqpri).
 */
export function cpuNeedResched(ci: CpuInfo, why: string): void {
  const k = ci.k;
  ci.wantResched = true;
  const self = k.curcpu();
  if (ci === self) return;
  ipiEvent(k, ci, why);
  if (ci.curlwp === ci.idlelwp) {
    if (ci.halted) {
      ci.halted = false;
      k.nhalted--;
    }
    k.engine.kick(ci.hw);
  } else if (ci.curlwp.crit !== 0) ci.astDeferred = true;
  else k.engine.interrupt(ci.hw);
}

function switchEvent(l: Lwp, newl: Lwp, voluntary: boolean): void {
  const k = l.k;
  k.emitFor(l, { type: 'switch', toPid: newl.proc.pid, toLid: newl.lid, voluntary });
}

/**
 * mi_switch: called with l = curlwp locked, its new state set.  Returns
 * with nothing locked, true if another LWP ran in between.  The work is in
 * plain functions around the two waits (spc_mutex, the switch), so that a
 * sleeping LWP's frame here stays small.
 */
export function* miSwitch(l: Lwp): Gen<boolean> {
  miSwitchCheck(l);
  yield* mutexEnter(l.k, l.cpu.spcMutex);
  const voluntary = (l.pflag & LP_PREEMPTING) === 0;
  const newl = miSwitchPick(l);
  if (newl === null) return false;
  kassert(l.locks === 0, holdingMsg, l);
  cpuSwitchOut(l, newl, voluntary);
  yield switchTo(newl.td);
  // Switched back in, perhaps on another CPU: publish where, and count it.
  lwpctlSwitchIn(l, l.k.curcpu()!.index);
  threadReap(l.cpu);
  return true;
}

const holdingMsg = (l: Lwp): string => `mi_switch: ${l.proc.pid}.${l.lid} switching away holding ${l.locks} lock(s)`;
const notLockedMsg = (l: Lwp): string => `mi_switch: ${l.proc.pid}.${l.lid} not locked`;

/** mi_switch's entry assertions and the critical-section check. */
function miSwitchCheck(l: Lwp): void {
  const k = l.k;
  kassert(l === k.curlwp(), 'mi_switch: not curlwp');
  kassert(l.cpu === k.curcpu(), 'mi_switch: l.cpu is not this cpu');
  kassert(lwpLocked(l), notLockedMsg, l);
  kassert((l.pflag & LP_RUNNING) !== 0, 'mi_switch: lwp not running');
  kassert(l.stat !== LSRUN, 'mi_switch: lwp is LSRUN');
  if (l.crit !== 0) critPanic(l, 'switching out inside a critical section');
}

/**
 * mi_switch with l locked and l.cpu's spcMutex taken: requeue a still
 * running l, pick the next LWP and release every lock.  Returns the LWP to
 * switch to, or null when l keeps the CPU.
 */
function miSwitchPick(l: Lwp): Lwp | null {
  const k = l.k;
  const ci = l.cpu;
  const preempting = (l.pflag & LP_PREEMPTING) !== 0;
  if (l.kse !== null && l.stat !== LSONPROC) kseSwitchout(l, ci);
  if (l.stat === LSONPROC) {
    kassert(lwpLocked(l, ci.spcLwplock), 'mi_switch: running lwp not under spc_lwplock');
    if ((l.flag & LW_IDLE) === 0) {
      k.setStat(l, LSRUN, preempting ? 'preempt' : 'yield');
      lwpSetlock(l, ci.spcMutex);
      ci.runq.enqueue(l);
      // Handle migration: the idle LWP moves it (sched_idle).
      if (l.targetCpu !== null) {
        if (l.targetCpu === ci) l.targetCpu = null;
        else ci.migrating = l;
      }
      if (l.kse !== null) kseRequeue(l);
    } else {
      k.setStat(l, LSIDL, 'idle');
    }
  } else if (l.stat === LSIDL && (l.flag & LW_IDLE) === 0) {
    // A kernel thread that descheduled itself: off the CPU, under spc_mutex.
    lwpSetlock(l, ci.spcMutex);
  }
  if (l.toks !== null) lwktRelAll(l);
  const newl = lwktSwitchPick(ci, l);
  l.pflag &= ~LP_PREEMPTING;
  if (newl === l) {
    mutexExit(k, ci.spcMutex);
    lwpUnlock(l);
    return null;
  }
  // Something is left queued behind the new LWP: an idle CPU may steal it.
  if (k.nhalted !== 0 && ci.runq.count !== 0) {
    const w = ci.runq.best()!;
    kickThief(ci, w);
  }
  // Release everything but l's own lock, then l's lock.
  if (l.mutex === ci.spcMutex) mutexExit(k, ci.spcLwplock);
  else mutexExit(k, ci.spcMutex);
  l.ncsw++;
  l.pflag &= ~LP_RUNNING;
  lwpUnlock(l);
  return newl;
}

/** The last step before cpu_switchto: count it, tell the event stream and lwpctl, make newl curlwp. */
function cpuSwitchOut(l: Lwp, newl: Lwp, voluntary: boolean): void {
  const ci = l.cpu;
  ci.nswtch++;
  if (l.k.tracing) switchEvent(l, newl, voluntary);
  lwpctlSwitchOut(l); // lwpctl: off CPU
  ci.curlwp = newl;
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
  kassert(td.cpu === -1 && ci.curlwp.td !== td, reapMsg, td);
  td.frames.length = 0;
  td.traps = null;
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
  if (l.crit !== 0) critPanic(l, 'exiting inside a critical section');
  if (l.toks !== null) lwktRelAll(l);
  yield* mutexEnter(k, ci.spcMutex);
  const newl = lwktSwitchPick(ci, l);
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
  placeOn(l, ci);
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

/**
 * yield: called by curlwp with nothing locked; gives the CPU to an equal or
 * better LWP.  A plain function when l's lock is free: mi_switch's
 * generator is then the only one made.
 */
export function kyield(l: Lwp): Gen<unknown> {
  const lock = lwpLock(l);
  return lock === DONE ? kyieldLocked(l) : kyieldWait(lock, l);
}

function* kyieldWait(lock: Gen<void>, l: Lwp): Gen<unknown> {
  yield* lock;
  return yield* kyieldLocked(l);
}

function kyieldLocked(l: Lwp): Gen<boolean> {
  kassert(lwpLocked(l, l.cpu.spcLwplock) && l.stat === LSONPROC, 'yield: lwp not running');
  return miSwitch(l);
}

/**
 * mi_userret: on the way back to user mode (end of a system call, or a
 * trap out of user time).  Reschedule if asked, then handle LW_USERRET.
 */
export function miUserret(l: Lwp): Gen<void> {
  if (l.cpu.wantResched || (l.flag & LW_USERRET) !== 0 || l.kse !== null) return miUserretWork(l);
  userretLocks(l);
  return DONE; // nothing to do: no generator
}

function* miUserretWork(l: Lwp): Gen<void> {
  if (l.cpu.wantResched) yield* preempt(l);
  if ((l.flag & LW_USERRET) !== 0) yield* lwpUserret(l);
  if (l.kse !== null) yield* threadUserret(l);
  userretLocks(l);
}

function userretLocks(l: Lwp): void {
  kassert(l.locks === 0, userretMsg, l);
}

/**
 * sched_tick: the CPU's time slice ran out in user mode.  Yield if
 * something else of at least our level waits here (SCHED_FIFO: only a
 * higher level): the kernel path to trap into, or null to keep running.
 */
export function schedTick(ci: CpuInfo): Gen<void> | null {
  const l = ci.curlwp;
  const top = ci.runq.maxLevel();
  if (top < ci.curlevel || (top === ci.curlevel && l.class === SCHED_FIFO)) return null;
  ci.wantResched = true;
  return miUserret(l);
}

/**
 * The AST trap: a preemption an interrupt thread asked for (lwkt_preempt),
 * then mi_userret.  Called on the way out of user time, curlwp unlocked.
 */
export function* astTrap(ci: CpuInfo): Gen<void> {
  const l = ci.curlwp;
  const p = kpreemptPoint(ci);
  if (p !== null && ci.preemptReq !== null) yield* p;
  yield* miUserret(l);
}

/**
 * idle_loop: the idle LWP of each CPU.  Moves an LWP waiting to migrate
 * away and steals work from a busy CPU (sched_idle), switches to what its
 * queue holds, and halts when there is nothing it can run.
 */
export function* idleLoop(ci: CpuInfo): Gen<never> {
  const l = ci.idlelwp;
  const k = ci.k;
  for (;;) {
    threadReap(ci);
    const moved = ci.migrating !== null ? yield* schedMigrateAway(ci) : null;
    if (ci.runq.count === 0 && k.cpus.length > 1) yield* schedSteal(ci, moved);
    if (ci.runq.count !== 0) {
      yield* lwpLock(l);
      if (yield* miSwitch(l)) continue;
      // Everything queued waits for tokens held elsewhere: wait to be kicked.
    }
    if (ci.migrating !== null) continue;
    ci.halted = true;
    k.nhalted++;
    yield HALT;
    if (ci.halted) {
      ci.halted = false;
      k.nhalted--;
    }
  }
}

/** Take both CPUs' spc_mutex, lower index first (spc_dlock). */
function* spcDlock(a: CpuInfo, b: CpuInfo): Gen<void> {
  const k = a.k;
  const [x, y] = a.index < b.index ? [a, b] : [b, a];
  yield* mutexEnter(k, x.spcMutex);
  yield* mutexEnter(k, y.spcMutex);
}

function spcDunlock(a: CpuInfo, b: CpuInfo): void {
  mutexExit(a.k, a.spcMutex);
  mutexExit(a.k, b.spcMutex);
}

/**
 * sched_idle's first half: the LWP in ci.migrating switched away with a
 * target CPU; move it from this run queue to the target's.  Called by the
 * idle LWP with nothing locked.
 */
function* schedMigrateAway(ci: CpuInfo): Gen<Lwp | null> {
  const k = ci.k;
  const l = ci.migrating!;
  const tci = l.targetCpu;
  if (tci === null || tci === ci || l.stat !== LSRUN || l.cpu !== ci) {
    // Retargeted here, or already moved on: nothing to do.
    yield* mutexEnter(k, ci.spcMutex);
    if (ci.migrating === l) ci.migrating = null;
    if (l.targetCpu === ci) l.targetCpu = null;
    mutexExit(k, ci.spcMutex);
    return null;
  }
  yield* spcDlock(ci, tci);
  if (ci.migrating === l && l.targetCpu === tci && l.stat === LSRUN && l.cpu === ci) {
    ci.migrating = null;
    l.targetCpu = null;
    ci.runq.dequeue(l);
    l.cpu = tci;
    lwpSetlock(l, tci.spcMutex);
    if (k.tracing) k.setStat(l, LSRUN, 'migrate');
    schedEnqueueRunnable(l);
    spcDunlock(ci, tci);
    return l;
  }
  spcDunlock(ci, tci);
  return null;
}

/**
 * sched_idle's second half and sched_catchlwp: an idle CPU takes the best
 * LWP it may run from the busiest CPU's queue (one that is running
 * something else, so the LWP is really waiting).  Bound LWPs, LWPs being
 * preempted or on their way elsewhere, and LWPs whose affinity excludes
 * this CPU are left alone.  Called by the idle LWP with nothing locked.
 */
function* schedSteal(ci: CpuInfo, moved: Lwp | null): Gen<void> {
  const k = ci.k;
  let victim: CpuInfo | null = null;
  for (const c of k.cpus) {
    if (c === ci || c.runq.count === 0 || c.curlwp === c.idlelwp) continue;
    if (victim === null || c.runq.count > victim.runq.count) victim = c;
  }
  if (victim === null) return;
  // The LWP this pass just moved away is cache-hot (sched_catchlwp's lwp_cache_hot): not pulled back.
  const ok = (l: Lwp): boolean => l !== moved && (l.pflag & LP_BOUND) === 0 && !l.preemptLock && l.targetCpu === null && schedMigratable(l, ci);
  if (victim.runq.pick(ok) === null) return;
  yield* spcDlock(ci, victim);
  const l = victim.curlwp !== victim.idlelwp ? victim.runq.pick(ok) : null;
  if (l !== null && victim.migrating !== l) {
    victim.runq.dequeue(l);
    l.cpu = ci;
    lwpSetlock(l, ci.spcMutex);
    if (k.tracing) k.setStat(l, LSRUN, 'steal');
    ci.runq.enqueue(l);
  }
  spcDunlock(ci, victim);
  // Pulling a thread over is not free (its cache state stays behind): a tick.
  if (l !== null) yield STEAL_COST;
}

const STEAL_COST = burn(1);
