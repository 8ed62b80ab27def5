/*
 * The kernel's globals: the CPUs, the process table, alllwp, the sleep
 * table, sysctl, the event stream, and the per-kernel state of each
 * subsystem.  Nothing here is shared between two machines.
 */
import type { Engine } from '../../engine/engine.ts';
import { burn, type BurnReq } from '../../engine/coroutine.ts';
import { EventRing, type KEvent, type KEventBody, type Listener, type StatName } from '../events.ts';
import { KernelPanic } from '../panic.ts';
import { LSRUN, LSSLEEP, MAXLWP, STAT_NAMES, type LwpStat } from '../param.ts';
import type { Personality } from '../personality.ts';
import { SysctlTree } from '../sysctl.ts';
import type { CpuInfo } from './cpu.ts';
import type { Lwp } from './lwp.ts';
import { KMutex } from './mutex.ts';
import type { CoreDump, Proc } from './proc.ts';
import type { TokenPool } from './lwkt.ts';
import type { LwpctlGeometry } from './lwpctl.ts';
import type { ResourceState } from './resource.ts';
import { SleepTab } from './sleepq.ts';
import type { SpecificDomain } from './specific.ts';

/** The fields every event starts with. */
export interface EventHeader { t: number; cpu: number; pid: number; lid: number }

export interface KernelOptions {
  personality: Personality;
  /** Ticks a system call costs on entry (so that a loop of calls moves the clock). */
  syscallCost: number;
  /** Record events for panic reports and run the kernel's own assertions. */
  checking: boolean;
  /** Preempt kernel code at choice points outside critical sections (off by default). */
  kpreempt?: boolean;
  /** cpu_maxlwp(): the most LWPs the machine supports, and the boot value of kern.maxlwp (default MAXLWP). */
  maxlwp?: number;
}

/** makeSys before the system-call layer installs its own: a shared function, not a closure per kernel. */
function noSys(): unknown {
  return null;
}

export class Kernel {
  readonly cpus: CpuInfo[] = [];
  readonly procs = new Map<number, Proc>();
  /** Every LWP not yet freed, in creation order (alllwp). */
  readonly alllwp = new Set<Lwp>();
  proc0!: Proc;
  nextpid = 1;
  readonly personality: Personality;
  readonly syscallCost: number;
  readonly checking: boolean;
  /** The request a system call makes on entry (cached: it never changes). */
  readonly syscallBurn: BurnReq;
  /** True when events must be built: someone listens, or checking is on. */
  tracing: boolean;
  private readonly listeners: Listener[] = [];
  readonly recent = new EventRing(50);
  /** The global process lock (proc_lock). */
  readonly procLock = new KMutex('proc_lock', false);
  /*
   * The two slots the layers above fill (the kernel may not import them):
   * the system-call layer's Sys maker, and the checker's transition check.
   */
  /** Builds the `sys` object a program receives; installed by the system-call layer. */
  makeSys: (l: Lwp) => unknown = noSys;
  /** Called for every state change while tracing: the transition check hangs here. */
  onStat: ((l: Lwp, from: LwpStat, to: LwpStat, why: string) => void) | null = null;
  /** Called for every mutex taken and every LWP locked while checking: the checker marks what a step touched. */
  onTouch: ((o: Lwp | KMutex) => void) | null = null;
  readonly sleeptab = new SleepTab();
  readonly sysctl = new SysctlTree();
  /** Core dumps written so far (coredump in exit.ts). */
  readonly cores: CoreDump[] = [];
  /** The seed's counters (lwkt.switch_count & co) and the untimely_switch tunable. */
  readonly lwkt = { switchCount: 0, preemptHit: 0, preemptMiss: 0, preemptWeird: 0, untimelySwitch: 0 };
  /** Kernel preemption at choice points (the machine option). */
  readonly kpreempt: boolean;
  /** cpu_maxlwp() (the machine option maxlwp). */
  readonly cpuMaxlwp: number;
  /** The tunables and the uidinfo table (resource.ts); made at boot by resourceInit. */
  resource: ResourceState | null = null;
  /** The specificdata domain of LWPs (specific.ts); made at the first key. */
  specific: SpecificDomain | null = null;
  /** The lwpctl area's shape, when a test changed it; null = sys/lwp.h's (lwpctl.ts). */
  lwpctlGeometry: LwpctlGeometry | null = null;
  /** lwkt_token_pool: made at the first lookup (lwkt.ts). */
  tokenPool: TokenPool | null = null;
  /** How many CPUs' idle LWPs are halted (ci.halted): zero means nobody to kick for stealing. */
  nhalted = 0;

