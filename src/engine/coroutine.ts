/*
 * Coroutines: what the engine runs on a CPU.
 *
 * A Thread is one execution context (an LWP's stack).  It is an explicit
 * stack of generator frames, not one deep `yield*` chain: a kernel path
 * that calls another with `yield* call(f())` hands f's generator to the
 * engine, which pushes it and resumes it directly.  Resuming a thread
 * therefore costs the same however deep in the kernel it sleeps.
 *
 * What a frame yields is a request to the hardware (see Req below).
 * Code between two yields is atomic with respect to every other CPU.
 */

export const OP_CHOICE = 1;   // a choice point: another CPU may move first
export const OP_COMPUTE = 2;  // user-mode execution for n ticks (preemptible)
export const OP_BURN = 3;     // kernel execution for n ticks (not preemptible)
export const OP_SPIN = 4;     // spin until a predicate holds
export const OP_SWITCH = 5;   // give this CPU to another thread
export const OP_HALT = 6;     // idle: stop until the CPU is kicked
export const OP_UNWIND = 7;   // drop every frame above `depth` (exec: the old image is gone)
export const OP_SETCONTEXT = 8; // replace the frames above `base` with a saved context (optionally saving them first)

export interface ChoiceReq { readonly op: typeof OP_CHOICE; readonly what: string }
export interface ComputeReq { readonly op: typeof OP_COMPUTE; readonly n: number }
export interface BurnReq { readonly op: typeof OP_BURN; readonly n: number }
export interface SpinReq { readonly op: typeof OP_SPIN; readonly until: () => boolean; readonly what: string }
export interface SwitchReq { readonly op: typeof OP_SWITCH; readonly to: Thread }
export interface HaltReq { readonly op: typeof OP_HALT }
export interface UnwindReq { readonly op: typeof OP_UNWIND; readonly depth: number }
export interface SetcontextReq { readonly op: typeof OP_SETCONTEXT; readonly base: number; readonly to: Context; readonly save: Context | null }

export type HwReq = ChoiceReq | ComputeReq | BurnReq | SpinReq | SwitchReq | HaltReq | UnwindReq | SetcontextReq;
/** A frame yields hardware requests, or a generator to call (see call()). */
export type Req = HwReq | Gen<unknown>;
/** The type of every kernel path and user program. */
export type Gen<T = void> = Generator<Req, T, any>;

/**
 * Errors carrying this symbol (kernel panics) are fatal: the engine does
 * not unwind them through the frames below, where a program's try/catch
 * could swallow them; it stops the machine at once.
 */
export const FATAL: unique symbol = Symbol('lwpkit.fatal');

export const HALT: HaltReq = Object.freeze({ op: OP_HALT });
const choiceCache = new Map<string, ChoiceReq>();
/** A choice point, labelled with what is about to happen (for traces and explorers). */
export function choice(what: string): ChoiceReq {
  let c = choiceCache.get(what);
  if (c === undefined) choiceCache.set(what, (c = Object.freeze({ op: OP_CHOICE, what })));
  return c;
}
export function compute(n: number): ComputeReq { return { op: OP_COMPUTE, n }; }
export function burn(n: number): BurnReq { return { op: OP_BURN, n }; }
export function spin(until: () => boolean, what: string): SpinReq { return { op: OP_SPIN, until, what }; }
/**
 * The request to give this CPU to `to`.  One object, reused: the engine
 * reads `to` (and drops it) as soon as the request is yielded, so a thread
 * asleep in a switch holds no request of its own.
 */
const SWITCH: { op: typeof OP_SWITCH; to: Thread | null } = { op: OP_SWITCH, to: null };
export function switchTo(to: Thread): SwitchReq {
  SWITCH.to = to;
  return SWITCH as SwitchReq;
}
/** Drop every frame above the bottom `depth` ones, without running their finally blocks. */
export function unwind(depth: number): UnwindReq { return { op: OP_UNWIND, depth }; }

/**
 * A user context (ucontext_t): a saved stack of user frames, bottom first,
 * and the value its top frame receives when it is resumed.  Frames are
 * generator objects, so a context taken from one thread can be resumed on
 * another; each can be resumed once (setcontext empties it).
 */
export interface Context {
  frames: Gen<unknown>[];
  value: unknown;
}

/**
 * setcontext/swapcontext: drop (or, with `save`, move into save) every frame
 * above the bottom `base` ones, push `to`'s frames and resume its top frame
 * with `to.value`.  The saved top frame is the one that yielded this
 * request: it resumes with `save.value`.
 */
export function setcontext(base: number, to: Context, save: Context | null = null): SetcontextReq {
  return { op: OP_SETCONTEXT, base, to, save };
}

/**
 * Call a generator through the engine's frame stack: `const r = yield* call(f(x))`.
 * The engine pushes f's frame and resumes it directly; its return value (or
 * exception) comes back here.
 */
export function* call<T>(g: Gen<T>): Gen<T> {
  return (yield g) as T;
}

export class Thread {
  /** Frames, bottom first.  The top frame is the one that runs. */
  readonly frames: Gen<unknown>[];
  /** CPU this thread is on, or null when switched out. */
  cpu: number = -1;
  /** Value (or exception) to deliver at the next resume. */
  resumeValue: unknown = undefined;
  resumeError: unknown = undefined;
  hasError = false;
  /** Ticks of user-mode execution still owed to an interrupted compute request. */
  userLeft = 0;
  /** Set while the top frame is suspended inside a compute request. */
  inUser = false;
  /** An asynchronous trap is pending (AST): taken at the next user-mode boundary. */
  astPending = false;
  /** Ticks spent running on a CPU. */
  ticks = 0;
  /** Where a trap interrupted user mode: frame depth and the ticks still owed (null until the first trap). */
  traps: { depth: number; left: number }[] | null = null;

  constructor(readonly tid: number, readonly name: string, entry: Gen<unknown>) {
    // Room for 8 frames up front (a parked LWP sits about 6 deep): an
    // array grown by push() would take 17 slots.  A literal keeps it packed.
    const f = [entry, entry, entry, entry, entry, entry, entry, entry];
    f.length = 1;
    this.frames = f;
  }
}

/**
 * Run a kernel path to completion outside the machine: for host-side setup
 * between runs, when no CPU is executing and so no lock can be held.  Only
 * choice points, satisfied spins and calls are allowed; a path that would
 * wait or take time is a bug in the caller and throws.
 */
export function runDetached<T>(g: Gen<T>): T {
  const frames: Gen<unknown>[] = [g];
  let value: unknown;
  let error: unknown;
  let failed = false;
  for (;;) {
    const f = frames[frames.length - 1]!;
    let r: IteratorResult<Req, unknown>;
    try {
      const thrown = failed;
      failed = false;
      r = thrown ? f.throw(error) : f.next(value);
    } catch (e) {
      frames.pop();
      if (frames.length === 0) throw e;
      failed = true;
      error = e;
      continue;
    }
    value = undefined;
    if (r.done === true) {
      frames.pop();
      if (frames.length === 0) return r.value as T;
      value = r.value;
      continue;
    }
    const q = r.value as HwReq;
    if (q.op === OP_CHOICE) continue;
    if (q.op === OP_SPIN && q.until()) continue;
    if (q.op === undefined && typeof (r.value as Gen<unknown>).next === 'function') {
      frames.push(r.value as Gen<unknown>);
      continue;
    }
    throw new Error(`runDetached: a host-side kernel call tried to wait (request ${String(q.op)})`);
  }
}
