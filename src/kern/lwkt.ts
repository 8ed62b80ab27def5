/*
 * The DragonFly LWKT half of the dispatcher: lwkt_thread.c 1.12, whole
 * ideas, on top of the NetBSD switch in synch.ts (one dispatcher, one run
 * queue per CPU: runq.ts).
 *
 * Models crit_enter/crit_exit (with gd_reqpri: work deferred to the
 * outermost exit), crit_panic, lwkt_preempt (and its preempt_hit,
 * preempt_miss, preempt_weird counters), lwkt_switch's switch_count,
 * lwkt_yield, lwkt_yield_quick (and untimely_switch), lwkt_schedule_self,
 * lwkt_schedule, lwkt_deschedule_self, lwkt_deschedule, lwkt_setpri,
 * lwkt_setpri_self, lwkt_preempted_proc, lwkt_block, lwkt_signal,
 * lwkt_gettoken, lwkt_reltoken, lwkt_regettoken, lwkt_alloc_thread,
 * lwkt_free_thread, lwkt_create, kthread_create and lwkt_exit.
 *
 * How the seed's thread states map onto NetBSD's (kernel threads only;
 * the 'system' edges of src/check/transitions.ts):
 *   scheduled, on the run queue (TDF_RUNQ)   LSRUN under spcMutex
 *   running                                  LSONPROC under spcLwplock
 *   descheduled, off the CPU                 LSIDL under spcMutex
 *   descheduled itself, not yet switched     LSIDL with LP_RUNNING, spcLwplock
 *
 * Where the seed panics on a thread owned by another CPU ("cpu mismatch"),
 * the model does what later DragonFly does: it sends that CPU an IPI
 * message (an engine timer IPI_LATENCY ticks away, preceded by a choice
 * point) and the message acts there.  A message, or an interrupt, that
 * reaches a CPU whose current thread is inside a critical section waits in
 * ci.ipiq until that thread's outermost critExit.
 *
 * Tokens (later DragonFly's serializing tokens, which the 1.12 stubs
 * foreshadow): a thread owns its tokens only while it runs.  Every switch
 * away releases them all (the thread keeps its references); the switch
 * gives a thread the CPU only if it can have all of them again, so no two
 * running threads ever share an exclusive token.  Exclusive and shared
 * modes, and a pool of tokens keyed by object, are provided.
 */
import { choice, type Gen } from '../engine/coroutine.ts';
import type { CpuInfo } from './h/cpu.ts';
import { Lwp } from './h/lwp.ts';
import type { Kernel } from './h/kernel.ts';
import type { Proc } from './h/proc.ts';
import { lwpLock, lwpLocked, lwpSetlock, lwpUnlock, mutexEnter, mutexExit, mutexTryEnter } from './mutex.ts';
import { priLevel } from './runq.ts';
import {
  CACHE_NTHREADS, IPI_LATENCY, LP_BOUND, LP_MPSAFE, LP_PREEMPTING, LP_RUNNING, LSIDL, LSONPROC, LSRUN, LSZOMB,
  LW_IDLE, LW_SYSTEM, NQS, PRI_IDLE, PRI_INTR_MAX, PRI_KTHREAD,
} from './param.ts';
import { kassert } from './panic.ts';
import { lwpExitSwitchaway, miSwitch, preempt, schedEnqueueRunnable, threadReap } from './synch.ts';
import { EINVAL } from './errno.ts';
import { type IpiMsg, LwktToken, type LwktWait, type TokRef } from './h/lwkt.ts';
import { kseRemrunqueue } from './kse.ts';

/* ------------------------------------------------------------------ */
/* Critical sections                                                    */

/** crit_panic: a critical-section count went negative, or a thread tried to switch inside one. */
export function critPanic(l: Lwp, why: string): never {
  const n = l.crit;
  l.crit = 0;
  return l.k.panic(`crit_panic: lwp ${l.proc.pid}.${l.lid} ${why} (crit count ${n})`);
}

/** crit_enter: called by curlwp.  Nests. */
export function critEnter(l: Lwp): void {
  kassert(l === l.k.curlwp(), 'crit_enter: not curlwp');
  l.crit++;
}

/**
 * crit_exit: called by curlwp inside a critical section.  The outermost
 * exit runs what arrived meanwhile: IPI messages and interrupts queued on
 * this CPU, then a deferred preemption (at once if no spin lock is held,
 * else at the next AST).
 */
