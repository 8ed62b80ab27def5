/*
 * The kernel's invariants, checked from outside after every step.
 * (Signals and single-threading add: a stopped process has no LWP in user
 * mode; once a single-threader proceeds no other LWP of its process is in
 * user mode; p.st.suspcount counts the LWPs parked by single-threading.)
 *
 * What kern_lwp.c states in comments and KASSERTs, as executable checks:
 *  - every state change is an edge of the transition diagram in
 *    transitions.ts (checked as it happens, through the kernel's onStat hook);
 *  - the process counters equal what the LWP list says;
 *  - l.mutex is the lock the LWP's state calls for;
 *  - every LSRUN LWP is on exactly one run queue, its own CPU's, and every
 *    queued LWP is LSRUN there;
 *  - every LSONPROC LWP is its CPU's current LWP;
 *  - reference counts and lock counts are never negative, and only a
 *    running LWP holds kernel locks;
 *  - KSE (checkKse, for a process in KSE mode): each ksegrp's counters
 *    equal its lists; each KSE is in exactly one state and the list it
 *    calls for; a lent KSE's owner carries LOAN; the threads of kg_runq
 *    from its head to kg_last_assigned are exactly those holding a KSE;
 *    only threads holding a KSE are on a CPU run queue;
 *  - the dispatcher: each run queue's bitmask matches its non-empty levels
 *    and an LWP is on at most one queue, its own CPU's; no LWP runs while
 *    another holds one of its tokens; critical-section counts are never
 *    negative and are zero off CPU (hence at every switch) and in user
 *    mode; a migrating LWP ends on its target CPU.
 *
 * An invariant covered by a lock is checked only while that lock is free:
 * the kernel may break it briefly while holding the lock, exactly as the
 * seed's locking rules allow.  A violation throws KernelPanic.
 */
import { CpuInfo } from '../kern/h/cpu.ts';
import { KMutex } from '../kern/h/mutex.ts';
import type { Kernel } from '../kern/h/kernel.ts';
import type { Lwp } from '../kern/h/lwp.ts';
import { Proc } from '../kern/h/proc.ts';
import { KernelPanic } from '../kern/panic.ts';
import { KES_IDLE, KES_NAMES, KES_ONRUNQ, KES_UNQUEUED, TDI_LOAN } from '../kern/h/kse.ts';
import { legalTransition } from './transitions.ts';
import {
  LPR_DETACHED, LP_RUNNING, LSIDL, LSONPROC, LSRUN, LSSLEEP, LSSTOP, LSSUSPENDED, LSZOMB,
  LW_IDLE, PS_WCORE, PS_WEXIT, SSTOP, STAT_NAMES, SZOMB, type LwpStat,
} from '../kern/param.ts';

function name(l: Lwp): string {
  return `lwp ${l.proc.pid}.${l.lid}`;
}

/** Steps between two full sweeps (between them only what a step touched is checked). */
export const SWEEP_EVERY = 1024;

/**
 * What a step touched, as the kernel reports it (k.onTouch, k.onStat): the
 * LWPs locked or changing state, the processes and CPUs whose locks were
 * taken.  Every step checks those, each CPU's current LWP, pending
 * migrations, and whatever a held lock kept from being checked last time;
 * a full sweep runs every SWEEP_EVERY steps, when a run starts (the host
 * may have changed anything between runs) and when it ends.
 */
class Touched {
  lwps = new Set<Lwp>();
  procs = new Set<Proc>();
  cpus = new Set<CpuInfo>();
  clear(): void {
    // Set.clear makes a new table even when the set is empty.
    if (this.lwps.size !== 0) this.lwps.clear();
    if (this.procs.size !== 0) this.procs.clear();
    if (this.cpus.size !== 0) this.cpus.clear();
  }
}

export class Checker {
  /** How many checks ran, full or incremental (so tests can see the checker was live). */
  checks = 0;
  /** How many of them were full sweeps. */
  sweeps = 0;
  private sinceSweep = 0;
  private sweepNext = true;
  /** Marks for the next check, and the set being checked (swapped each step). */
  private next = new Touched();
  private cur = new Touched();

  constructor(private readonly k: Kernel) {}

  /** The transition check: installed as the kernel's onStat hook. */
  readonly onStat = (l: Lwp, from: LwpStat, to: LwpStat, why: string): void => {
    this.next.lwps.add(l);
    if (legalTransition(l, from, to)) return;
    throw new KernelPanic(`illegal state transition ${STAT_NAMES[from]} -> ${STAT_NAMES[to]} of ${name(l)} (${why})`);
  };

