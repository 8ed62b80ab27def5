/*
 * An M:N thread library on KSE upcalls: a user-level thread scheduler
 * (UTS) in the manner of FreeBSD's libkse, built only on the KSE system
 * calls and setcontext.
 *
 *   const uts = yield* kse.start(sys, { kses: 2 });
 *   const t = uts.spawn(function* (sys, arg) { yield* sys.sleep(10); return arg * 2; }, 21);
 *   const v = yield* uts.join(t);   // 42
 *   yield* uts.stop();
 *
 * User threads have no kernel thread of their own: a user thread is a
 * context (a saved stack of user frames) that the UTS resumes on whichever
 * KSE's kernel thread runs the UTS.  Before it resumes one it names it in
 * the KSE mailbox (km_curthread), so the kernel treats that kernel thread's
 * system calls as the user thread's: if one blocks, the kernel gives the
 * KSE back to the UTS with an upcall, and when the call completes it
 * saves the user thread's context in its thread mailbox and reports it on
 * the completed list of a later upcall.  Each user thread gets a `sys`
 * that follows it from carrier to carrier.
 *
 * After kse.start the calling thread is a user thread too (the main one):
 * it must make its system calls through `uts.sys`, since it may go on on
 * another kernel thread.  The UTS runs its threads in FIFO order and at
 * most one per KSE at a time.
 */
import type { Context, Gen } from '../engine/coroutine.ts';
import type { KseMailbox, KseThrMailbox } from '../kern/h/kse.ts';
import { SyscallError } from '../sys/errors.ts';
import type { Sys } from '../sys/sys.ts';

export type UThreadState = 'ready' | 'running' | 'kernel' | 'joining' | 'done';

/** A user thread: its mailbox, and its context while it is not running. */
export class UThread {
  state: UThreadState = 'ready';
  ctx: Context | null = null;
  result: unknown = undefined;
  error: unknown = undefined;
  failed = false;
  readonly joiners: UThread[] = [];
  /** The KSE whose kernel thread carries it now (while running). */
  carrier: Carrier | null = null;
  readonly mbx: KseThrMailbox;
  /** Its system-call object: calls go to its current carrier's kernel thread. */
  readonly sys: Sys;
  constructor(readonly id: number, readonly name: string) {
    this.mbx = { context: null, next: null, flags: 0, udata: this, uticks: 0, sticks: 0 };
    this.sys = carrierSys(this);
  }
}

interface Carrier { sys: Sys; rec: KseRec }

/** The UTS's record of one KSE. */
class KseRec {
  /** The user thread it last started. */
  cur: UThread | null = null;
  /** It went to kse_release (the kernel idles it). */
  idle = false;
  /** Its upcall saw the UTS stopping and called kse_exit. */
  exited = false;
  readonly km: KseMailbox;
  /** The mailbox of the idle poll (see Uts.idle). */
  readonly pollMbx: KseThrMailbox;
  constructor(readonly index: number, uts: Uts) {
    this.km = {
      curthread: null, completed: null, stack: null, flags: 0, udata: this, sigscaught: [],
      func: (sys: Sys, km: KseMailbox) => uts.upcall(sys, km),
    };
    this.pollMbx = { context: null, next: null, flags: 0, udata: POLL, uticks: 0, sticks: 0 };
  }
}

const POLL = Symbol('kse.poll');
/** How long an idle UTS sleeps between looks at the completed list. */
export const POLL_TICKS = 10;

/** A sys object whose calls go to the kernel thread carrying `ut` at the time of the call. */
function carrierSys(ut: UThread): Sys {
  return new Proxy({} as Sys, {
    get(_t, name) {
      const c = ut.carrier;
      if (c === null) throw new Error(`user thread ${ut.name} is not running`);
      const v = (c.sys as unknown as Record<string | symbol, unknown>)[name];
      return typeof v === 'function' ? (...args: unknown[]) => (v as (...a: unknown[]) => unknown).apply(ut.carrier!.sys, args) : v;
    },
  });
}

export interface StartOptions {
  /** How many KSEs (virtual CPUs) the process runs user threads on; at least 1. */
  kses?: number;
}

