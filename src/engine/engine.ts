/*
 * The engine: the hardware of the model.
 *
 * N virtual CPUs, a virtual clock in ticks, a timeline of future events
 * (ends of CPU bursts and timer callbacks), and the coroutine stepper.  It
 * knows nothing of LWPs: the kernel gives it Threads to run and hooks to
 * call when user time runs out or a trap is posted.
 *
 * A CPU is in exactly one of these conditions:
 *   ready   - can run its current thread at the current time (in `ready`)
 *   busy    - in a burst of user or kernel time, due back at a later tick
 *   spin    - waiting for a predicate (a lock); re-checked after every step
 *   halted  - its idle thread has nothing to do; `kick` makes it ready
 *   running - being stepped right now (`cur`)
 *   held    - exploring only: held back at a choice point by a delay decision
 *
 * The main loop picks one ready CPU (asking the chooser only when there is
 * more than one) and runs its thread until the thread makes a request that
 * takes time, waits, or offers a choice while another CPU could move.  When
 * no CPU is ready the clock jumps to the next timeline event.
 */
import type { Chooser, DecisionKind } from './chooser.ts';
import { MinHeap, type TimelineEntry } from './heap.ts';
import {
  FATAL, OP_BURN, OP_CHOICE, OP_COMPUTE, OP_HALT, OP_SETCONTEXT, OP_SPIN, OP_SWITCH, OP_UNWIND,
  Thread, type Gen, type HwReq, type Req, type SetcontextReq, type SpinReq,
} from './coroutine.ts';

export interface EngineHooks {
  /** The CPU's quantum of user time ran out: a kernel path to trap into, or null to keep going. */
  onQuantum(cpu: Cpu, th: Thread): Gen<unknown> | null;
  /** A thread in user mode has an AST posted: the kernel path to trap into. */
  onAst(cpu: Cpu, th: Thread): Gen<unknown>;
  /**
   * Kernel preemption (a machine option): a thread in the kernel reached a
   * choice point with an AST posted.  The kernel path to run there, or
   * null to go on (the AST stays posted).  null: the option is off.
   */
  onKpreempt?: ((cpu: Cpu, th: Thread) => Gen<unknown> | null) | null;
}

export enum CpuCond { Ready, Busy, Spin, Halted, Running, Held }

export class Cpu {
  cond: CpuCond = CpuCond.Running;
  /** Bumped to invalidate a pending burst-end entry (an interrupted burst). */
  gen = 0;
  burstStart = 0;
  burstUser = false;
  spinReq: SpinReq | null = null;
  spinStart = 0;
  quantumLeft: number;
  /** Ticks spent running threads (user, kernel or spinning), for utilisation. */
  busyTicks = 0;
  /** Exploring: the label of the choice point this CPU last stopped at. */
  what = '';
  /** Exploring: this CPU stopped at its choice point `what`, so its next step starts there (dfs's sleep sets). */
  atChoice = false;
  constructor(readonly index: number, public thread: Thread, quantum: number) {
    this.quantumLeft = quantum;
  }
}

interface BurstEnd extends TimelineEntry { kind: 0; cpu: Cpu; gen: number }
export interface Timer extends TimelineEntry { kind: 1; fn: () => void; cancelled: boolean }
type Entry = BurstEnd | Timer;

export type EngineStop = 'quiescent' | 'spin-deadlock' | 'ticks' | 'steps';

export class Engine {
  now = 0;
  steps = 0;
  readonly cpus: Cpu[] = [];
  /** The CPU being stepped, or null between steps (timer callbacks run then). */
  cur: Cpu | null = null;
  /** Called after every step (the invariant checker hangs here). */
  onStep: (() => void) | null = null;
  hooks: EngineHooks | null = null;
  /** hooks.onKpreempt: read only when a thread at a choice point has an AST posted. */
  private get kpreempt(): ((cpu: Cpu, th: Thread) => Gen<unknown> | null) | null {
    return this.hooks?.onKpreempt ?? null;
  }