  constructor(readonly engine: Engine, opts: KernelOptions) {
    this.personality = opts.personality;
    this.syscallCost = opts.syscallCost;
    this.syscallBurn = burn(opts.syscallCost);
    this.checking = opts.checking;
    this.tracing = opts.checking;
    this.kpreempt = opts.kpreempt === true;
    this.cpuMaxlwp = opts.maxlwp ?? MAXLWP;
  }

  get now(): number { return this.engine.now; }

  /** The CPU executing kernel code right now, or null in interrupt context. */
  curcpu(): CpuInfo | null {
    const c = this.engine.cur;
    return c === null ? null : this.cpus[c.index]!;
  }

  curlwp(): Lwp | null {
    const c = this.engine.cur;
    return c === null ? null : this.cpus[c.index]!.curlwp;
  }

  on(fn: Listener): () => void {
    this.listeners.push(fn);
    this.tracing = true;
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
      this.tracing = this.checking || this.listeners.length > 0;
    };
  }

  /** Deliver an event.  Callers build it only when `tracing` is true. */
  emit(e: KEvent): void {
    this.recent.push(e);
    for (const fn of this.listeners) fn(e);
  }

  /**
   * Deliver `body` as an event about l: the header (the time, this CPU, l's
   * pid.lid, as ev() gives it) is written onto the body, after its own
   * fields.  A header spread into a new literal cost several times that.
   */
  emitFor(l: Lwp | null, body: KEventBody): void {
    this.emitAt(l === null ? -1 : l.proc.pid, l === null ? -1 : l.lid, body);
  }

  /** emitFor for pid.lid. */
  emitAt(pid: number, lid: number, body: KEventBody): void {
    const e = body as Partial<KEvent> as KEvent;
    const c = this.engine.cur;
    e.t = this.engine.now;
    e.cpu = c === null ? -1 : c.index;
    e.pid = pid;
    e.lid = lid;
    this.emit(e);
  }

  /** The event header: the time, this CPU (-1 in interrupt context), and the LWP l (-1.-1 for none). */
  ev(l: Lwp | null): EventHeader {
    return l === null ? this.evAt(-1, -1) : this.evAt(l.proc.pid, l.lid);
  }

  /** The event header for pid.lid. */
  evAt(pid: number, lid: number): EventHeader {
    const c = this.engine.cur;
    return { t: this.engine.now, cpu: c === null ? -1 : c.index, pid, lid };
  }

  /** Change l's state: every transition goes through here (events and checks). */
  setStat(l: Lwp, to: LwpStat, why: string): void {
    const from = l.stat;
    l.stat = to;
    if (this.tracing) {
      if (this.onStat !== null) this.onStat(l, from, to, why);
      if (this.isIdleLwp(l)) return;
      // One literal with the header's fields written out (the order of
      // ev()'s): a spread costs several times the literal (issue 10).
      const c = this.engine.cur;
      const e: KEvent & { type: 'state' } = {
        type: 'state', from: STAT_NAMES[from] as StatName, to: STAT_NAMES[to] as StatName, why,
        t: this.engine.now, cpu: c === null ? -1 : c.index, pid: l.proc.pid, lid: l.lid,
      };
      if (to === LSSLEEP && l.wmesg !== null) e.wchan = l.wmesg;
      else if (to === LSRUN) e.runqCpu = l.cpu.index;
      this.emit(e);
    }
  }

  /** Idle LWPs' own state flips are noise in the event stream. */
  private isIdleLwp(l: Lwp): boolean {
    return l.proc === this.proc0 && l === l.cpu.idlelwp;
  }

  panic(msg: string): never {
    throw new KernelPanic(msg);
  }
}

