/*
 * Machine: the engine, the kernel and the checker put together, and the
 * API a user of lwpkit drives: spawn programs, run, inspect.
 *
 *   const m = new Machine({ ncpu: 4, seed: 1 });
 *   const pid = m.spawn(main, { name: 'demo', uid: 1000 });
 *   const result = m.run({ maxTicks: 1_000_000 });
 *
 * Same programs + same options + same seed = the same run, event for event.
 */
import { Engine, type EngineStop } from './engine/engine.ts';
import { RecordingChooser, SeededChooser, type Chooser } from './engine/chooser.ts';
import { Kernel } from './kern/h/kernel.ts';
import type { CoreDump } from './kern/h/proc.ts';
import type { Lwp } from './kern/h/lwp.ts';
import { KernelPanic } from './kern/panic.ts';
import type { KEvent, Listener, StatName } from './kern/events.ts';
import { NETBSD_6, PERSONALITIES, type Personality } from './kern/personality.ts';
import { LwktRunQueue } from './kern/runq.ts';
import { kernBoot, spawnFromHost } from './kern/proc.ts';
import { MAXLWP } from './kern/param.ts';
import { Checker } from './check/invariants.ts';
import { Sys, type ProgramFn } from './sys/sys.ts';
import { isGeneratorFunction } from './sys/sys_lwp.ts';
import { SyscallError } from './sys/errors.ts';
import { showCpu, showLwp, showProc, whatis } from './report/show.ts';
import { kseSnapshot, type KseSnapshot } from './report/kse.ts';
import type { BlockedLwp } from './report/view.ts';
import { blockedLwps, procInfo, procInfos, psRows, type ProcInfo, type PsRow } from './report/rows.ts';

export interface MachineOptions {
  /** Number of virtual CPUs (1..256).  Default 4. */
  ncpu?: number;
  /** Seed of the default chooser.  Default 1. */
  seed?: number;
  /** Check the kernel's invariants after every step.  Default true. */
  check?: boolean;
  /** Time slice of user code, in ticks.  Default 100. */
  quantum?: number;
  /** Ticks a system call costs on entry.  Default 1. */
  syscallCost?: number;
  /** Kernel personality: 'netbsd-6' (kern_lwp.c 1.172, default) or 'netbsd-4' (1.69.2.6). */
  personality?: Personality | string;
  /** Replace the seeded chooser (replay, exploration). */
  chooser?: Chooser;
  /** Keep every choice made, for replay (see Machine.choices). */
  record?: boolean;
  /** Preempt kernel code at choice points outside critical sections (off by default, as in 2003 DragonFly). */
  kpreempt?: boolean;
  /**
   * cpu_maxlwp(): the most LWPs this machine supports (1..65,535), and the
   * boot value of kern.maxlwp.  Default 2048 (MAXLWP).
   */
  maxlwp?: number;
}

export interface RunOptions {
  /** Stop when the virtual clock would pass this tick.  Default 1,000,000. */
  maxTicks?: number;
  /** Stop after this many engine steps.  Default 10,000,000. */
  maxSteps?: number;
}

export type Outcome = 'idle' | 'deadlock' | 'panic' | 'limit';

export type { BlockedLwp, ProcInfo, PsRow };

export interface RunResult {
  outcome: Outcome;
  /** Virtual time at the end of the run. */
  ticks: number;
  /** Engine steps taken so far. */
  steps: number;
  /** For 'panic': the panic, with its message and the last events. */
  panic?: KernelPanic;
  /** For 'deadlock': the LWPs that can never run again. */
  blocked?: BlockedLwp[];
}

/*
 * The constructor makes no closure that outlives it.  The unnamed arrows it
 * once stored in the engine and the kernel (onStep, makeSys) kept every dead
 * machine reachable through V8's scavenges until the next full GC, and V8
 * then pretenured the machine's allocation sites: fresh machines ran at
 * half speed (issue 10; test/machine-gc.test.ts).  (Measured, not
 * understood: the checker's class-field arrows, which esbuild's keepNames
 * names, did not; the same arrows made unnamed in the checker did.)
 * Hence these shared functions.
 */
