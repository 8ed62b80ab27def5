/*
 * What user programs call.  A program is a generator function
 * `function* (sys, arg)`; each method here is a generator to delegate to:
 * `const lid = yield* sys.lwpCreate(child, 2)`.
 *
 * Every system call enters the kernel (costing the machine's syscallCost
 * ticks), runs its sys_* body, takes the trip back through mi_userret
 * (where a pending suspension or exit is acted on), and then returns its
 * value or throws a SyscallError.  ERESTART restarts the call after that
 * trip, as the BSD trap handler does.
 */
import { call, compute as computeReq, setcontext as setcontextReq, type Context, type Gen } from '../engine/coroutine.ts';
import { sysKseCreate, sysKseExit, sysKseRelease, sysKseThrInterrupt, sysKseWakeup } from './sys_kse.ts';
import type { KseMailbox } from '../kern/h/kse.ts';
import { DONE, doneValue, isDone } from '../kern/done.ts';
import type { Lwp } from '../kern/h/lwp.ts';
import { EFAULT, EINVAL, EJUSTRETURN, ERESTART } from '../kern/errno.ts';
import { miUserret } from '../kern/synch.ts';
import { threadUserEnter } from '../kern/kse.ts';
import { lwpCacheCreds } from '../kern/resource.ts';
import { LPR_CRMOD } from '../kern/param.ts';
import { SyscallError } from './errors.ts';
import {
  sysLwpContinue, sysLwpCreate, sysLwpDetach, sysLwpExit, sysLwpSuspend, sysLwpWait,
  type CreateOptions, type Retval,
} from './sys_lwp.ts';
import { sysExit, sysNanosleep, sysSchedYield, sysSpawn, sysWaitpid, type WaitStatus } from './sys_proc.ts';
import {
  sysExec, sysKill, sysSigaction, sysSigprocmask,
  type SigactionOptions, type SigactionResult, type SigprocmaskHow,
} from './sys_sig.ts';
import {
  sysGetrlimit, sysGetuid, sysLwpCtl, sysLwpGetname, sysLwpGetprivate, sysLwpKill, sysLwpPark, sysLwpPctr,
  sysLwpSetname, sysLwpSetprivate, sysLwpUnpark, sysLwpUnparkAll, sysLwpWakeup, sysSetrlimit, sysSetuid,
  type ParkOptions,
} from './sys_lwp2.ts';
import type { LwpCtl } from '../kern/h/lwpctl.ts';
import { sysSchedGetaffinity, sysSchedGetparam, sysSchedSetaffinity, sysSchedSetparam, type SchedParam } from './sys_sched.ts';
import type { Rlimit } from '../kern/h/resource.ts';

/** A program: what spawn and lwpCreate run. */
export type ProgramFn<A = any> = (sys: Sys, arg: A) => Generator<any, unknown, any>;

/**
 * A system call's entry (sysent): its name, how its arguments show in the
 * event stream (built only while someone traces), and its sys_* body.  Up
 * to three arguments go through as they are, so a call makes no closure,
 * array or result object.
 */
interface Sysent<T, A, B, C> {
  readonly name: string;
  readonly args: ((a: A, b: B, c: C) => unknown[]) | null;
  readonly body: (l: Lwp, rv: Retval<T>, a: A, b: B, c: C) => Gen<number>;
}

function sysent<T, A = undefined, B = undefined, C = undefined>(
  name: string, args: ((a: A, b: B, c: C) => unknown[]) | null, body: (l: Lwp, rv: Retval<T>, a: A, b: B, c: C) => Gen<number>,
): Sysent<T, A, B, C> {
  return Object.freeze({ name, args, body });
}

function* getpidBody(l: Lwp, rv: Retval<number>): Gen<number> { rv.value = l.proc.pid; return 0; }
function* lwpSelfBody(l: Lwp, rv: Retval<number>): Gen<number> { rv.value = l.lid; return 0; }