  /** The kernel's onTouch hook: an LWP was locked (or lent a lock), or a mutex was taken. */
  readonly onTouch = (o: Lwp | KMutex): void => {
    if (!(o instanceof KMutex)) {
      this.next.lwps.add(o);
      return;
    }
    // Whose lock it is: a CPU's spc locks, a process's p.lock (KMutex.of).
    const owner = o.of;
    if (owner === null) return;
    if (owner instanceof CpuInfo) this.next.cpus.add(owner);
    else if (owner instanceof Proc) this.next.procs.add(owner);
  };

  /** The engine's onStep hook: check() after every step. */
  readonly onStep = (): void => this.check();

  /** Make the next check a full sweep. */
  sweepSoon(): void {
    this.sweepNext = true;
  }

  /** After every step: a full sweep now and then, otherwise what the step touched. */
  check(): void {
    this.checks++;
    if (this.sweepNext || ++this.sinceSweep >= SWEEP_EVERY) this.sweep();
    else this.checkTouched();
  }

  /** Everything: every process, every LWP, every CPU. */
  sweep(): void {
    this.sweeps++;
    this.sinceSweep = 0;
    this.sweepNext = false;
    const k = this.k;
    this.next.clear();
    for (const p of k.procs.values()) {
      this.checkProc(p);
      for (let l = p.lwps; l !== null; l = l.sibNext) this.checkLwp(l);
    }
    if (this.queued.size !== 0) this.queued.clear();
    for (const ci of k.cpus) {
      this.checkRunning(ci);
      this.checkRunq(ci);
    }
  }

  /** What the last step touched, each CPU's current LWP, and the pending migrations. */
  private checkTouched(): void {
    const k = this.k;
    const t = this.next;
    this.next = this.cur;
    this.cur = t;
    const lwps = t.lwps;
    const p0 = k.proc0;
    for (const ci of k.cpus) lwps.add(ci.curlwp);
    if (this.migrations.size !== 0) for (const l of this.migrations.keys()) lwps.add(l);
    for (const l of lwps) if (l.proc !== p0) t.procs.add(l.proc);
    for (const p of t.procs) {
      if (k.procs.get(p.pid) !== p) continue; // reaped
      this.checkProc(p);
      for (let l = p.lwps; l !== null; l = l.sibNext) {
        lwps.delete(l);
        this.checkLwp(l);
      }
    }
    for (const l of lwps) if (k.alllwp.has(l)) this.checkLwp(l);
    if (this.queued.size !== 0) this.queued.clear();
    for (const ci of k.cpus) {
      this.checkRunning(ci);
      if (t.cpus.has(ci)) this.checkRunq(ci);
      else if (ci.curlwp.cpu !== ci) this.fail(`cpu${ci.index}'s curlwp ${name(ci.curlwp)} thinks it is on cpu${ci.curlwp.cpu.index}`);
    }
    t.clear();
  }

  /**
   * The checks of one process.  Covered by p.lock: while it is held the
   * process is checked again at the next step.  (More "check this process"
   * functions plug in here.)
   */
  private checkProc(p: Proc): void {
    if (p === this.k.proc0) return;
    // KSE lists change only in stretches without a yield: they hold at every step, p.lock or not.
    if (p.kse !== null && (p.sflag & PS_WEXIT) === 0) checkKse(p, (m) => this.fail(m));
    if (p.lock.owner !== null) {
      this.next.procs.add(p);
      return;
    }
    this.checkCounters(p);
  }

  /** ci's run queue (covered by spc_mutex: held, it is checked at the next step) and curlwp. */
  private checkRunq(ci: CpuInfo): void {
    const queued = this.queued;
    if (ci.spcMutex.owner !== null) {
      this.next.cpus.add(ci);
      return;
    }
    const bad = ci.runq.verify();
    if (bad !== null) this.fail(`cpu${ci.index} run queue: ${bad}`);
    for (const l of ci.runq.items()) {
      if (queued.has(l)) this.fail(`${name(l)} is on more than one run queue`);
      queued.add(l);
      if (l.stat !== LSRUN) this.fail(`${name(l)} on cpu${ci.index}'s run queue in state ${STAT_NAMES[l.stat]}`);
      if (l.cpu !== ci) this.fail(`${name(l)} on cpu${ci.index}'s run queue but l.cpu is cpu${l.cpu.index}`);
    }
    if (ci.curlwp.cpu !== ci) this.fail(`cpu${ci.index}'s curlwp ${name(ci.curlwp)} thinks it is on cpu${ci.curlwp.cpu.index}`);
  }