function makeSys(l: Lwp): Sys {
  return new Sys(l);
}
function newRunQueue(): LwktRunQueue {
  return new LwktRunQueue();
}

/** Machine.show's three reports. */
export interface MachineShow {
  lwp(pid: number, lid: number): string;
  proc(pid: number): string;
  cpu(i: number): string;
}
/** Made at the first m.show (its named closures cost a defineProperty each under keepNames). */
function machineShow(m: Machine): MachineShow {
  return {
    lwp: (pid, lid) => showLwp(m, pid, lid),
    proc: (pid) => showProc(m, pid),
    cpu: (i) => showCpu(m, i),
  };
}

export class Machine {
  readonly engine: Engine;
  readonly kernel: Kernel;
  readonly checker: Checker | null;
  readonly ncpu: number;
  private readonly recorder: RecordingChooser | null;
  private dead: KernelPanic | null = null;

  private shown: MachineShow | null = null;

  /** DDB-like `show`: every field of an LWP, a process or a CPU, as text (src/report/show.ts). */
  get show(): MachineShow {
    return (this.shown ??= machineShow(this));
  }

  constructor(opts: MachineOptions = {}) {
    const ncpu = opts.ncpu ?? 4;
    if (!Number.isInteger(ncpu) || ncpu < 1 || ncpu > 256) throw new RangeError(`ncpu must be an integer from 1 to 256, got ${String(opts.ncpu)}`);
    const seed = opts.seed ?? 1;
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${String(opts.seed)}`);
    const syscallCost = opts.syscallCost ?? 1;
    if (!Number.isInteger(syscallCost) || syscallCost < 0) throw new RangeError(`syscallCost must be a non-negative integer, got ${String(opts.syscallCost)}`);
    const maxlwp = opts.maxlwp ?? MAXLWP;
    if (!Number.isInteger(maxlwp) || maxlwp < 1 || maxlwp > 65535) throw new RangeError(`maxlwp must be an integer from 1 to 65535, got ${String(opts.maxlwp)}`);
    let personality: Personality = NETBSD_6;
    if (typeof opts.personality === 'string') {
      const p = PERSONALITIES[opts.personality];
      if (p === undefined) throw new RangeError(`unknown personality '${opts.personality}' (known: ${Object.keys(PERSONALITIES).join(', ')})`);
      personality = p;
    } else if (opts.personality !== undefined) personality = opts.personality;
    const base = opts.chooser ?? new SeededChooser(seed);
    this.recorder = opts.record ? new RecordingChooser(base) : null;
    this.ncpu = ncpu;
    this.engine = new Engine(this.recorder ?? base, opts.quantum ?? 100);
    const check = opts.check ?? true;
    this.kernel = new Kernel(this.engine, { personality, syscallCost, checking: check, kpreempt: opts.kpreempt === true, maxlwp });
    this.kernel.makeSys = makeSys;
    kernBoot(this.kernel, ncpu, newRunQueue);
    const k = this.kernel;
    if (check) {
      this.checker = new Checker(k);
      k.onStat = this.checker.onStat;
      k.onTouch = this.checker.onTouch;
      this.engine.onStep = this.checker.onStep;
    } else this.checker = null;
  }

  /** Current virtual time, in ticks. */
  get now(): number { return this.engine.now; }

  /** DDB-like `whatis`: a lock (owner, spinners) or wait channel (sleepers), by name or object. */
  whatis(thing: string | object): string {
    return whatis(this, thing);
  }

  /** Every choice made so far (with `record: true`), for a ReplayChooser. */
  get choices(): readonly number[] {
    if (this.recorder === null) throw new Error('choices are only kept with { record: true }');
    return this.recorder.log;
  }

  /** Start `program` as a new process with one LWP; returns its pid. */
  spawn<A>(program: ProgramFn<A>, opts: { name?: string; uid?: number; arg?: A } = {}): number {
    if (this.dead !== null) throw new Error(`the machine panicked: ${this.dead.message}`);
    if (!isGeneratorFunction(program)) throw new TypeError('spawn: the program must be a generator function (function*)');
    const uid = opts.uid ?? 0;
    if (!Number.isInteger(uid) || uid < 0) throw new RangeError(`spawn: uid must be a non-negative integer, got ${String(opts.uid)}`);
    const name = opts.name ?? (program.name || 'a.out');
    const p = this.guard(() => spawnFromHost(this.kernel, program, opts.arg, { name, uid }));
    return p.pid;
  }

  /** Run until nothing can run, a deadlock, a panic, or a limit. */
  run(opts: RunOptions = {}): RunResult {
    const maxTicks = opts.maxTicks ?? 1_000_000;
    const maxSteps = opts.maxSteps ?? 10_000_000;
    if (this.dead !== null) return this.result('panic', { panic: this.dead });
    let stop: EngineStop;
    try {
      // The checker sweeps everything at the first step (the host may have
      // changed anything since the last run) and once more at the end.
      this.checker?.sweepSoon();
      stop = this.engine.run(maxTicks, maxSteps);
      this.checker?.sweep();
    } catch (e) {
      this.dead = this.toPanic(e);
      return this.result('panic', { panic: this.dead });
    }
    switch (stop) {
      case 'ticks':
      case 'steps':
        return this.result('limit');
      case 'spin-deadlock': {
        const what = this.engine.spinning().map((s) => `cpu${s.cpu} spinning on ${s.what}`).join(', ');
        this.dead = this.toPanic(new KernelPanic(`spin deadlock: ${what}`));
        return this.result('panic', { panic: this.dead });
      }
      case 'quiescent': {
        const blocked = blockedLwps(this);
        return blocked.length === 0 ? this.result('idle') : this.result('deadlock', { blocked });
      }
    }
  }

  /**
   * Read a sysctl node, or write it when `value` is given (returns the new
   * value).  An unknown name throws a SyscallError ENOENT, a bad value
   * EINVAL, a read-only node EPERM.
   */
  sysctl(name: string, value?: number): number {
    const t = this.kernel.sysctl;
    if (value !== undefined) {
      const error = t.write(name, value);
      if (error !== 0) throw new SyscallError('sysctl', error, `${name}=${String(value)}`);
    }
    const [error, v] = t.read(name);
    if (error !== 0) throw new SyscallError('sysctl', error, name);
    return v;
  }

  /** Every sysctl node with its value. */
  sysctls(): { name: string; value: number; description: string; writable: boolean }[] {
    return this.kernel.sysctl.list().map((n) => ({ name: n.name, value: n.get(), description: n.description, writable: n.set !== undefined }));
  }

  /** Subscribe to the kernel's event stream; returns the unsubscribe function. */
  on(fn: Listener): () => void {
    return this.kernel.on(fn);
  }

  /** One row per LWP of every process not yet reaped, idle LWPs included. */
  ps(): PsRow[] {
    return psRows(this);
  }

  /** A process by pid (reaped ones too), or undefined. */
  proc(pid: number): ProcInfo | undefined {
    const p = this.kernel.procs.get(pid);
    return p === undefined ? undefined : procInfo(p);
  }

  /** KSE: process pid's ksegrps and KSEs (counters, states, mailboxes, owners), or null outside KSE mode. */
  kse(pid: number): KseSnapshot | null {
    const p = this.kernel.procs.get(pid);
    return p === undefined ? null : kseSnapshot(p);
  }

  /** The core dumps written so far: each process's every LWP when it died of a core-dumping signal. */
  get cores(): readonly CoreDump[] {
    return this.kernel.cores;
  }

  /** Every process ever created except proc0, by pid. */
  procs(): ProcInfo[] {
    return procInfos(this);
  }

  private result(outcome: Outcome, extra: Partial<RunResult> = {}): RunResult {
    return { outcome, ticks: this.engine.now, steps: this.engine.steps, ...extra };
  }

  private toPanic(e: unknown): KernelPanic {
    const p = e instanceof KernelPanic ? e : new KernelPanic(`internal error: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    p.events = this.kernel.recent.last();
    if (this.kernel.tracing) {
      const h = this.kernel.ev(this.kernel.curlwp());
      this.kernel.emit({ t: h.t, cpu: h.cpu, pid: h.pid, lid: h.lid, type: 'panic', message: p.message });
    }
    return p;
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof KernelPanic) this.dead = this.toPanic(e);
      throw e;
    }
  }
}

export type { KEvent, StatName };