  private readonly ready: Cpu[] = [];
  /** Exploring: CPUs held back at a choice point (see exploreChoice). */
  private readonly held: Cpu[] = [];
  /** The chooser's decide (an exploring chooser), or null: then only 'cpu' choices are asked, of choose. */
  private readonly decider: ((kind: DecisionKind, n: number, cpu: number) => number) | null;
  private readonly spinners: Cpu[] = [];
  private readonly timeline = new MinHeap<Entry>();
  private seq = 0;
  private nextTid = 1;

  constructor(readonly chooser: Chooser, readonly quantum: number) {
    if (!Number.isInteger(quantum) || quantum < 1) throw new RangeError(`quantum must be a positive integer, got ${quantum}`);
    this.decider = chooser.decide === undefined ? null : chooser.decide.bind(chooser);
  }

  newThread(name: string, entry: Gen<unknown>): Thread {
    return new Thread(this.nextTid++, name, entry);
  }

  /** Add a CPU whose first thread is `idle`.  It starts ready. */
  addCpu(idle: Thread): Cpu {
    const cpu = new Cpu(this.cpus.length, idle, this.quantum);
    idle.cpu = cpu.index;
    this.cpus.push(cpu);
    cpu.cond = CpuCond.Ready;
    this.ready.push(cpu);
    return cpu;
  }

  /** Run fn after `delay` ticks, between steps (interrupt context). */
  timeout(delay: number, fn: () => void): Timer {
    if (this.decider !== null && delay > 0) delay += this.jitter(this.cur, delay);
    const t: Timer = { time: this.now + delay, seq: this.seq++, kind: 1, fn, cancelled: false };
    this.timeline.push(t);
    return t;
  }

  /** Wake a halted CPU (an IPI to an idle CPU).  No effect otherwise. */
  kick(cpu: Cpu): void {
    if (cpu.cond === CpuCond.Halted) this.makeReady(cpu);
  }

  /**
   * Post an AST to the thread on `cpu`.  A burst of user time is cut short
   * now and the trap is taken at once; a thread in the kernel takes it when
   * it next returns to user mode (the kernel also checks its own flags then).
   */
  interrupt(cpu: Cpu): void {
    cpu.thread.astPending = true;
    if (cpu.cond === CpuCond.Busy && cpu.burstUser) {
      this.endBurst(cpu);
      cpu.gen++;
      this.makeReady(cpu);
    }
  }

  /**
   * Would a choice point here matter?  True when exploring (every choice
   * point is a decision), when the running thread would take a kernel
   * preemption there, or when another CPU could move at this tick.  False
   * means `yield choice(...)` would just continue: callers may skip it
   * (a synchronous choice point, issue 10).
   */
  mayInterleave(): boolean {
    if (this.decider !== null) return true;
    const cur = this.cur;
    if (cur !== null && cur.thread.astPending && this.kpreempt !== null) return true;
    return this.othersCanMove();
  }

  /** True while some CPU other than the running one could move at this tick. */
  private othersCanMove(): boolean {
    if (this.spinners.length !== 0) this.recheckSpinners();
    if (this.ready.length !== 0) return true;
    const e = this.timeline.peek();
    return e !== undefined && e.time <= this.now;
  }

  run(maxTicks: number, maxSteps: number): EngineStop {
    const tl = this.timeline;
    for (;;) {
      for (let e = tl.peek(); e !== undefined && e.time <= this.now; e = tl.peek()) this.fire(tl.pop()!);
      const ready = this.ready;
      if (ready.length === 0) {
        if (this.held.length !== 0 && this.releaseHeldLater(maxTicks)) continue;
        let e = tl.peek();
        // Cancelled timers and interrupted bursts must not move the clock.
        while (e !== undefined && (e.kind === 1 ? e.cancelled : e.gen !== e.cpu.gen)) {
          tl.pop();
          e = tl.peek();
        }
        if (e === undefined) return this.spinners.length !== 0 ? 'spin-deadlock' : 'quiescent';
        if (e.time > maxTicks) { this.now = Math.max(this.now, maxTicks); return 'ticks'; }
        this.now = e.time;
        continue;
      }
      if (this.steps >= maxSteps) return 'steps';
      const i = ready.length === 1 ? 0 : this.decider === null ? this.chooser.choose(ready.length, 'cpu') : this.decider('cpu', ready.length, -1);
      const cpu = ready[i]!;
      ready[i] = ready[ready.length - 1]!;
      ready.pop();
      this.steps++;
      this.step(cpu);
      if (this.spinners.length !== 0) this.recheckSpinners();
      if (this.onStep !== null) this.onStep();
    }
  }