  private readonly queued = new Set<Lwp>();
  /** LWPs with a migration pending, and where to. */
  private readonly migrations = new Map<Lwp, { to: CpuInfo; ncsw: number }>();

  /**
   * The dispatcher's rules for what runs on ci: its thread owns every token
   * it references (so no other CPU holds one of them), and is not inside a
   * critical section while in user mode.
   */
  private checkRunning(ci: CpuInfo): void {
    const l = ci.curlwp;
    if (l.toks !== null) {
      for (const r of l.toks) {
        const t = r.tok;
        const ok = r.shared ? (t.owner === null || t.owner === l) && t.sharers.has(l) : t.owner === l;
        if (!ok) {
          const other = t.owner ?? [...t.sharers.keys()].find((x) => x !== l) ?? null;
          this.fail(`${name(l)} runs on cpu${ci.index} without its token ${t.name}${other ? ` (held by ${name(other)} on cpu${other.cpu.index})` : ''}`);
        }
      }
    }
    if (l.crit !== 0 && l.td.inUser) this.fail(`${name(l)} is in user mode inside a critical section (count ${l.crit})`);
  }

  /**
   * Critical sections and migration for each LWP: a count is never negative
   * and is zero off CPU (so at every switch); an LWP whose migration
   * completes (targetCpu cleared) ends up queued or running on that target.
   */
  private checkDispatch(l: Lwp): void {
    if (l.crit < 0) this.fail(`${name(l)} critical-section count ${l.crit} is negative`);
    if (l.crit !== 0 && l.cpu.curlwp !== l) this.fail(`${name(l)} is off CPU inside a critical section (count ${l.crit})`);
    if (l.targetCpu !== null) {
      this.migrations.set(l, { to: l.targetCpu, ncsw: l.ncsw });
      return;
    }
    const want = this.migrations.get(l);
    if (want === undefined) return;
    if (l.stat === LSRUN || l.stat === LSONPROC) {
      if (l.mutex.owner !== null) return;
      this.migrations.delete(l);
      // Checked between steps: an LWP that has run since (ncsw moved) may have
      // completed there and moved on; a target its mask no longer allows was
      // retargeted (lwp_migrate on a pending migration) within the step.
      const retargeted = l.affinity !== null && !l.affinity.includes(want.to.index) && l.affinity.includes(l.cpu.index);
      if (l.cpu !== want.to && l.ncsw === want.ncsw && !retargeted) {
        this.fail(`${name(l)} was migrating to cpu${want.to.index} but ended on cpu${l.cpu.index}`);
      }
    } else if (l.stat === LSZOMB) this.migrations.delete(l);
  }

  private checkCounters(p: Proc): void {
    let nlwps = 0, nzlwps = 0, nrlwps = 0, ndlwps = 0, nlwpwait = 0;
    const idlCounted = this.k.personality.createCountsNrlwps;
    for (let l = p.lwps; l !== null; l = l.sibNext) {
      nlwps++;
      if (l.stat === LSZOMB || l.exiting) nzlwps++;
      if (l.stat === LSRUN || l.stat === LSONPROC || l.stat === LSSLEEP || (idlCounted && l.stat === LSIDL)) nrlwps++;
      if ((l.prflag & LPR_DETACHED) !== 0) ndlwps++;
      if (l.inWait) nlwpwait++;
    }
    if (p.stat === SZOMB) {
      // exit1 leaves one LSZOMB LWP, counted as a zombie, and zeroes ndlwps.
      ndlwps = 0;
    }
    const bad: string[] = [];
    if (p.nlwps !== nlwps) bad.push(`nlwps ${p.nlwps} != ${nlwps}`);
    if (p.nzlwps !== nzlwps) bad.push(`nzlwps ${p.nzlwps} != ${nzlwps}`);
    if (p.nrlwps !== nrlwps) bad.push(`nrlwps ${p.nrlwps} != ${nrlwps}`);
    if (p.ndlwps !== ndlwps) bad.push(`ndlwps ${p.ndlwps} != ${ndlwps}`);
    // lwp_wait1's core-dump bail-out goes to lwp_userret and never comes back
    // to drop p_nlwpwait: the seed relies on the process dying.  So the wait
    // count is only exact while the process is not exiting or dumping core.
    if (p.nlwpwait !== nlwpwait && (p.sflag & (PS_WEXIT | PS_WCORE)) === 0) bad.push(`nlwpwait ${p.nlwpwait} != ${nlwpwait}`);
    if (bad.length) this.fail(`proc ${p.pid} counters disagree with its LWP list: ${bad.join(', ')}`);
    // Stops and single-threading: nobody else in user mode; parked LWPs counted.
    let parked = 0;
    for (let l = p.lwps; l !== null; l = l.sibNext) {
      if (l.stParked) parked++;
      if (!l.td.inUser) continue;
      if (p.stat === SSTOP) this.fail(`proc ${p.pid} is stopped but ${name(l)} runs in user mode`);
      if (p.st.proceeded && p.st.thread !== l) this.fail(`proc ${p.pid} is single-threaded by ${name(p.st.thread!)} but ${name(l)} runs in user mode`);
    }
    if (p.st.suspcount !== parked) this.fail(`proc ${p.pid} suspcount ${p.st.suspcount} but ${parked} LWPs parked`);
    const z = p.zomblwp;
    if (z !== null && (z.stat !== LSZOMB || (z.prflag & LPR_DETACHED) === 0 || z.proc !== p || p.lidMap.get(z.lid) !== z)) {
      this.fail(`proc ${p.pid}'s p_zomblwp ${name(z)} is not a detached zombie on its list`);
    }
  }