export function* critExit(l: Lwp): Gen<void> {
  const k = l.k;
  kassert(l === k.curlwp(), 'crit_exit: not curlwp');
  if (l.crit <= 0) critPanic(l, 'crit count would go negative');
  if (--l.crit !== 0) return;
  const ci = l.cpu;
  if (ci.ipiq.length !== 0) splz(ci);
  if (ci.astDeferred) {
    ci.astDeferred = false;
    yield* takePreemption(l);
  }
}

/** splz: run the IPI messages and interrupts deferred on ci (its thread just left its critical section). */
function splz(ci: CpuInfo): void {
  const q = ci.ipiq.splice(0);
  ci.reqpri = -1;
  for (const m of q) runMsg(ci, m);
}

/** Take a pending preemption on curlwp now, if it may switch; else leave it for the next AST. */
function* takePreemption(l: Lwp): Gen<void> {
  const ci = l.cpu;
  if (l.locks !== 0 || l.stat !== LSONPROC || (l.flag & LW_IDLE) !== 0) {
    if (ci.wantResched || ci.preemptReq !== null) l.td.astPending = true;
    return;
  }
  const req = ci.preemptReq;
  if (req !== null) {
    ci.preemptReq = null;
    yield* lwktPreempt(l, req);
  } else if (ci.wantResched) yield* preempt(l);
}

/* ------------------------------------------------------------------ */
/* IPI messages                                                         */

/**
 * cpu_sendnormsg: send msg to ci.  A choice point (another CPU may move
 * first), then the message travels IPI_LATENCY ticks.  Called by curlwp.
 */
export function* ipiSend(from: Lwp, ci: CpuInfo, msg: IpiMsg): Gen<void> {
  const k = from.k;
  yield choice(`ipi cpu${ci.index}`);
  if (k.tracing) k.emitFor(from, { type: 'ipi', target: ci.index, why: msg.what });
  k.engine.timeout(IPI_LATENCY, () => ipiDeliver(ci, msg));
}

/** The message lands on ci (interrupt context): deferred if ci's thread is in a critical section. */
export function ipiDeliver(ci: CpuInfo, msg: IpiMsg): void {
  if (ci.curlwp.crit !== 0) {
    ci.ipiq.push(msg);
    if (msg.level > ci.reqpri) ci.reqpri = msg.level;
    return;
  }
  runMsg(ci, msg);
}

function runMsg(ci: CpuInfo, msg: IpiMsg): void {
  if (!msg.fn()) ci.k.engine.timeout(1, () => ipiDeliver(ci, msg));
}

/* ------------------------------------------------------------------ */
/* Scheduling and descheduling                                          */

/**
 * The body of lwkt_schedule on the owning CPU: td (LW_SYSTEM) locked.  A
 * descheduled thread is queued (or, if it has not switched away yet, just
 * marked running again); a scheduled one is left alone.  A thread on a
 * wait queue is taken off it, as the seed does.
 */
function doSchedule(td: Lwp): void {
  const k = td.k;
  kassert(lwpLocked(td), 'lwkt_schedule: thread not locked');
  if (td.lwktWait !== null) unwait(td);
  if (td.stat !== LSIDL) return;
  if ((td.pflag & LP_RUNNING) !== 0) {
    k.setStat(td, LSONPROC, 'schedule');
    return;
  }
  kassert(td.mutex === td.cpu.spcMutex, 'lwkt_schedule: descheduled thread not under spc_mutex');
  k.setStat(td, LSRUN, 'schedule');
  schedEnqueueRunnable(td);
}

/** The body of lwkt_deschedule on the owning CPU: td locked. */
function doDeschedule(td: Lwp): void {
  const k = td.k;
  if (td.stat === LSRUN) {
    td.cpu.runq.dequeue(td);
    k.setStat(td, LSIDL, 'deschedule');
  } else if (td.stat === LSONPROC) {
    k.setStat(td, LSIDL, 'deschedule'); // runs on until it switches, then stays off
  }
}

/** Run fn with td locked from interrupt context; false if its lock is busy (try again). */
function withLockIntr(td: Lwp, fn: (td: Lwp) => void): boolean {
  const k = td.k;
  const m = td.mutex;
  if (!mutexTryEnter(k, m)) return false;
  if (td.mutex !== m) {
    mutexExit(k, m);
    return false;
  }
  fn(td);
  mutexExit(k, m);
  return true;
}

function assertKthread(td: Lwp, what: string): void {
  kassert((td.flag & LW_SYSTEM) !== 0 && (td.flag & LW_IDLE) === 0, () => `${what}: lwp ${td.proc.pid}.${td.lid} is not a kernel thread`);
}