  /**
   * Nothing is ready but some CPUs are held back: they stay held until the
   * next timeline event (the clock moves there), or go now if there is none.
   * True: the loop should look again; false: that event lies past maxTicks.
   */
  private releaseHeldLater(maxTicks: number): boolean {
    const tl = this.timeline;
    let e = tl.peek();
    while (e !== undefined && (e.kind === 1 ? e.cancelled : e.gen !== e.cpu.gen)) {
      tl.pop();
      e = tl.peek();
    }
    if (e !== undefined && e.time > maxTicks) return false;
    if (e !== undefined && e.time > this.now) this.now = e.time;
    this.releaseHeld();
    return true;
  }

  private fire(e: Entry): void {
    if (e.kind === 1) {
      if (!e.cancelled) e.fn();
      return;
    }
    if (e.gen !== e.cpu.gen) return;
    this.endBurst(e.cpu);
    this.makeReady(e.cpu);
  }

  private makeReady(cpu: Cpu): void {
    cpu.cond = CpuCond.Ready;
    this.ready.push(cpu);
  }

  private startBurst(cpu: Cpu, n: number, user: boolean): void {
    cpu.cond = CpuCond.Busy;
    cpu.burstStart = this.now;
    cpu.burstUser = user;
    this.timeline.push({ time: this.now + n, seq: this.seq++, kind: 0, cpu, gen: ++cpu.gen });
  }

  private endBurst(cpu: Cpu): void {
    const elapsed = this.now - cpu.burstStart;
    const th = cpu.thread;
    th.ticks += elapsed;
    cpu.busyTicks += elapsed;
    if (cpu.burstUser) {
      th.userLeft -= elapsed;
      cpu.quantumLeft -= elapsed;
    }
  }

  private recheckSpinners(): void {
    const s = this.spinners;
    for (let i = 0; i < s.length; ) {
      const cpu = s[i]!;
      if (cpu.spinReq!.until()) {
        const elapsed = this.now - cpu.spinStart;
        cpu.thread.ticks += elapsed;
        cpu.busyTicks += elapsed;
        cpu.spinReq = null;
        s[i] = s[s.length - 1]!;
        s.pop();
        this.makeReady(cpu);
      } else i++;
    }
  }

  /** What the spinning CPUs wait for (for deadlock reports). */
  spinning(): { cpu: number; what: string }[] {
    return this.spinners.map((c) => ({ cpu: c.index, what: c.spinReq!.what }));
  }

  private step(cpu: Cpu): void {
    this.cur = cpu;
    cpu.cond = CpuCond.Running;
    cpu.atChoice = false;
    const th = cpu.thread;
    if (!th.inUser || this.continueUser(cpu, th)) this.runFrames(cpu);
    this.cur = null;
  }

  /**
   * The thread on `cpu` is in user mode.  Either it still owes user time (start
   * the next burst and return false), or it must trap, or its compute is done
   * (return true: run its frames).
   */
  private continueUser(cpu: Cpu, th: Thread): boolean {
    if (th.astPending) {
      th.astPending = false;
      this.trap(th, this.hooks!.onAst(cpu, th));
      return true;
    }
    if (th.userLeft === 0) {
      th.inUser = false;
      return true;
    }
    if (cpu.quantumLeft <= 0) {
      cpu.quantumLeft = this.quantum;
      const h = this.hooks!.onQuantum(cpu, th);
      if (h !== null) {
        this.trap(th, h);
        return true;
      }
    }
    if (this.decider !== null) cpu.quantumLeft = this.preemptAt(cpu, cpu.quantumLeft);
    this.startBurst(cpu, Math.min(th.userLeft, cpu.quantumLeft), true);
    return false;
  }