const SYS_LWP_CREATE = sysent<number, ProgramFn<any>, unknown, CreateOptions | undefined>('_lwp_create', (fn, arg, opts) => [fn, arg, opts], (l, rv, fn, arg, opts) => sysLwpCreate(l, fn, arg, opts, rv));
const SYS_LWP_EXIT = sysent<never>('_lwp_exit', null, (l) => sysLwpExit(l));
const SYS_LWP_SELF = sysent<number>('_lwp_self', null, lwpSelfBody);
const SYS_LWP_WAIT = sysent<number, number>('_lwp_wait', (lid) => [lid], (l, rv, lid) => sysLwpWait(l, lid, rv));
const SYS_LWP_SUSPEND = sysent<void, number>('_lwp_suspend', (lid) => [lid], (l, _rv, lid) => sysLwpSuspend(l, lid));
const SYS_LWP_CONTINUE = sysent<void, number>('_lwp_continue', (lid) => [lid], (l, _rv, lid) => sysLwpContinue(l, lid));
const SYS_LWP_DETACH = sysent<void, number>('_lwp_detach', (lid) => [lid], (l, _rv, lid) => sysLwpDetach(l, lid));
const SYS_SCHED_YIELD = sysent<void>('sched_yield', null, (l) => sysSchedYield(l));
const SYS_NANOSLEEP = sysent<void, number>('nanosleep', (ticks) => [ticks], (l, _rv, ticks) => sysNanosleep(l, ticks));
const SYS_EXIT = sysent<never, number>('exit', (status) => [status], (l, rv, status) => sysExit(l, status, rv));
const SYS_SPAWN = sysent<number, ProgramFn<any>, unknown>('spawn', (program, arg) => [program, arg], (l, rv, program, arg) => sysSpawn(l, program, arg, rv));
const SYS_WAIT4 = sysent<WaitStatus, number, { untraced?: boolean } | undefined>('wait4', (pid, opts) => [pid, opts], (l, rv, pid, opts) => sysWaitpid(l, pid, opts?.untraced === true, rv));
const SYS_GETPID = sysent<number>('getpid', null, getpidBody);
const SYS_KILL = sysent<void, number, number>('kill', (pid, sig) => [pid, sig], (l, rv, pid, sig) => sysKill(l, pid, sig, rv));
const SYS_SIGACTION = sysent<SigactionResult, number, SigactionHandler | undefined, SigactionOptions | undefined>('sigaction', (sig, handler, opts) => [sig, handler, opts], (l, rv, sig, handler, opts) => sysSigaction(l, sig, handler, opts, rv));
const SYS_SIGPROCMASK = sysent<number[], SigprocmaskHow, number[] | null>('sigprocmask', (how, set) => [how, set], (l, rv, how, set) => sysSigprocmask(l, how, set, rv));
const SYS_EXECVE = sysent<never, ProgramFn<any>, unknown>('execve', (program, arg) => [program, arg], (l, rv, program, arg) => sysExec(l, program, arg, rv));
const SYS_LWP_PARK = sysent<void, ParkOptions | undefined>('___lwp_park50', (opts) => [parkArgs(opts)], (l, rv, opts) => sysLwpPark(l, opts, rv));
const SYS_LWP_UNPARK = sysent<void, number, unknown>('_lwp_unpark', (lid, hint) => [lid, hintArg(hint)], (l, _rv, lid, hint) => sysLwpUnpark(l, lid, hint));
const SYS_LWP_UNPARK_ALL = sysent<number, readonly number[] | null, unknown>('_lwp_unpark_all', (lids, hint) => [lids === null ? null : lids.length, hintArg(hint)], (l, rv, lids, hint) => sysLwpUnparkAll(l, lids, hint, rv));
const SYS_LWP_WAKEUP = sysent<void, number>('_lwp_wakeup', (lid) => [lid], (l, _rv, lid) => sysLwpWakeup(l, lid));
const SYS_LWP_KILL = sysent<void, number, number>('_lwp_kill', (lid, sig) => [lid, sig], (l, _rv, lid, sig) => sysLwpKill(l, lid, sig));
const SYS_LWP_CTL = sysent<LwpCtl, number>('_lwp_ctl', (features) => [features], (l, rv, features) => sysLwpCtl(l, features, rv));
const SYS_LWP_SETPRIVATE = sysent<void, unknown>('_lwp_setprivate', (ptr) => [hintArg(ptr)], (l, _rv, ptr) => sysLwpSetprivate(l, ptr));
const SYS_LWP_GETPRIVATE = sysent<unknown>('_lwp_getprivate', null, (l, rv) => sysLwpGetprivate(l, rv));
const SYS_LWP_SETNAME = sysent<void, number, string>('_lwp_setname', (lid, name) => [lid, name], (l, _rv, lid, name) => sysLwpSetname(l, lid, name));
const SYS_LWP_GETNAME = sysent<string, number, number>('_lwp_getname', (lid, len) => [lid, len], (l, rv, lid, len) => sysLwpGetname(l, lid, len, rv));
const SYS_LWP_PCTR = sysent<number>('lwp_pctr', null, (l, rv) => sysLwpPctr(l, rv));
const SYS_SETUID = sysent<void, number>('setuid', (uid) => [uid], (l, _rv, uid) => sysSetuid(l, uid));
const SYS_GETUID = sysent<number>('getuid', null, (l, rv) => sysGetuid(l, rv));
const SYS_SETRLIMIT = sysent<void, number, Rlimit>('setrlimit', (resource, lim) => [resource, lim], (l, _rv, resource, lim) => sysSetrlimit(l, resource, lim));
const SYS_SCHED_SETPARAM = sysent<void, number, number, number>('_sched_setparam', (lid, policy, priority) => [lid, policy, priority], (l, _rv, lid, policy, priority) => sysSchedSetparam(l, lid, policy, priority));
const SYS_SCHED_GETPARAM = sysent<SchedParam, number>('_sched_getparam', (lid) => [lid], (l, rv, lid) => sysSchedGetparam(l, lid, rv));
const SYS_SCHED_SETAFFINITY = sysent<void, number, readonly number[]>('_sched_setaffinity', (lid, cpus) => [lid, Array.isArray(cpus) ? [...cpus] : cpus], (l, rv, lid, cpus) => sysSchedSetaffinity(l, lid, cpus, rv));
const SYS_SCHED_GETAFFINITY = sysent<number[], number>('_sched_getaffinity', (lid) => [lid], (l, rv, lid) => sysSchedGetaffinity(l, lid, rv));
const SYS_GETRLIMIT = sysent<Rlimit, number>('getrlimit', (resource) => [resource], (l, rv, resource) => sysGetrlimit(l, resource, rv));
const SYS_KSE_CREATE = sysent<void, KseMailbox, boolean>('kse_create', (mbx, newgroup) => [hintArg(mbx), newgroup], (l, rv, mbx, newgroup) => sysKseCreate(l, mbx, newgroup, rv));
const SYS_KSE_EXIT = sysent<void>('kse_exit', () => [], (l) => sysKseExit(l));
const SYS_KSE_RELEASE = sysent<void>('kse_release', () => [], (l) => sysKseRelease(l));
const SYS_KSE_WAKEUP = sysent<void, KseMailbox | null>('kse_wakeup', (mbx) => [hintArg(mbx)], (l, rv, mbx) => sysKseWakeup(l, mbx, rv));
const SYS_KSE_THR_INTERRUPT = sysent<void>('kse_thr_interrupt', () => [], (l) => sysKseThrInterrupt(l));