/** lwkt_schedule_self: curlwp (a kernel thread) makes sure it is scheduled. */
export function* lwktScheduleSelf(l: Lwp): Gen<void> {
  kassert(l === l.k.curlwp(), 'lwkt_schedule_self: not curlwp');
  kassert(l.lwktWait === null, 'lwkt_schedule_self: on a wait queue');
  if (l.stat !== LSIDL) return;
  yield* lwpLock(l);
  doSchedule(l);
  lwpUnlock(l);
}

/**
 * lwkt_schedule: make kernel thread td runnable.  On our CPU (or from the
 * host) it is done here; on another CPU an IPI message does it there and
 * this returns before it has happened.  With untimely_switch the caller
 * then yields at once (wakeups switch immediately).
 */
export function* lwktSchedule(cur: Lwp | null, td: Lwp): Gen<void> {
  assertKthread(td, 'lwkt_schedule');
  const k = td.k;
  const ci = k.curcpu();
  if (cur !== null && td === cur) return yield* lwktScheduleSelf(cur);
  if (ci === null || cur === null || td.cpu === ci) {
    yield* lwpLock(td);
    doSchedule(td);
    lwpUnlock(td);
  } else {
    yield* ipiSend(cur, td.cpu, scheduleMsg(td));
  }
  if (k.lwkt.untimelySwitch !== 0 && cur !== null && ci !== null) yield* lwktYieldQuick(cur);
}

function scheduleMsg(td: Lwp): IpiMsg {
  return { what: `schedule ${td.proc.pid}.${td.lid}`, level: priLevel(td.priority), fn: () => withLockIntr(td, doSchedule) };
}

/** lwkt_deschedule_self: curlwp stops being runnable; it runs on until it switches (lwktSwitch). */
export function* lwktDescheduleSelf(l: Lwp): Gen<void> {
  assertKthread(l, 'lwkt_deschedule_self');
  kassert(l === l.k.curlwp() && l.lwktWait === null, 'lwkt_deschedule_self: not curlwp, or on a wait queue');
  yield* lwpLock(l);
  doDeschedule(l);
  lwpUnlock(l);
}

/** lwkt_deschedule: take kernel thread td off its run queue; by IPI when it belongs to another CPU. */
export function* lwktDeschedule(cur: Lwp, td: Lwp): Gen<void> {
  assertKthread(td, 'lwkt_deschedule');
  if (td === cur) return yield* lwktDescheduleSelf(cur);
  if (td.cpu === cur.k.curcpu()) {
    yield* lwpLock(td);
    doDeschedule(td);
    lwpUnlock(td);
  } else {
    yield* ipiSend(cur, td.cpu, { what: `deschedule ${td.proc.pid}.${td.lid}`, level: priLevel(td.priority), fn: () => withLockIntr(td, doDeschedule) });
  }
}

/**
 * lwkt_switch: curlwp gives up the CPU; back on the queue if still
 * scheduled, off it if not.  The switch is mi_switch's (synch.ts); the
 * choice of what runs next, with lwkt_preempt's hand-off and resume, is
 * lwktSwitchPick below.
 */
export function* lwktSwitch(l: Lwp): Gen<boolean> {
  yield* lwpLock(l);
  return yield* miSwitch(l);
}

/** Can l be switched in: can it have every token it holds, and the one it waits for? */
function canRun(l: Lwp): boolean {
  return (l.toks === null || l.toks.length === 0) && l.wantTok === null ? true : lwktCanGetAll(l);
}

/**
 * lwkt_switch's pick (what sched_nextlwp is to mi_switch, which calls it
 * here): called with ci's spcMutex
 * held by `prev`, the LWP leaving the CPU.  In order: the LWP prev had
 * preempted (resumed the moment prev blocks, queued or not); a hand-off
 * asked by lwkt_preempt; the idle LWP while an LWP waits to migrate away;
 * the first LWP of the best level that can have all its tokens; the idle
 * LWP.  Makes it LSONPROC under spcLwplock and gives it its tokens.
 */
