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
import { call, compute as computeReq, type Gen } from '../engine/coroutine.ts';
import type { Lwp } from '../kern/kernel.ts';
import { EFAULT, EINVAL, EJUSTRETURN, ERESTART } from '../kern/errno.ts';
import { miUserret } from '../kern/synch.ts';
import { SyscallError } from './errors.ts';
import {
  sysLwpContinue, sysLwpCreate, sysLwpDetach, sysLwpExit, sysLwpSuspend, sysLwpWait,
  type CreateOptions, type Retval,
} from './sys_lwp.ts';
import { sysExit, sysNanosleep, sysSchedYield, sysSpawn, sysWaitpid, type WaitStatus } from './sys_proc.ts';

/** A program: what spawn and lwpCreate run. */
export type ProgramFn<A = any> = (sys: Sys, arg: A) => Generator<any, unknown, any>;

function* syscall<T>(l: Lwp, name: string, args: unknown[], body: (rv: Retval<T>) => Gen<number>): Gen<T> {
  const k = l.k;
  if (k.curlwp() !== l) {
    const cur = k.curlwp();
    throw new SyscallError(name, EFAULT, `this sys object belongs to lwp ${l.proc.pid}.${l.lid}, not the caller${cur ? ` ${cur.proc.pid}.${cur.lid}` : ''}`);
  }
  for (;;) {
    if (k.tracing) k.emit({ type: 'syscall', name, args, ...k.ev(l) });
    yield k.syscallBurn;
    const rv: Retval<T> = { value: undefined as T };
    const error = yield* call(body(rv));
    if (k.tracing) k.emit({ type: 'sysret', name, errno: error, ret: rv.value, ...k.ev(l) });
    yield* call(miUserret(l));
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
    return syscall(this.l, '_lwp_create', [fn, arg, opts], (rv) => sysLwpCreate(this.l, fn, arg, opts, rv));
  }

  /** _lwp_exit: end this LWP (the last one ends the process with status 0). */
  lwpExit(): Gen<never> {
    return syscall(this.l, '_lwp_exit', [], () => sysLwpExit(this.l)) as Gen<never>;
  }

  /** _lwp_self: this LWP's lid. */
  lwpSelf(): Gen<number> {
    const l = this.l;
    return syscall(l, '_lwp_self', [], function* (rv) { rv.value = l.lid; return 0; });
  }

  /** _lwp_wait: wait for LWP `lid` (0: any undetached LWP) to exit; returns the lid collected. */
  lwpWait(lid = 0): Gen<number> {
    return syscall(this.l, '_lwp_wait', [lid], (rv) => sysLwpWait(this.l, lid, rv));
  }

  /** _lwp_suspend: suspend LWP `lid`; returns once it is suspended. */
  lwpSuspend(lid: number): Gen<void> {
    return syscall(this.l, '_lwp_suspend', [lid], () => sysLwpSuspend(this.l, lid));
  }

  /** _lwp_continue: resume LWP `lid`, or cancel a suspension not yet taken. */
  lwpContinue(lid: number): Gen<void> {
    return syscall(this.l, '_lwp_continue', [lid], () => sysLwpContinue(this.l, lid));
  }

  /** _lwp_detach: nobody will wait for LWP `lid`; a zombie is freed at once. */
  lwpDetach(lid: number): Gen<void> {
    return syscall(this.l, '_lwp_detach', [lid], () => sysLwpDetach(this.l, lid));
  }

  /** sched_yield: let another runnable LWP have the CPU. */
  schedYield(): Gen<void> {
    return syscall(this.l, 'sched_yield', [], () => sysSchedYield(this.l));
  }

  /** nanosleep for `ticks` ticks of virtual time. */
  sleep(ticks: number): Gen<void> {
    return syscall(this.l, 'nanosleep', [ticks], () => sysNanosleep(this.l, ticks));
  }

  /** exit: end the whole process. */
  exit(status = 0): Gen<never> {
    return syscall(this.l, 'exit', [status], (rv) => sysExit(this.l, status, rv)) as Gen<never>;
  }

  /** spawn: a child process running program(sys, arg); returns its pid. */
  spawn<A>(program: ProgramFn<A>, arg?: A): Gen<number> {
    return syscall(this.l, 'spawn', [program, arg], (rv) => sysSpawn(this.l, program, arg, rv));
  }

  /** waitpid: wait for child `pid` (-1: any) to exit and reap it. */
  waitpid(pid = -1): Gen<WaitStatus> {
    return syscall(this.l, 'wait4', [pid], (rv) => sysWaitpid(this.l, pid, rv));
  }

  /** getpid: this process's pid. */
  getpid(): Gen<number> {
    const l = this.l;
    return syscall(l, 'getpid', [], function* (rv) { rv.value = l.proc.pid; return 0; });
  }
}