type SigactionHandler = 'default' | 'ignore' | ((sys: Sys, sig: number) => Generator<any, unknown, any>);

export class Sys {
  /** The result slot of the call in progress (retval): read out before mi_userret, where a signal handler may make calls of its own. */
  private readonly rv: Retval<unknown> = { value: undefined, detail: undefined };

  constructor(private readonly l: Lwp) {}

  /**
   * The trip through the kernel: entry (syscallCost ticks), the sys_* body
   * as a frame of its own (yielded to the engine, as call() does; a body
   * that finished without waiting is not even pushed), then mi_userret.
   * ERESTART restarts the call after that trip.
   */
  private *syscall<T, A, B, C>(e: Sysent<T, A, B, C>, a: A, b: B, c: C): Gen<T> {
    const l = this.l;
    if (l.k.curlwp() !== l) throw wrongLwp(e.name, l, l.k.curlwp());
    for (;;) {
      if (l.k.tracing) syscallEvent(l, e, a, b, c);
      yield l.k.syscallBurn;
      if (l.kse !== null) yield* call(threadUserEnter(l, l.td.frames.length));
      // LWP_CACHE_CREDS: pick up credentials the process changed since our last call.
      if ((l.prflag & LPR_CRMOD) !== 0) yield lwpCacheCreds(l);
      const g = this.body(e, a, b, c);
      const error = (isDone(g) ? doneValue(g) : yield g) as number;
      const rv = this.rv as Retval<T>;
      const value = rv.value;
      const detail = rv.detail;
      if (l.k.tracing) sysretEvent(l, e.name, error, value);
      const u = miUserret(l);
      if (u !== DONE) yield u;
      if (error === ERESTART) continue;
      if (error === 0 || error === EJUSTRETURN) return value;
      throw new SyscallError(e.name, error, detail);
    }
  }