  private checkLwp(l: Lwp): void {
    this.checkDispatch(l);
    if (l.refcnt < 0) this.fail(`${name(l)} refcnt ${l.refcnt} is negative`);
    if (l.locks < 0) this.fail(`${name(l)} holds ${l.locks} locks`);
    if (l.locks > 0 && l.cpu.curlwp !== l) this.fail(`${name(l)} holds ${l.locks} lock(s) while off CPU`);
    if (l.stat === LSONPROC && l.cpu.curlwp !== l) this.fail(`${name(l)} is LSONPROC but cpu${l.cpu.index} runs ${name(l.cpu.curlwp)}`);
    if (l.mutex.owner !== null) {
      this.next.lwps.add(l); // its state may be mid-change: again at the next step
      return;
    }
    const want = this.lockFor(l);
    if (want !== null && l.mutex !== want) {
      this.fail(`${name(l)} in ${STAT_NAMES[l.stat]} is covered by ${l.mutex.name}, expected ${want.name}`);
    }
    // A KSE thread waiting on kg_runq for a KSE, or for its lent KSE to come
    // back, is on no CPU run queue (checkKse).
    if (l.stat === LSRUN && l.rq !== l.cpu.runq && l.cpu.spcMutex.owner === null &&
        (l.kse === null || (l.kse.kse !== null && (l.kse.flags & TDI_LOAN) === 0))) {
      this.fail(`${name(l)} is LSRUN but not on cpu${l.cpu.index}'s run queue`);
    }
    if (l.stat !== LSRUN && l.rq !== null) this.fail(`${name(l)} is on a run queue in state ${STAT_NAMES[l.stat]}`);
    if (l.stat === LSSLEEP && (l.wchan === null || l.sleepq === null || !l.sleepq.waiters.get(l.wchan)?.has(l))) {
      this.fail(`${name(l)} is LSSLEEP but not on a sleep queue`);
    }
  }

  /** The lock kern_lwp.c says covers l's current state. */
  private lockFor(l: Lwp) {
    const ci = l.cpu;
    switch (l.stat) {
      case LSIDL: return (l.flag & LW_IDLE) !== 0 || (l.pflag & LP_RUNNING) !== 0 ? ci.spcLwplock : ci.spcMutex;
      case LSRUN: return ci.spcMutex;
      case LSONPROC: case LSZOMB: return ci.spcLwplock;
      case LSSLEEP: return l.sleepq === null ? null : l.sleepq.lock;
      case LSSTOP: case LSSUSPENDED: return l.wchan !== null && l.sleepq !== null ? l.sleepq.lock : ci.spcLwplock;
    }
  }

  private fail(msg: string): never {
    throw new KernelPanic(`invariant violated: ${msg}`);
  }
}

/**
 * The KSE invariants of one process in KSE mode (p.kse set; not while it
 * exits, which voids loans).  The seed keeps them under sched_lock; the
 * model changes these lists only in stretches without a yield, so they
 * hold at every step.
 */