export class Uts {
  readonly threads: UThread[] = [];
  readonly runq: UThread[] = [];
  readonly recs: KseRec[] = [];
  readonly main: UThread;
  stopping = false;
  /** Counters, for tests and reports. */
  upcalls = 0;
  polls = 0;
  completed = 0;
  private nextId = 1;

  constructor(nkses: number) {
    for (let i = 0; i < nkses; i++) this.recs.push(new KseRec(i, this));
    this.main = new UThread(0, 'main');
    this.main.state = 'running';
    this.threads.push(this.main);
  }

  /** The main thread's system calls (it may move between kernel threads). */
  get sys(): Sys { return this.main.sys; }

  /** Make a user thread running fn(sys, arg); it runs when a KSE is free.  No system call. */
  spawn<A>(fn: (sys: Sys, arg: A) => Generator<any, unknown, any>, arg?: A, name?: string): UThread {
    const ut = new UThread(this.nextId++, name ?? `uthread${this.nextId - 1}`);
    ut.ctx = { frames: [this.trampoline(ut, fn, arg as A)], value: undefined };
    this.threads.push(ut);
    this.runq.push(ut);
    return ut;
  }

  /** Wait (at user level) for t to finish; returns its result or throws its error.  `self` is the caller (main by default). */
  *join(t: UThread, self: UThread = this.main): Gen<unknown> {
    while (t.state !== 'done') {
      t.joiners.push(self);
      yield* this.block(self, 'joining');
    }
    if (t.failed) throw t.error;
    return t.result;
  }

  /** Let the other ready user threads run first (sched_yield at user level). */
  *yield(self: UThread = this.main): Gen<void> {
    this.runq.push(self);
    yield* this.block(self, 'ready');
  }

  /**
   * Wait for every user thread, make every other KSE exit, and leave KSE
   * mode.  Called by the main thread; afterwards it is a plain 1:1 thread
   * (still to be reached through uts.sys).
   */
  *stop(): Gen<void> {
    const me = this.main;
    // Wait for every thread (what one threw is for its joiner, not for stop).
    for (const t of this.threads) {
      while (t !== me && t.state !== 'done') {
        t.joiners.push(me);
        yield* this.block(me, 'joining');
      }
    }
    this.stopping = true;
    const c = me.carrier!;
    c.rec.km.curthread = null; // bound from here on
    for (;;) {
      let left = 0;
      for (const r of this.recs) {
        if (r === c.rec) continue;
        // kse_wakeup: an idle KSE gets the upcall that makes it exit; ESRCH means it is gone.
        try {
          yield* c.sys.kseWakeup(r.km);
          left++;
        } catch (e) {
          if (!(e instanceof SyscallError) || e.code !== 'ESRCH') throw e;
        }
      }
      if (left === 0) break;
      yield* c.sys.sleep(1);
    }
    for (;;) {
      try {
        yield* c.sys.kseExit();
        return;
      } catch (e) {
        // A KSE thread still on its way out: the group is not ours alone yet.
        if (!(e instanceof SyscallError) || e.code !== 'EDEADLK') throw e;
        yield* c.sys.sleep(1);
      }
    }
  }

  /** km_func: an upcall.  Takes the completed list, then schedules. */
  *upcall(sys: Sys, km: KseMailbox): Gen<void> {
    const rec = km.udata as KseRec;
    this.upcalls++;
    rec.idle = false;
    // Whatever this KSE ran before is not on it any more: it went into the kernel.
    if (rec.cur !== null && rec.cur.state === 'running') rec.cur.state = 'kernel';
    rec.cur = null;
    const done: KseThrMailbox[] = [];
    for (let m = km.completed; m !== null; m = m.next) done.push(m);
    km.completed = null;
    for (const m of done.reverse()) {
      const ctx = m.context;
      m.context = null;
      m.next = null;
      if (m.udata === POLL) continue; // an idle poll that came back
      const ut = m.udata as UThread;
      ut.ctx = ctx;
      ut.state = 'ready';
      this.runq.push(ut);
    }
    yield* this.schedule(sys, rec);
  }