  /** Start the sys_* body with an empty result slot. */
  private body<T, A, B, C>(e: Sysent<T, A, B, C>, a: A, b: B, c: C): Gen<number> {
    const rv = this.rv as Retval<T>;
    rv.value = undefined as T;
    rv.detail = undefined;
    return e.body(this.l, rv, a, b, c);
  }

  /** Run in user mode for n ticks.  Not a system call: time-slicing can preempt it. */
  *compute(n: number): Gen<void> {
    if (!Number.isInteger(n) || n < 0) throw new SyscallError('compute', EINVAL, `ticks must be a non-negative integer, got ${String(n)}`);
    if (n > 0) yield computeReq(n);
  }

  /** _lwp_create: start fn(sys, arg) in a new LWP of this process; returns its lid. */
  lwpCreate<A>(fn: ProgramFn<A>, arg?: A, opts?: CreateOptions): Gen<number> {
    return this.syscall(SYS_LWP_CREATE, fn, arg, opts);
  }

  /** _lwp_exit: end this LWP (the last one ends the process with status 0). */
  lwpExit(): Gen<never> {
    return this.syscall(SYS_LWP_EXIT, undefined, undefined, undefined) as Gen<never>;
  }

  /** _lwp_self: this LWP's lid. */
  lwpSelf(): Gen<number> {
    return this.syscall(SYS_LWP_SELF, undefined, undefined, undefined);
  }

  /** _lwp_wait: wait for LWP `lid` (0: any undetached LWP) to exit; returns the lid collected. */
  lwpWait(lid = 0): Gen<number> {
    return this.syscall(SYS_LWP_WAIT, lid, undefined, undefined);
  }

  /** _lwp_suspend: suspend LWP `lid`; returns once it is suspended. */
  lwpSuspend(lid: number): Gen<void> {
    return this.syscall(SYS_LWP_SUSPEND, lid, undefined, undefined);
  }

  /** _lwp_continue: resume LWP `lid`, or cancel a suspension not yet taken. */
  lwpContinue(lid: number): Gen<void> {
    return this.syscall(SYS_LWP_CONTINUE, lid, undefined, undefined);
  }

  /** _lwp_detach: nobody will wait for LWP `lid`; a zombie is freed at once. */
  lwpDetach(lid: number): Gen<void> {
    return this.syscall(SYS_LWP_DETACH, lid, undefined, undefined);
  }

  /** sched_yield: let another runnable LWP have the CPU. */
  schedYield(): Gen<void> {
    return this.syscall(SYS_SCHED_YIELD, undefined, undefined, undefined);
  }

  /** nanosleep for `ticks` ticks of virtual time. */
  sleep(ticks: number): Gen<void> {
    return this.syscall(SYS_NANOSLEEP, ticks, undefined, undefined);
  }

  /** exit: end the whole process. */
  exit(status = 0): Gen<never> {
    return this.syscall(SYS_EXIT, status, undefined, undefined) as Gen<never>;
  }

  /** spawn: a child process running program(sys, arg); returns its pid. */
  spawn<A>(program: ProgramFn<A>, arg?: A): Gen<number> {
    return this.syscall(SYS_SPAWN, program, arg, undefined);
  }

  /**
   * waitpid: wait for child `pid` (-1: any) to exit and reap it; with
   * { untraced: true } also report a child that stopped (WUNTRACED).
   */
  waitpid(pid = -1, opts?: { untraced?: boolean }): Gen<WaitStatus> {
    return this.syscall(SYS_WAIT4, pid, opts, undefined);
  }

  /** getpid: this process's pid. */
  getpid(): Gen<number> {
    return this.syscall(SYS_GETPID, undefined, undefined, undefined);
  }

  /** kill: send `sig` to process `pid` (signal 0: existence and permission check). */
  kill(pid: number, sig: number): Gen<void> {
    return this.syscall(SYS_KILL, pid, sig, undefined);
  }

  /**
   * sigaction: what `sig` does: a handler `function* (sys, sig)`, 'default'
   * or 'ignore', with { restart, mask, nodefer }.  Returns the old action;
   * with no handler it only reads.
   */
  sigaction(sig: number, handler?: 'default' | 'ignore' | ((sys: Sys, sig: number) => Generator<any, unknown, any>), opts?: SigactionOptions): Gen<SigactionResult> {
    return this.syscall(SYS_SIGACTION, sig, handler, opts);
  }