export function lwktSwitchPick(ci: CpuInfo, prev: Lwp): Lwp {
  const k = ci.k;
  k.lwkt.switchCount++;
  let newl: Lwp | null = null;
  let pre: Lwp | null = null;
  if (ci.handoff !== null) {
    // prev is being preempted: whatever prev had preempted stays chained to it.
    newl = ci.handoff;
    ci.handoff = null;
    if (newl.stat !== LSRUN || newl.cpu !== ci || !canRun(newl)) newl = null;
  }
  if (newl === null && prev.preempted !== null) {
    pre = prev.preempted;
    prev.preempted = null;
    pre.preemptLock = false;
    if (pre.cpu === ci && canRun(pre) && (pre.stat === LSRUN || pre.stat === LSIDL)) newl = pre;
  }
  if (newl === null && ci.migrating === null) {
    newl = ci.runq.best();
    if (newl !== null && !canRun(newl)) newl = ci.runq.pick(canRun);
  }
  if (newl !== null) {
    if (newl.stat === LSRUN) {
      ci.runq.dequeue(newl);
      if (newl.kse !== null) kseRemrunqueue(newl);
    }
    if (newl.targetCpu === ci) newl.targetCpu = null; // the migration ends here
    kassert(newl.mutex === ci.spcMutex && newl.cpu === ci, 'lwkt_switch: queued lwp not under this spc_mutex');
    newl.pflag |= LP_RUNNING;
    lwpSetlock(newl, ci.spcLwplock);
    k.setStat(newl, LSONPROC, newl === pre ? 'resume' : 'switch');
    if (newl.toks !== null || newl.wantTok !== null) lwktGetAll(newl);
    ci.curpriority = newl.priority;
    ci.curlevel = priLevel(newl.priority);
  } else {
    newl = ci.idlelwp;
    newl.pflag |= LP_RUNNING;
    k.setStat(newl, LSONPROC, 'idle');
    ci.curpriority = PRI_IDLE;
    ci.curlevel = -1;
  }
  ci.wantResched = false;
  return newl;
}

/** lwkt_yield: schedule ourselves and switch: equal-level threads get a turn too. */
export function* lwktYield(l: Lwp): Gen<void> {
  if ((l.flag & LW_SYSTEM) !== 0) yield* lwktScheduleSelf(l);
  yield* lwktSwitch(l);
}

/**
 * lwkt_yield_quick: run interrupts deferred above our level, then switch
 * only if a higher level waits here (or always, with untimely_switch).
 * Does nothing inside a critical section or holding a spin lock.
 */
export function* lwktYieldQuick(l: Lwp): Gen<void> {
  const ci = l.cpu;
  const lv = priLevel(l.priority);
  if (l.crit !== 0 || l.locks !== 0) return;
  if (ci.reqpri > lv && ci.ipiq.length !== 0) splz(ci);
  if (l.k.lwkt.untimelySwitch !== 0 || ci.runq.maxLevel() > lv) yield* lwktYield(l);
}

/**
 * lwkt_setpri: set td's level (0..31, TDPRI_*; its NetBSD priority becomes
 * level*8).  A queued thread moves to its new level's tail.  No switch is
 * made, even if td now outranks the running thread: yield for that.
 */
export function* lwktSetpri(td: Lwp, level: number): Gen<void> {
  kassert(Number.isInteger(level) && level >= 0 && level < NQS, () => `lwkt_setpri: level ${level}`);
  yield* lwpLock(td);
  setLevel(td, level);
  lwpUnlock(td);
}

/** lwkt_setpri_self: the same for curlwp. */
export function* lwktSetpriSelf(l: Lwp, level: number): Gen<void> {
  kassert(l === l.k.curlwp(), 'lwkt_setpri_self: not curlwp');
  yield* lwktSetpri(l, level);
}

/** Change l's priority (locked), requeueing it if queued; shared with sched_setparam. */
export function setLevel(l: Lwp, level: number): void {
  changePri(l, level << 3);
}

export function changePri(l: Lwp, pri: number): void {
  kassert(lwpLocked(l), 'changepri: lwp not locked');
  if (l.stat === LSRUN && l.rq !== null) {
    const rq = l.rq;
    rq.dequeue(l);
    l.priority = pri;
    rq.enqueue(l);
  } else l.priority = pri;
  if (l.stat === LSONPROC && l.cpu.curlwp === l) {
    l.cpu.curpriority = pri;
    l.cpu.curlevel = priLevel(pri);
  }
}

/**
 * lwkt_preempt: called by curlwp td (from an interrupt's AST, or kernel
 * code) to let ntd, queued on this CPU, run at once.  Only a strictly
 * higher level preempts (else preempt_miss); never oneself or a thread
 * already being preempted (preempt_weird); if ntd is already preempting
 * someone the seed counts a hit and does nothing.  On a hit td goes back
 * on its queue marked TDF_PREEMPT_LOCK and resumes the moment ntd blocks.
 * Inside a critical section the attempt waits for the outermost critExit.
 */