  private trap(th: Thread, handler: Gen<unknown>): void {
    (th.traps ??= []).push({ depth: th.frames.length, left: th.userLeft });
    th.inUser = false;
    th.userLeft = 0;
    th.frames.push(handler);
  }

  /** A user-level context switch (setcontext/swapcontext): no kernel entry, no cleanup of the frames left. */
  private setcontext(th: Thread, q: SetcontextReq): void {
    const above = th.frames.splice(q.base);
    if (q.save !== null) {
      q.save.frames = above;
      q.save.value = undefined;
    }
    for (const g of q.to.frames) th.frames.push(g);
    q.to.frames = [];
    const traps = th.traps;
    if (traps !== null) while (traps.length !== 0 && traps[traps.length - 1]!.depth >= q.base) traps.pop();
    th.inUser = false;
    th.userLeft = 0;
    th.resumeValue = q.to.value;
  }

  /** Run the thread on `cpu` until it makes a request that stops the CPU. */
  private runFrames(cpu: Cpu): void {
    for (;;) {
      const th = cpu.thread;
      const r = this.resume(th);
      if (r === null) continue;
      if (r.done === true) {
        if (!this.frameDone(cpu, th, r.value)) return;
        continue;
      }
      if (!this.request(cpu, th, r.value)) return;
    }
  }

  /**
   * Resume th's top frame with its pending value or error.  A frame that
   * throws is popped and the error goes to the frame below (null: resume
   * again); a fatal error or one out of the entry frame stops the machine.
   */
  private resume(th: Thread): IteratorResult<Req, unknown> | null {
    const frames = th.frames;
    const f = frames[frames.length - 1]!;
    try {
      if (th.hasError) {
        const e = th.resumeError;
        th.hasError = false;
        th.resumeError = undefined;
        return f.throw(e);
      }
      const v = th.resumeValue;
      th.resumeValue = undefined;
      return f.next(v);
    } catch (e) {
      if ((e as { [FATAL]?: boolean } | null)?.[FATAL] === true) throw e;
      frames.pop();
      if (frames.length === 0) throw e;
      th.hasError = true;
      th.resumeError = e;
      return null;
    }
  }

  /** th's top frame returned `value`.  False: the CPU stopped (back in a user burst). */
  private frameDone(cpu: Cpu, th: Thread, value: unknown): boolean {
    const frames = th.frames;
    frames.pop();
    if (frames.length === 0) throw new Error(`thread ${th.name} returned from its entry frame`);
    const traps = th.traps;
    if (traps !== null && traps.length !== 0 && traps[traps.length - 1]!.depth === frames.length) {
      // The trap handler returned: go back to the interrupted user time.
      const t = traps.pop()!;
      th.userLeft = t.left;
      th.inUser = true;
      return this.continueUser(cpu, th);
    }
    th.resumeValue = value;
    return true;
  }

  /** Carry out one request of th's top frame.  False: the CPU stopped. */
  private request(cpu: Cpu, th: Thread, v: Req): boolean {
    const q = v as HwReq;
    switch (q?.op) {
      case OP_CHOICE: return this.choicePoint(cpu, th, q.what);
      case OP_COMPUTE:
        th.inUser = true;
        th.userLeft = this.decider === null ? q.n : q.n + this.jitter(cpu, q.n);
        return this.continueUser(cpu, th);
      case OP_BURN: {
        if (q.n === 0) return true;
        this.startBurst(cpu, this.decider === null ? q.n : q.n + this.jitter(cpu, q.n), false);
        return false;
      }
      case OP_SPIN:
        if (q.until()) return true;
        cpu.cond = CpuCond.Spin;
        cpu.spinReq = q;
        cpu.spinStart = this.now;
        this.spinners.push(cpu);
        return false;
      case OP_SWITCH: {
        const to = q.to;
        (q as { to: Thread | null }).to = null; // the one shared request (switchTo): hold no thread
        th.cpu = -1;
        to.cpu = cpu.index;
        cpu.thread = to;
        cpu.quantumLeft = this.quantum;
        return true;
      }
      case OP_HALT:
        cpu.cond = CpuCond.Halted;
        return false;
      case OP_UNWIND:
        // The frames above are simply dropped: an exec'd-over image runs no cleanup.
        th.frames.length = q.depth;
        th.traps = null;
        th.inUser = false;
        th.userLeft = 0;
        return true;
      case OP_SETCONTEXT:
        this.setcontext(th, q);
        return true;
      default:
        return this.callFrame(th, v);
    }
  }