  /** sigprocmask: 'block', 'unblock' or 'setmask' the signals in `set`; returns the old mask.  null only reads. */
  sigprocmask(how: SigprocmaskHow, set: number[] | null): Gen<number[]> {
    return this.syscall(SYS_SIGPROCMASK, how, set, undefined);
  }

  /** exec: replace this process's image with program(sys, arg); every other LWP exits.  Returns only on error. */
  exec<A>(program: ProgramFn<A>, arg?: A): Gen<never> {
    return this.syscall(SYS_EXECVE, program, arg, undefined) as Gen<never>;
  }

  /* Per-LWP services (sys_lwp2.ts): park/unpark, wakeup, kill, lwpctl, private pointer, names, credentials, limits. */

  /**
   * ___lwp_park50: sleep until unparked (returns), a pending unpark or wakeup
   * (EALREADY), the timeout in ticks (ETIMEDOUT), or a signal or lwpWakeup
   * (EINTR).  `unpark` is unparked first.
   */
  lwpPark(opts?: ParkOptions): Gen<void> {
    return this.syscall(SYS_LWP_PARK, opts, undefined, undefined);
  }

  /** _lwp_unpark: unpark LWP `lid`, or leave the unpark pending if it is not parked. */
  lwpUnpark(lid: number, hint?: unknown): Gen<void> {
    return this.syscall(SYS_LWP_UNPARK, lid, hint, undefined);
  }

  /** _lwp_unpark_all: unpark each of `lids` (unknown ones skipped); null returns the largest batch (1024). */
  lwpUnparkAll(lids: readonly number[] | null, hint?: unknown): Gen<number> {
    return this.syscall(SYS_LWP_UNPARK_ALL, lids, hint, undefined);
  }

  /** _lwp_wakeup: make LWP `lid`'s interruptible sleep return EINTR. */
  lwpWakeup(lid: number): Gen<void> {
    return this.syscall(SYS_LWP_WAKEUP, lid, undefined, undefined);
  }

  /** _lwp_kill: send signal `sig` to LWP `lid` of this process (0: only check that it exists). */
  lwpKill(lid: number, sig: number): Gen<void> {
    return this.syscall(SYS_LWP_KILL, lid, sig, undefined);
  }

  /** _lwp_ctl: this LWP's control block, whose curcpu and pctr the kernel keeps current. */
  lwpCtl(features: number): Gen<LwpCtl> {
    return this.syscall(SYS_LWP_CTL, features, undefined, undefined);
  }

  /** _lwp_setprivate: set this LWP's private pointer. */
  lwpSetPrivate(ptr: unknown): Gen<void> {
    return this.syscall(SYS_LWP_SETPRIVATE, ptr, undefined, undefined);
  }

  /** _lwp_getprivate: this LWP's private pointer (null until set). */
  lwpGetPrivate(): Gen<unknown> {
    return this.syscall(SYS_LWP_GETPRIVATE, undefined, undefined, undefined);
  }

  /** _lwp_setname: name LWP `lid` (0: this one); cut to 15 characters. */
  lwpSetName(lid: number, name: string): Gen<void> {
    return this.syscall(SYS_LWP_SETNAME, lid, name, undefined);
  }

  /** _lwp_getname: LWP `lid`'s name (0: this one's), "" if unset; ENAMETOOLONG if it needs more than `len` bytes. */
  lwpGetName(lid: number, len = 16): Gen<string> {
    return this.syscall(SYS_LWP_GETNAME, lid, len, undefined);
  }

  /** lwp_pctr: how many times this LWP has been switched away from its CPU. */
  lwpPctr(): Gen<number> {
    return this.syscall(SYS_LWP_PCTR, undefined, undefined, undefined);
  }

  /** setuid: change the process's uid (root: to anyone; others: EPERM unless unchanged). */
  setuid(uid: number): Gen<void> {
    return this.syscall(SYS_SETUID, uid, undefined, undefined);
  }

  /** getuid: the uid this LWP acts with. */
  getuid(): Gen<number> {
    return this.syscall(SYS_GETUID, undefined, undefined, undefined);
  }

  /** setrlimit: set a resource limit of the process (RLIMIT_NTHR is the one with an effect). */
  setrlimit(resource: number, lim: Rlimit): Gen<void> {
    return this.syscall(SYS_SETRLIMIT, resource, lim, undefined);
  }

  /* The scheduler (sys_sched.ts): policies, priorities, affinity. */