export function* lwktPreempt(td: Lwp, ntd: Lwp): Gen<void> {
  const k = td.k;
  const ci = td.cpu;
  kassert(td === k.curlwp(), 'lwkt_preempt: not curlwp');
  if (td.crit !== 0) {
    ci.preemptReq = ntd;
    ci.astDeferred = true;
    return;
  }
  if (td === ntd || td.preemptLock || ntd.preemptLock) {
    k.lwkt.preemptWeird++;
    return;
  }
  if (ntd.preempted !== null) {
    k.lwkt.preemptHit++;
    return;
  }
  if (priLevel(ntd.priority) <= priLevel(td.priority) || (td.flag & LW_IDLE) !== 0 || ntd.cpu !== ci) {
    k.lwkt.preemptMiss++;
    return;
  }
  if (ntd.stat === LSIDL) yield* lwktSchedule(td, ntd);
  if (ntd.stat !== LSRUN || td.locks !== 0 || td.stat !== LSONPROC) {
    k.lwkt.preemptMiss++;
    return;
  }
  k.lwkt.preemptHit++;
  ntd.preempted = td;
  td.preemptLock = true;
  yield* lwpLock(td);
  td.nivcsw++;
  td.pflag |= LP_PREEMPTING;
  ci.handoff = ntd;
  yield* miSwitch(td);
}

/** lwkt_preempted_proc: the process of the thread at the bottom of curlwp's preemption chain. */
export function lwktPreemptedProc(l: Lwp): Proc {
  let td = l;
  while (td.preempted !== null) td = td.preempted;
  return td.proc;
}

/* ------------------------------------------------------------------ */
/* Interrupts and kernel preemption                                     */

/**
 * An interrupt for interrupt thread td arrives on td's CPU after `delay`
 * ticks (sched_ithd): td is scheduled and asked to preempt what runs
 * there.  Inside a critical section all of it waits for the outermost
 * critExit.
 */
export function lwktInterrupt(td: Lwp, delay = 0): void {
  const k = td.k;
  const ci = td.cpu;
  kassert((td.pflag & LP_BOUND) !== 0, 'lwkt_interrupt: interrupt thread not bound to a cpu');
  k.engine.timeout(delay, () => {
    if (td.intr !== null) td.intr.pending++;
    const h = k.tracing ? k.ev(td) : null; // written out: a spread first costs microseconds
    if (h !== null) k.emit({ t: h.t, cpu: h.cpu, pid: h.pid, lid: h.lid, type: 'ipi', target: ci.index, why: 'interrupt' });
    ipiDeliver(ci, { what: 'interrupt', level: priLevel(td.priority), fn: () => intrRun(ci, td) });
  });
}

function intrRun(ci: CpuInfo, td: Lwp): boolean {
  if (td.stat === LSIDL && !withLockIntr(td, doSchedule)) return false;
  if (ci.curlwp === ci.idlelwp || ci.curlwp === td) return true; // the switch will pick it
  ci.preemptReq = td;
  if (ci.k.curcpu() === ci) ci.astDeferred = true; // at the crit_exit that is running us
  else ci.k.engine.interrupt(ci.hw);
  return true;
}

/**
 * Create a bound interrupt thread on ci running handler once per
 * interrupt (lwktInterrupt), at priority pri (PRI_INTR..PRI_INTR_MAX).
 */
export function* lwktIntrCreate(l1: Lwp, ci: CpuInfo, name: string, pri: number, handler: (l: Lwp) => Gen<void>): Gen<Lwp> {
  const td = yield* lwktCreate(l1, name, function* (l: Lwp): Gen<void> {
    const intr = l.intr!;
    for (;;) {
      while (intr.pending > 0) {
        intr.pending--;
        yield* handler(l);
      }
      yield* lwktDescheduleSelf(l);
      if (intr.pending > 0) yield* lwktScheduleSelf(l); // arrived while we descheduled
      else yield* lwktSwitch(l);
    }
  }, { pri, cpu: ci, stopped: true });
  td.intr = { pending: 0 };
  return td;
}

/**
 * The AST (and, with the kpreempt option, kernel preemption point) handler
 * for a requested preemption: null when there is nothing to do here or it
 * may not be done now (a critical section, a spin lock, not running).
 */