function checkKse(p: Proc, fail: (msg: string) => never): void {
  const kp = p.kse!;
  if (kp.numksegrps !== kp.ksegrps.length) fail(`proc ${p.pid} p_numksegrps ${kp.numksegrps} but ${kp.ksegrps.length} ksegrps`);
  for (const kg of kp.ksegrps) {
    const g = `proc ${p.pid} ksegrp ${kg.id}`;
    let runnable = 0;
    for (const t of kg.threads) {
      if (t.kse === null || t.kse.ksegrp !== kg) fail(`${g} lists ${name(t)}, which is not its thread`);
      if (t.stat === LSRUN) runnable++;
    }
    let onrunq = 0;
    for (const ke of kg.kseq) if (ke.state === KES_ONRUNQ) onrunq++;
    const bad: string[] = [];
    if (kg.numthreads !== kg.threads.length) bad.push(`kg_numthreads ${kg.numthreads} != ${kg.threads.length}`);
    if (kg.kses !== kg.kseq.length) bad.push(`kg_kses ${kg.kses} != ${kg.kseq.length}`);
    if (kg.idleKses !== kg.iq.length) bad.push(`kg_idle_kses ${kg.idleKses} != ${kg.iq.length}`);
    if (kg.loanKses !== kg.lq.length) bad.push(`kg_loan_kses ${kg.loanKses} != ${kg.lq.length}`);
    if (kg.runqKses !== onrunq) bad.push(`kg_runq_kses ${kg.runqKses} != ${onrunq}`);
    if (kg.runnable !== runnable) bad.push(`kg_runnable ${kg.runnable} != ${runnable}`);
    if (bad.length) fail(`${g} counters disagree with its lists: ${bad.join(', ')}`);
    for (const ke of kg.kseq) {
      const e = `${g} kse ${ke.id} (${KES_NAMES[ke.state]})`;
      const inIq = kg.iq.includes(ke);
      const inLq = kg.lq.includes(ke);
      if (ke.ksegrp !== kg) fail(`${e} thinks it belongs to ksegrp ${ke.ksegrp.id}`);
      if ((ke.state === KES_IDLE) !== inIq) fail(`${e} is ${inIq ? '' : 'not '}on kg_iq`);
      if (inLq !== (ke.bound !== null)) fail(`${e} is ${inLq ? '' : 'not '}on kg_lq but its owner is ${ke.bound ? name(ke.bound) : 'none'}`);
      if (inIq && inLq) fail(`${e} is both idle and lent`);
      if (ke.bound !== null && (ke.bound.kse === null || (ke.bound.kse.flags & TDI_LOAN) === 0)) fail(`${e} is lent but its owner ${name(ke.bound)} does not carry LOAN`);
      if (ke.state === KES_IDLE) {
        if (ke.thread !== null) fail(`${e} is idle but carries ${name(ke.thread)}`);
        continue;
      }
      const t = ke.thread;
      if (t === null) fail(`${e} is not idle but has no thread`);
      if (t.kse === null || t.kse.kse !== ke) fail(`${e} names ${name(t)} as its thread, which does not hold it`);
      if (ke.state === KES_ONRUNQ && (t.stat !== LSRUN || t.rq === null)) fail(`${e}'s thread ${name(t)} is not on a run queue (${STAT_NAMES[t.stat]})`);
      if (ke.state === KES_UNQUEUED && t.rq !== null) fail(`${e}'s thread ${name(t)} is on a run queue`);
    }
    const la = kg.lastAssigned;
    const cut = la === null ? -1 : kg.runq.indexOf(la);
    if (la !== null && cut < 0) fail(`${g} kg_last_assigned ${name(la)} is not on kg_runq`);
    kg.runq.forEach((t, i) => {
      if (t.stat !== LSRUN) fail(`${g} kg_runq holds ${name(t)} in state ${STAT_NAMES[t.stat]}`);
      const holds = t.kse !== null && t.kse.kse !== null;
      if (holds !== (i <= cut)) fail(`${g} ${name(t)} at kg_runq[${i}] ${holds ? 'holds' : 'lacks'} a KSE but kg_last_assigned is at ${cut}`);
    });
  }
  for (let l = p.lwps; l !== null; l = l.sibNext) {
    if (l.kse !== null && l.rq !== null && l.kse.kse === null) fail(`${name(l)} is on cpu${l.cpu.index}'s run queue without a KSE`);
  }
}