  /**
   * _sched_setparam: set LWP `lid`'s policy (SCHED_OTHER, SCHED_FIFO,
   * SCHED_RR) and priority (0..63 for the real-time ones, PRI_NONE = -1 for
   * SCHED_OTHER); lid 0: every LWP of the process.
   */
  schedSetparam(lid: number, policy: number, priority: number): Gen<void> {
    return this.syscall(SYS_SCHED_SETPARAM, lid, policy, priority);
  }

  /** _sched_getparam: LWP `lid`'s { policy, priority } (lid 0: this one). */
  schedGetparam(lid = 0): Gen<SchedParam> {
    return this.syscall(SYS_SCHED_GETPARAM, lid, undefined, undefined);
  }

  /** _sched_setaffinity: LWP `lid` (0: this one) may run only on the CPUs listed. */
  schedSetaffinity(lid: number, cpus: readonly number[]): Gen<void> {
    return this.syscall(SYS_SCHED_SETAFFINITY, lid, cpus, undefined);
  }

  /** _sched_getaffinity: the CPUs LWP `lid` (0: this one) may run on. */
  schedGetaffinity(lid = 0): Gen<number[]> {
    return this.syscall(SYS_SCHED_GETAFFINITY, lid, undefined, undefined);
  }

  /** getrlimit: a resource limit of the process, { cur, max }. */
  getrlimit(resource: number): Gen<Rlimit> {
    return this.syscall(SYS_GETRLIMIT, resource, undefined, undefined);
  }

  /* KSE (sys_kse.ts): FreeBSD's M:N scheduler activations. */

  /** kse_create: enter KSE mode with this KSE mailbox (see sys_kse.ts); newgroup makes a new ksegrp. */
  kseCreate(mbx: KseMailbox, newgroup = false): Gen<void> {
    return this.syscall(SYS_KSE_CREATE, mbx, newgroup, undefined);
  }

  /** kse_exit: end this thread and its KSE (EDEADLK for a group's last KSE while others live). */
  kseExit(): Gen<void> {
    return this.syscall(SYS_KSE_EXIT, undefined, undefined, undefined);
  }

  /** kse_release: end this thread; its KSE goes to a waiting thread or idles. */
  kseRelease(): Gen<void> {
    return this.syscall(SYS_KSE_RELEASE, undefined, undefined, undefined);
  }

  /** kse_wakeup: an upcall on the idle KSE of `mbx` (null: any idle KSE of this group). */
  kseWakeup(mbx: KseMailbox | null = null): Gen<void> {
    return this.syscall(SYS_KSE_WAKEUP, mbx, undefined, undefined);
  }

  /** kse_thr_interrupt: ENOSYS, as in the seed. */
  kseThrInterrupt(): Gen<void> {
    return this.syscall(SYS_KSE_THR_INTERRUPT, undefined, undefined, undefined);
  }

  /**
   * setcontext: resume the saved user context `to` (its frames replace this
   * LWP's user frames; with `save`, those are saved there first, as
   * swapcontext).  Not a system call: a user-level context switch.
   */
  *setcontext(to: Context, save: Context | null = null): Gen<void> {
    yield setcontextReq(1, to, save);
  }
}

/** How a hint or pointer shows in the event stream: plain values as they are, objects by kind. */
function hintArg(h: unknown): unknown {
  if (h === null || typeof h !== 'object') return typeof h === 'function' ? `[function ${h.name}]` : h;
  return `[${h.constructor?.name ?? 'object'}]`;
}

function parkArgs(o: ParkOptions | undefined): unknown {
  if (o === null || typeof o !== 'object') return o;
  return { timeout: o.timeout, unpark: o.unpark, hint: hintArg(o.hint), unparkHint: hintArg(o.unparkHint) };
}

function syscallEvent<T, A, B, C>(l: Lwp, e: Sysent<T, A, B, C>, a: A, b: B, c: C): void {
  const k = l.k;
  k.emitFor(l, { type: 'syscall', name: e.name, args: e.args === null ? [] : e.args(a, b, c) });
}

function sysretEvent(l: Lwp, name: string, errno: number, ret: unknown): void {
  const k = l.k;
  k.emitFor(l, { type: 'sysret', name, errno, ret });
}

function wrongLwp(name: string, l: Lwp, cur: Lwp | null): SyscallError {
  return new SyscallError(name, EFAULT, `this sys object belongs to lwp ${l.proc.pid}.${l.lid}, not the caller${cur ? ` ${cur.proc.pid}.${cur.lid}` : ''}`);
}