  /**
   * A choice point: kernel preemption if an AST is posted and the option is
   * on; then (exploring) a delay decision; then stop only if another CPU
   * could move at this tick.  False: the CPU stopped.
   */
  private choicePoint(cpu: Cpu, th: Thread, what: string): boolean {
    if (th.astPending && this.kpreempt !== null) {
      const h = this.kpreempt(cpu, th);
      if (h !== null) {
        th.astPending = false;
        th.frames.push(h);
        return true;
      }
    }
    if (this.decider !== null) return this.exploreChoice(cpu, what);
    if (!this.othersCanMove()) return true;
    this.makeReady(cpu);
    return false;
  }

  /** Not a hardware request: a generator handed over by call(), pushed as a new frame. */
  private callFrame(th: Thread, v: unknown): boolean {
    if (typeof (v as { next?: unknown } | null)?.next !== 'function') {
      th.hasError = true;
      th.resumeError = new TypeError(`yielded ${describe(v)}, which is not a system call: use yield* sys.<call>(...)`);
      return true;
    }
    th.frames.push(v as Gen<unknown>);
    return true;
  }

  /* ---------- the exploration decision space (only with a deciding chooser) ---------- */

  /** The ready CPUs, in the order of the options of a 'cpu' decision. */
  readyCpus(): readonly Cpu[] {
    return this.ready;
  }

  /** CPUs held back by a delay decision. */
  heldCpus(): readonly Cpu[] {
    return this.held;
  }

  /**
   * Exploring, at a choice point labelled `what`: other CPUs held back here
   * are released (they waited for this), then this CPU may itself be held
   * back or stalled.  False: the CPU stopped.
   */
  private exploreChoice(cpu: Cpu, what: string): boolean {
    cpu.what = what;
    if (this.held.length !== 0) this.releaseHeld();
    const d = this.decider!('delay', DELAY_OPTIONS, cpu.index);
    cpu.atChoice = true;
    if (d === 1) {
      cpu.cond = CpuCond.Held;
      this.held.push(cpu);
      return false;
    }
    if (d >= 2) {
      this.startBurst(cpu, DELAY_TICKS[d - 2]!, false);
      return false;
    }
    if (!this.othersCanMove()) {
      cpu.atChoice = false;
      return true;
    }
    this.makeReady(cpu);
    return false;
  }

  private releaseHeld(): void {
    for (const c of this.held) this.makeReady(c);
    this.held.length = 0;
  }

  /** Extra ticks for a span of n ticks: 0, 1 or n (a slower CPU, a late timer). */
  private jitter(cpu: Cpu | null, n: number): number {
    const j = this.decider!('jitter', 3, cpu === null ? -1 : cpu.index);
    return j === 0 ? 0 : j === 1 ? 1 : Math.max(1, n);
  }

  /** Whether a clock interrupt lands in the user burst about to start: the ticks until it does. */
  private preemptAt(cpu: Cpu, n: number): number {
    if (n < 2) return n;
    const j = this.decider!('preempt', 3, cpu.index);
    return j === 0 ? n : j === 1 ? 1 : n >> 1;
  }
}

/** Delay options: go, hold, and stall for each of DELAY_TICKS. */
export const DELAY_TICKS: readonly number[] = [3, 20];
const DELAY_OPTIONS = 2 + DELAY_TICKS.length;

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