export function kpreemptPoint(ci: CpuInfo): Gen<void> | null {
  const l = ci.curlwp;
  if (l.crit !== 0 || l.locks !== 0 || l.stat !== LSONPROC || (l.flag & LW_IDLE) !== 0) return null;
  if (ci.preemptReq === null && !ci.wantResched) return null;
  return takePreemption(l);
}

/* ------------------------------------------------------------------ */
/* Wait queues                                                          */

function unwait(td: Lwp): void {
  const w = td.lwktWait!;
  const i = w.waitq.indexOf(td);
  if (i >= 0) w.waitq.splice(i, 1);
  td.lwktWait = null;
  td.wmesg = null;
}

/**
 * lwkt_block: curlwp (a kernel thread) blocks on w unless w was signalled
 * since the caller read generation `gen`.  Returns the generation to pass
 * next time.  The wait queue's token is held around the check and dropped
 * by the switch while blocked, so a signal between check and block waits.
 */
export function* lwktBlock(l: Lwp, w: LwktWait, wmesg: string, gen: number): Gen<number> {
  assertKthread(l, 'lwkt_block');
  yield* lwktGettoken(l, w.token);
  if (w.gen === gen) {
    yield* lwpLock(l);
    doDeschedule(l);
    w.waitq.push(l);
    l.lwktWait = w;
    l.wmesg = wmesg;
    yield* miSwitch(l);
  }
  const g = w.gen;
  lwktReltoken(l, w.token);
  return g;
}

/** lwkt_signal: bump w's generation and schedule every thread blocked on it (by IPI for other CPUs). */
export function* lwktSignal(cur: Lwp, w: LwktWait): Gen<void> {
  yield* lwktGettoken(cur, w.token);
  w.gen++;
  for (let count = w.waitq.length; count > 0 && w.waitq.length > 0; count--) {
    const td = w.waitq.shift()!;
    td.lwktWait = null;
    td.wmesg = null;
    yield* lwktSchedule(cur, td);
  }
  lwktReltoken(cur, w.token);
}

/* ------------------------------------------------------------------ */
/* Tokens                                                               */

function canAcquire(l: Lwp, r: TokRef): boolean {
  const t = r.tok;
  if (t.owner !== null && t.owner !== l) return false;
  if (r.shared) return true;
  return t.sharers.size === 0 || (t.sharers.size === 1 && t.sharers.has(l));
}

function acquire(l: Lwp, r: TokRef): void {
  const t = r.tok;
  if (r.shared) t.sharers.set(l, (t.sharers.get(l) ?? 0) + 1);
  else {
    t.owner = l;
    t.ocount++;
  }
}

function release(l: Lwp, r: TokRef): void {
  const t = r.tok;
  if (r.shared) {
    const n = t.sharers.get(l)! - 1;
    if (n === 0) t.sharers.delete(l);
    else t.sharers.set(l, n);
  } else if (--t.ocount === 0) t.owner = null;
  if (t.contended) {
    t.contended = false;
    kickWaiters(l.k);
  }
}

/** A token came free: halted CPUs with queued threads look again. */
function kickWaiters(k: Kernel): void {
  if (k.nhalted === 0) return;
  for (const ci of k.cpus) {
    if (!ci.halted || ci.runq.count === 0) continue;
    ci.halted = false;
    k.nhalted--;
    k.engine.kick(ci.hw);
  }
}

/** Can l have every token it references, and the one it waits for?  (The switch asks.) */
export function lwktCanGetAll(l: Lwp): boolean {
  // Check each reference as if the earlier ones were already ours: a
  // thread may hold the same token twice, shared and exclusive alike.
  // A token found busy is marked contended, so that its release kicks the
  // CPUs that had to pass this thread over.
  const refs = l.toks;
  if (refs !== null) {
    for (const r of refs) {
      if (!canAcquire(l, r)) {
        r.tok.contended = true;
        return false;
      }
    }
  }
  const w = l.wantTok;
  if (w === null || canAcquire(l, w)) return true;
  w.tok.contended = true;
  return false;
}

/** lwkt_getalltokens: the switch gives l (about to run) all its tokens, and the one it waited for. */
export function lwktGetAll(l: Lwp): void {
  if (l.toks !== null) for (const r of l.toks) acquire(l, r);
  const w = l.wantTok;
  if (w !== null) {
    acquire(l, w);
    (l.toks ??= []).push(w);
    l.wantTok = null;
  }
}

/** lwkt_relalltokens: l is switching away: it owns none of its tokens until it runs again. */
export function lwktRelAll(l: Lwp): void {
  for (const r of l.toks!) release(l, r);
}