  /** The scheduler loop on one KSE: resume the next ready thread, or idle.  Never returns. */
  *schedule(sys: Sys, rec: KseRec): Gen<void> {
    for (;;) {
      if (this.stopping && rec !== this.main.carrier?.rec) {
        rec.exited = true;
        yield* sys.kseExit();
      }
      const ut = this.runq.shift();
      if (ut === undefined) {
        yield* this.idle(sys, rec);
        continue;
      }
      // More work than this KSE: wake an idle one (an upcall there).
      if (this.runq.length !== 0 && this.recs.some((r) => r.idle)) {
        try {
          yield* sys.kseWakeup(null);
        } catch (e) {
          if (!(e instanceof SyscallError) || e.code !== 'ESRCH') throw e;
        }
      }
      ut.state = 'running';
      ut.carrier = { sys, rec };
      rec.cur = ut;
      rec.km.curthread = ut.mbx;
      const ctx = ut.ctx!;
      ut.ctx = null;
      yield* sys.setcontext(ctx);
    }
  }

  /**
   * Nothing to run here.  If some user thread may still come back through
   * the kernel (running elsewhere, or blocked in a system call), poll: a
   * bound sleep, then a system call made as an unbound thread, whose way
   * out is an upcall with the completed list (a completion on a borrowed
   * KSE is reported only by a later upcall).  Otherwise give the KSE up.
   */
  private *idle(sys: Sys, rec: KseRec): Gen<void> {
    rec.cur = null;
    rec.km.curthread = null;
    const out = this.threads.some((t) => t.state === 'running' || t.state === 'kernel');
    if (!out) {
      rec.idle = true;
      yield* sys.kseRelease();
    }
    this.polls++;
    yield* sys.sleep(POLL_TICKS);
    if (this.stopping) return;
    rec.km.curthread = rec.pollMbx;
    yield* sys.getpid(); // returns as an upcall (or this kernel thread ends, its KSE borrowed)
    rec.km.curthread = null;
  }

  /** Switch from user thread `self` to this KSE's scheduler, saving self's context. */
  private *block(self: UThread, state: UThreadState): Gen<void> {
    const c = self.carrier!;
    self.state = state;
    self.carrier = null;
    c.rec.cur = null;
    c.rec.km.curthread = null;
    self.ctx = { frames: [], value: undefined };
    yield* c.sys.setcontext({ frames: [this.schedule(c.sys, c.rec)], value: undefined }, self.ctx);
  }

  private finish(ut: UThread): void {
    ut.state = 'done';
    this.completed++;
    for (const j of ut.joiners.splice(0)) {
      j.state = 'ready';
      this.runq.push(j);
    }
  }

  /** A user thread's bottom frame: run fn, record how it ended, and go back to the scheduler. */
  private *trampoline<A>(ut: UThread, fn: (sys: Sys, arg: A) => Generator<any, unknown, any>, arg: A): Gen<void> {
    try {
      ut.result = yield* fn(ut.sys, arg);
    } catch (e) {
      ut.failed = true;
      ut.error = e;
    }
    const c = ut.carrier!;
    ut.carrier = null;
    c.rec.cur = null;
    c.rec.km.curthread = null;
    this.finish(ut);
    yield* c.sys.setcontext({ frames: [this.schedule(c.sys, c.rec)], value: undefined });
  }
}

/**
 * Enter KSE mode with `kses` KSEs: the caller's own KSE gets the first
 * mailbox (no upcall), each further one starts with an upcall into the
 * UTS.  The caller becomes the main user thread.
 */
export function* start(sys: Sys, opts: StartOptions = {}): Gen<Uts> {
  const n = opts.kses ?? 2;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`kse.start: kses must be a positive integer, got ${String(n)}`);
  const uts = new Uts(n);
  const main = uts.main;
  main.carrier = { sys, rec: uts.recs[0]! };
  uts.recs[0]!.cur = main;
  yield* sys.kseCreate(uts.recs[0]!.km);
  for (let i = 1; i < n; i++) yield* sys.kseCreate(uts.recs[i]!.km);
  uts.recs[0]!.km.curthread = main.mbx; // from now on main's system calls are a user thread's
  return uts;
}
