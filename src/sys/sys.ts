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
import { DONE } from '../kern/done.ts';
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
 * The trip through the kernel.  `args` builds the call's arguments for the
 * event stream: it runs only while someone traces.  The sys_* body and
 * mi_userret run as frames of their own (yielded to the engine, as call()
 * does, without call()'s extra generator).
 */
function* syscall<T>(l: Lwp, name: string, args: (() => unknown[]) | null, body: (rv: Retval<T>) => Gen<number>): Gen<T> {
  const k = l.k;
  if (k.curlwp() !== l) {
    const cur = k.curlwp();
    throw new SyscallError(name, EFAULT, `this sys object belongs to lwp ${l.proc.pid}.${l.lid}, not the caller${cur ? ` ${cur.proc.pid}.${cur.lid}` : ''}`);
  }
  for (;;) {
    if (k.tracing) k.emit({ type: 'syscall', name, args: args === null ? [] : args(), ...k.ev(l) });
    yield k.syscallBurn;
    if (l.kse !== null) yield* call(threadUserEnter(l, l.td.frames.length));
    // LWP_CACHE_CREDS: pick up credentials the process changed since our last call.
    if ((l.prflag & LPR_CRMOD) !== 0) yield lwpCacheCreds(l);
    const rv: Retval<T> = { value: undefined as T };
    const error = (yield body(rv)) as number;
    if (k.tracing) k.emit({ type: 'sysret', name, errno: error, ret: rv.value, ...k.ev(l) });
    const u = miUserret(l);
    if (u !== DONE) yield u;
    if (error === ERESTART) continue;
    if (error === 0 || error === EJUSTRETURN) return rv.value;
    throw new SyscallError(name, error, rv.detail);
  }
}

export class Sys {
  constructor(private readonly l: Lwp) {}

  /** Run in user mode for n ticks.  Not a system call: time-slicing can preempt it. */
  *compute(n: number): Gen<void> {
    if (!Number.isInteger(n) || n < 0) throw new SyscallError('compute', EINVAL, `ticks must be a non-negative integer, got ${String(n)}`);
    if (n > 0) yield computeReq(n);
  }

  /** _lwp_create: start fn(sys, arg) in a new LWP of this process; returns its lid. */
  lwpCreate<A>(fn: ProgramFn<A>, arg?: A, opts?: CreateOptions): Gen<number> {
    return syscall(this.l, '_lwp_create', () => [fn, arg, opts], (rv) => sysLwpCreate(this.l, fn, arg, opts, rv));
  }

  /** _lwp_exit: end this LWP (the last one ends the process with status 0). */
  lwpExit(): Gen<never> {
    return syscall(this.l, '_lwp_exit', null, () => sysLwpExit(this.l)) as Gen<never>;
  }

  /** _lwp_self: this LWP's lid. */
  lwpSelf(): Gen<number> {
    const l = this.l;
    return syscall(l, '_lwp_self', null, function* (rv) { rv.value = l.lid; return 0; });
  }

  /** _lwp_wait: wait for LWP `lid` (0: any undetached LWP) to exit; returns the lid collected. */
  lwpWait(lid = 0): Gen<number> {
    return syscall(this.l, '_lwp_wait', () => [lid], (rv) => sysLwpWait(this.l, lid, rv));
  }

  /** _lwp_suspend: suspend LWP `lid`; returns once it is suspended. */
  lwpSuspend(lid: number): Gen<void> {
    return syscall(this.l, '_lwp_suspend', () => [lid], () => sysLwpSuspend(this.l, lid));
  }

  /** _lwp_continue: resume LWP `lid`, or cancel a suspension not yet taken. */
  lwpContinue(lid: number): Gen<void> {
    return syscall(this.l, '_lwp_continue', () => [lid], () => sysLwpContinue(this.l, lid));
  }

  /** _lwp_detach: nobody will wait for LWP `lid`; a zombie is freed at once. */
  lwpDetach(lid: number): Gen<void> {
    return syscall(this.l, '_lwp_detach', () => [lid], () => sysLwpDetach(this.l, lid));
  }

  /** sched_yield: let another runnable LWP have the CPU. */
  schedYield(): Gen<void> {
    return syscall(this.l, 'sched_yield', null, () => sysSchedYield(this.l));
  }

  /** nanosleep for `ticks` ticks of virtual time. */
  sleep(ticks: number): Gen<void> {
    return syscall(this.l, 'nanosleep', () => [ticks], () => sysNanosleep(this.l, ticks));
  }

  /** exit: end the whole process. */
  exit(status = 0): Gen<never> {
    return syscall(this.l, 'exit', () => [status], (rv) => sysExit(this.l, status, rv)) as Gen<never>;
  }

  /** spawn: a child process running program(sys, arg); returns its pid. */
  spawn<A>(program: ProgramFn<A>, arg?: A): Gen<number> {
    return syscall(this.l, 'spawn', () => [program, arg], (rv) => sysSpawn(this.l, program, arg, rv));
  }

  /**
   * waitpid: wait for child `pid` (-1: any) to exit and reap it; with
   * { untraced: true } also report a child that stopped (WUNTRACED).
   */
  waitpid(pid = -1, opts?: { untraced?: boolean }): Gen<WaitStatus> {
    return syscall(this.l, 'wait4', () => [pid, opts], (rv) => sysWaitpid(this.l, pid, opts?.untraced === true, rv));
  }

  /** getpid: this process's pid. */
  getpid(): Gen<number> {
    const l = this.l;
    return syscall(l, 'getpid', null, function* (rv) { rv.value = l.proc.pid; return 0; });
  }

  /** kill: send `sig` to process `pid` (signal 0: existence and permission check). */
  kill(pid: number, sig: number): Gen<void> {
    return syscall(this.l, 'kill', () => [pid, sig], (rv) => sysKill(this.l, pid, sig, rv));
  }

  /**
   * sigaction: what `sig` does: a handler `function* (sys, sig)`, 'default'
   * or 'ignore', with { restart, mask, nodefer }.  Returns the old action;
   * with no handler it only reads.
   */
  sigaction(sig: number, handler?: 'default' | 'ignore' | ((sys: Sys, sig: number) => Generator<any, unknown, any>), opts?: SigactionOptions): Gen<SigactionResult> {
    return syscall(this.l, 'sigaction', () => [sig, handler, opts], (rv) => sysSigaction(this.l, sig, handler, opts, rv));
  }

  /** sigprocmask: 'block', 'unblock' or 'setmask' the signals in `set`; returns the old mask.  null only reads. */
  sigprocmask(how: SigprocmaskHow, set: number[] | null): Gen<number[]> {
    return syscall(this.l, 'sigprocmask', () => [how, set], (rv) => sysSigprocmask(this.l, how, set, rv));
  }

  /** exec: replace this process's image with program(sys, arg); every other LWP exits.  Returns only on error. */
  exec<A>(program: ProgramFn<A>, arg?: A): Gen<never> {
    return syscall(this.l, 'execve', () => [program, arg], (rv) => sysExec(this.l, program, arg, rv)) as Gen<never>;
  }

  /* Per-LWP services (sys_lwp2.ts): park/unpark, wakeup, kill, lwpctl, private pointer, names, credentials, limits. */

  /**
   * ___lwp_park50: sleep until unparked (returns), a pending unpark or wakeup
   * (EALREADY), the timeout in ticks (ETIMEDOUT), or a signal or lwpWakeup
   * (EINTR).  `unpark` is unparked first.
   */
  lwpPark(opts?: ParkOptions): Gen<void> {
    return syscall(this.l, '___lwp_park50', () => [parkArgs(opts)], (rv) => sysLwpPark(this.l, opts, rv));
  }

  /** _lwp_unpark: unpark LWP `lid`, or leave the unpark pending if it is not parked. */
  lwpUnpark(lid: number, hint?: unknown): Gen<void> {
    return syscall(this.l, '_lwp_unpark', () => [lid, hintArg(hint)], () => sysLwpUnpark(this.l, lid, hint));
  }

  /** _lwp_unpark_all: unpark each of `lids` (unknown ones skipped); null returns the largest batch (1024). */
  lwpUnparkAll(lids: readonly number[] | null, hint?: unknown): Gen<number> {
    return syscall(this.l, '_lwp_unpark_all', () => [lids === null ? null : lids.length, hintArg(hint)], (rv) => sysLwpUnparkAll(this.l, lids, hint, rv));
  }

  /** _lwp_wakeup: make LWP `lid`'s interruptible sleep return EINTR. */
  lwpWakeup(lid: number): Gen<void> {
    return syscall(this.l, '_lwp_wakeup', () => [lid], () => sysLwpWakeup(this.l, lid));
  }

  /** _lwp_kill: send signal `sig` to LWP `lid` of this process (0: only check that it exists). */
  lwpKill(lid: number, sig: number): Gen<void> {
    return syscall(this.l, '_lwp_kill', () => [lid, sig], () => sysLwpKill(this.l, lid, sig));
  }

  /** _lwp_ctl: this LWP's control block, whose curcpu and pctr the kernel keeps current. */
  lwpCtl(features: number): Gen<LwpCtl> {
    return syscall(this.l, '_lwp_ctl', () => [features], (rv) => sysLwpCtl(this.l, features, rv));
  }

  /** _lwp_setprivate: set this LWP's private pointer. */
  lwpSetPrivate(ptr: unknown): Gen<void> {
    return syscall(this.l, '_lwp_setprivate', () => [hintArg(ptr)], () => sysLwpSetprivate(this.l, ptr));
  }

  /** _lwp_getprivate: this LWP's private pointer (null until set). */
  lwpGetPrivate(): Gen<unknown> {
    return syscall(this.l, '_lwp_getprivate', null, (rv) => sysLwpGetprivate(this.l, rv));
  }

  /** _lwp_setname: name LWP `lid` (0: this one); cut to 15 characters. */
  lwpSetName(lid: number, name: string): Gen<void> {
    return syscall(this.l, '_lwp_setname', () => [lid, name], () => sysLwpSetname(this.l, lid, name));
  }

  /** _lwp_getname: LWP `lid`'s name (0: this one's), "" if unset; ENAMETOOLONG if it needs more than `len` bytes. */
  lwpGetName(lid: number, len = 16): Gen<string> {
    return syscall(this.l, '_lwp_getname', () => [lid, len], (rv) => sysLwpGetname(this.l, lid, len, rv));
  }

  /** lwp_pctr: how many times this LWP has been switched away from its CPU. */
  lwpPctr(): Gen<number> {
    return syscall(this.l, 'lwp_pctr', null, (rv) => sysLwpPctr(this.l, rv));
  }

  /** setuid: change the process's uid (root: to anyone; others: EPERM unless unchanged). */
  setuid(uid: number): Gen<void> {
    return syscall(this.l, 'setuid', () => [uid], () => sysSetuid(this.l, uid));
  }

  /** getuid: the uid this LWP acts with. */
  getuid(): Gen<number> {
    return syscall(this.l, 'getuid', null, (rv) => sysGetuid(this.l, rv));
  }

  /** setrlimit: set a resource limit of the process (RLIMIT_NTHR is the one with an effect). */
  setrlimit(resource: number, lim: Rlimit): Gen<void> {
    return syscall(this.l, 'setrlimit', () => [resource, lim], () => sysSetrlimit(this.l, resource, lim));
  }

  /* The scheduler (sys_sched.ts): policies, priorities, affinity. */

  /**
   * _sched_setparam: set LWP `lid`'s policy (SCHED_OTHER, SCHED_FIFO,
   * SCHED_RR) and priority (0..63 for the real-time ones, PRI_NONE = -1 for
   * SCHED_OTHER); lid 0: every LWP of the process.
   */
  schedSetparam(lid: number, policy: number, priority: number): Gen<void> {
    return syscall(this.l, '_sched_setparam', () => [lid, policy, priority], () => sysSchedSetparam(this.l, lid, policy, priority));
  }

  /** _sched_getparam: LWP `lid`'s { policy, priority } (lid 0: this one). */
  schedGetparam(lid = 0): Gen<SchedParam> {
    return syscall(this.l, '_sched_getparam', () => [lid], (rv) => sysSchedGetparam(this.l, lid, rv));
  }

  /** _sched_setaffinity: LWP `lid` (0: this one) may run only on the CPUs listed. */
  schedSetaffinity(lid: number, cpus: readonly number[]): Gen<void> {
    return syscall(this.l, '_sched_setaffinity', () => [lid, Array.isArray(cpus) ? [...cpus] : cpus], (rv) => sysSchedSetaffinity(this.l, lid, cpus, rv));
  }

  /** _sched_getaffinity: the CPUs LWP `lid` (0: this one) may run on. */
  schedGetaffinity(lid = 0): Gen<number[]> {
    return syscall(this.l, '_sched_getaffinity', () => [lid], (rv) => sysSchedGetaffinity(this.l, lid, rv));
  }

  /** getrlimit: a resource limit of the process, { cur, max }. */
  getrlimit(resource: number): Gen<Rlimit> {
    return syscall(this.l, 'getrlimit', () => [resource], (rv) => sysGetrlimit(this.l, resource, rv));
  }

  /* KSE (sys_kse.ts): FreeBSD's M:N scheduler activations. */

  /** kse_create: enter KSE mode with this KSE mailbox (see sys_kse.ts); newgroup makes a new ksegrp. */
  kseCreate(mbx: KseMailbox, newgroup = false): Gen<void> {
    return syscall(this.l, 'kse_create', () => [hintArg(mbx), newgroup], (rv) => sysKseCreate(this.l, mbx, newgroup, rv));
  }

  /** kse_exit: end this thread and its KSE (EDEADLK for a group's last KSE while others live). */
  kseExit(): Gen<void> {
    return syscall(this.l, 'kse_exit', () => [], () => sysKseExit(this.l));
  }

  /** kse_release: end this thread; its KSE goes to a waiting thread or idles. */
  kseRelease(): Gen<void> {
    return syscall(this.l, 'kse_release', () => [], () => sysKseRelease(this.l));
  }

  /** kse_wakeup: an upcall on the idle KSE of `mbx` (null: any idle KSE of this group). */
  kseWakeup(mbx: KseMailbox | null = null): Gen<void> {
    return syscall(this.l, 'kse_wakeup', () => [hintArg(mbx)], (rv) => sysKseWakeup(this.l, mbx, rv));
  }

  /** kse_thr_interrupt: ENOSYS, as in the seed. */
  kseThrInterrupt(): Gen<void> {
    return syscall(this.l, 'kse_thr_interrupt', () => [], () => sysKseThrInterrupt(this.l));
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