/**
 * lwkt_gettoken: curlwp takes tok (exclusive unless `shared`).  A choice
 * point first.  If a thread running on another CPU owns it, the caller
 * goes back on its run queue and is not switched in again until it can
 * have tok and every token it already holds.
 */
export function* lwktGettoken(l: Lwp, tok: LwktToken, shared = false): Gen<void> {
  const k = l.k;
  kassert(l === k.curlwp() && l.stat === LSONPROC, 'lwkt_gettoken: not the running curlwp');
  kassert(l.crit === 0 || canAcquire(l, { tok, shared }), 'lwkt_gettoken: would block inside a critical section');
  yield choice(`token ${tok.name}`);
  const r: TokRef = { tok, shared };
  if (canAcquire(l, r)) {
    acquire(l, r);
    (l.toks ??= []).push(r);
    return;
  }
  if (k.tracing) k.emitFor(l, { type: 'contention', lock: tok.name });
  tok.contended = true;
  l.wantTok = r;
  yield* lwpLock(l);
  yield* miSwitch(l);
  kassert(l.wantTok === null && tokOwned(l, tok), 'lwkt_gettoken: switched in without the token');
}

/** lwkt_reltoken: curlwp drops its latest reference to tok. */
export function lwktReltoken(l: Lwp, tok: LwktToken): void {
  const refs = l.toks;
  let i = refs === null ? -1 : refs.length - 1;
  while (i >= 0 && refs![i]!.tok !== tok) i--;
  kassert(i >= 0, () => `lwkt_reltoken: lwp ${l.proc.pid}.${l.lid} does not hold ${tok.name}`);
  const [r] = refs!.splice(i, 1);
  release(l, r!);
}

/** lwkt_regettoken: tokens are never lost while running in this model; 0 = "did not block". */
export function lwktRegettoken(l: Lwp, tok: LwktToken): number {
  kassert(tokOwned(l, tok), 'lwkt_regettoken: token not held');
  return 0;
}

/** Does l own tok right now? */
export function tokOwned(l: Lwp, tok: LwktToken): boolean {
  return tok.owner === l || tok.sharers.has(l);
}

const POOL_SIZE = 16;

/** lwkt_token_pool_get: the pool token for obj (objects hash to POOL_SIZE tokens, in first-use order). */
export function lwktTokenPoolGet(k: Kernel, obj: object): LwktToken {
  let p = k.tokenPool;
  if (p === null) k.tokenPool = p = { toks: Array.from({ length: POOL_SIZE }, (_, i) => new LwktToken(`pool${i}`)), ids: new WeakMap(), next: 0 };
  let id = p.ids.get(obj);
  if (id === undefined) p.ids.set(obj, (id = p.next++));
  return p.toks[id % POOL_SIZE]!;
}

/* ------------------------------------------------------------------ */
/* Kernel threads                                                       */

export interface LwktCreateOptions {
  /** NetBSD priority, PRI_KTHREAD by default; up to PRI_INTR_MAX. */
  pri?: number;
  /** The CPU it is bound to: the creator's by default (mycpu). */
  cpu?: CpuInfo;
  /** TDF_STOPREQ: create it descheduled. */
  stopped?: boolean;
}

/**
 * lwkt_alloc_thread: a thread structure from ci's cache of freed ones
 * (most recently freed first), or a new one.  The cached structure's
 * stack was freed by thread_reap, so it is empty.
 */
function lwktAllocThread(k: Kernel, ci: CpuInfo, name: string, pri: number, body: (l: Lwp) => Gen<unknown>): Lwp {
  const cached = ci.tdfreeq.pop();
  const fresh = new Lwp(k, k.proc0, 0, ci, pri, name, (nl) =>
    cached === undefined ? k.engine.newThread(name, lwktEntry(nl, body)) : cached.td);
  fresh.flag = LW_SYSTEM;
  fresh.pflag = LP_MPSAFE | LP_BOUND;
  if (cached === undefined) return fresh;
  kassert(cached.stat === LSZOMB && cached.td.frames.length === 0 && cached.td.cpu === -1, 'lwkt_alloc_thread: cached thread not freed');
  // The structure is reused, its contents made anew: one way to initialise an LWP.
  Object.assign(cached, fresh);
  cached.td.astPending = false;
  cached.td.frames.push(lwktEntry(cached, body));
  return cached;
}

function* lwktEntry(l: Lwp, body: (l: Lwp) => Gen<unknown>): Gen<never> {
  kassert(l === l.k.curlwp() && l.stat === LSONPROC, 'lwkt thread start: not the running curlwp');
  threadReap(l.cpu);
  yield* body(l);
  return yield* lwktExit(l);
}

/**
 * lwkt_create: a kernel thread in proc0, bound to a CPU, running body(l);
 * scheduled at once unless `stopped`.  Called by curlwp or from the host.
 */
export function* lwktCreate(l1: Lwp, name: string, body: (l: Lwp) => Gen<unknown>, opts: LwktCreateOptions = {}): Gen<Lwp> {
  const k = l1.k;
  const pri = opts.pri ?? PRI_KTHREAD;
  kassert(Number.isInteger(pri) && pri >= 0 && pri <= PRI_INTR_MAX, () => `lwkt_create: priority ${pri}`);
  const ci = opts.cpu ?? k.curcpu() ?? l1.cpu;
  const p0 = k.proc0;
  const l = lwktAllocThread(k, ci, name, pri, body);
  yield* mutexEnter(k, p0.lock);
  p0.nlwpid++;
  l.lid = p0.nlwpid;
  (l.td as { name: string }).name = `0.${l.lid}`;
  p0.lwpInsert(l);
  mutexExit(k, p0.lock);
  k.alllwp.add(l);
  if (k.tracing) k.emitFor(k.curlwp() ?? l1, { type: 'create', newPid: 0, newLid: l.lid, flags: 0, name });
  if (opts.stopped !== true) yield* lwktSchedule(k.curlwp(), l);
  return l;
}

/** kthread_create (the DragonFly 5.x-compatible form): lwkt_create with no template, on the caller's CPU. */
export function kthreadCreate(l1: Lwp, name: string, body: (l: Lwp) => Gen<unknown>, pri = PRI_KTHREAD): Gen<Lwp> {
  return lwktCreate(l1, name, body, { pri });
}

/**
 * lwkt_exit: curlwp (a kernel thread) ends.  It leaves proc0, its
 * structure goes to this CPU's cache if there is room (lwkt_free_thread),
 * and its stack is freed by the next thread to run here.
 */
export function* lwktExit(l: Lwp): Gen<never> {
  const k = l.k;
  const p0 = k.proc0;
  kassert(l === k.curlwp() && (l.flag & LW_SYSTEM) !== 0, 'lwkt_exit: not a running kernel thread');
  kassert(l.locks === 0 && l.crit === 0, 'lwkt_exit: locks held or inside a critical section');
  kassert(l.toks === null || l.toks.length === 0, () => `lwkt_exit: lwp ${l.proc.pid}.${l.lid} exits holding tokens`);
  yield* mutexEnter(k, p0.lock);
  p0.lwpRemove(l);
  mutexExit(k, p0.lock);
  yield* lwpLock(l);
  k.setStat(l, LSZOMB, 'exit');
  lwpUnlock(l);
  k.alllwp.delete(l);
  const ci = l.cpu;
  if (ci.tdfreeq.length < CACHE_NTHREADS) ci.tdfreeq.push(l);
  if (k.tracing) {
    k.emitFor(l, { type: 'exit' });
    k.emitFor(l, { type: 'free', freedPid: 0, freedLid: l.lid });
  }
  return yield* lwpExitSwitchaway(l);
}

/* ------------------------------------------------------------------ */
/* sysctl                                                               */

/** Register the lwkt.* nodes (the seed's SYSCTL_INT/SYSCTL_QUAD, read-write). */
export function lwktInit(k: Kernel): void {
  const c = k.lwkt;
  const counter = (name: string, key: 'switchCount' | 'preemptHit' | 'preemptMiss' | 'preemptWeird', description: string) =>
    k.sysctl.add({ name, description, get: () => c[key], set: (v) => (v < 0 ? EINVAL : ((c[key] = v), 0)) });
  counter('lwkt.switch_count', 'switchCount', 'Passes through the switch (lwkt_switch)');
  counter('lwkt.preempt_hit', 'preemptHit', 'Preemptions made (lwkt_preempt)');
  counter('lwkt.preempt_miss', 'preemptMiss', 'Preemptions refused: the target was not of a higher level');
  counter('lwkt.preempt_weird', 'preemptWeird', 'Preemptions refused: self, or a thread being preempted');
  k.sysctl.add({
    name: 'lwkt.untimely_switch', description: 'Wakeups switch to the woken thread at once (0 or 1)',
    get: () => c.untimelySwitch, set: (v) => (v !== 0 && v !== 1 ? EINVAL : ((c.untimelySwitch = v), 0)),
  });
}

