/*
 * Process and scheduling system calls: exit, getpid, the spawn/wait pair
 * (fork+exec and wait4 reduced to what programs here need), sched_yield,
 * and nanosleep.
 */
import type { Gen } from '../engine/coroutine.ts';
import type { Lwp } from '../kern/h/lwp.ts';
import { EINTR, EINVAL, ENOEXEC, ERESTART, EWOULDBLOCK } from '../kern/errno.ts';
import { mutexEnter } from '../kern/mutex.ts';
import { exit1, procWait } from '../kern/exit.ts';
import { procSpawn } from '../kern/proc.ts';
import { sleepqBlock, sleepqEnqueue, sleepqEnter, sleeptabLookup } from '../kern/sleepq.ts';
import { kyield } from '../kern/synch.ts';
import { isGeneratorFunction, type Retval } from './sys_lwp.ts';

/** exit: end the whole process with `status` (only its low 8 bits are kept). */
export function* sysExit(l: Lwp, status: unknown, rv: Retval<never>): Gen<number> {
  if (!Number.isInteger(status)) {
    rv.detail = 'status must be an integer';
    return EINVAL;
  }
  yield* mutexEnter(l.k, l.proc.lock);
  return yield* exit1(l, status as number, 0);
}

/** spawn: a child process running program(sys, arg); returns its pid. */
export function* sysSpawn(l: Lwp, program: unknown, arg: unknown, rv: Retval<number>): Gen<number> {
  if (!isGeneratorFunction(program)) {
    rv.detail = 'the program must be a generator function (function*)';
    return ENOEXEC;
  }
  const p = l.proc;
  const child = yield* procSpawn(l, p, { fn: program, arg }, { name: program.name || p.name, uid: p.uid });
  rv.value = child.pid;
  return 0;
}

/** How a child ended, or that it stopped: status is the exit status, signal the killing or stopping signal. */
export interface WaitStatus { pid: number; status: number; signal: number; stopped: boolean; core: boolean }

/** waitpid: reap child `pid` (-1: any child); ECHILD if there is none. */
export function* sysWaitpid(l: Lwp, pid: unknown, untraced: boolean, rv: Retval<WaitStatus>): Gen<number> {
  if (!Number.isInteger(pid) || (pid !== -1 && (pid as number) <= 0)) {
    rv.detail = 'pid must be a child pid or -1 (process groups are not modeled)';
    return EINVAL;
  }
  const r = yield* procWait(l, pid as number, untraced);
  if (r.error === 0) rv.value = { pid: r.pid, status: r.status, signal: r.signal, stopped: r.stopped, core: r.core };
  return r.error;
}

/** sched_yield: give the CPU to another runnable LWP of equal or better priority. */
export function* sysSchedYield(l: Lwp): Gen<number> {
  yield* kyield(l);
  return 0;
}

/**
 * nanosleep, in ticks (nanosleep1): interruptible timed sleeps on a private
 * channel (kpause) until the time is up.  A wakeup that is not a timeout or
 * an error (setrunnable kicking the sleeper, say for a suspension) sleeps
 * again for what is left, as nanosleep1 does; a signal or an exit request
 * ends it with EINTR.
 */
export function* sysNanosleep(l: Lwp, ticks: unknown): Gen<number> {
  if (!Number.isInteger(ticks) || (ticks as number) < 0) return EINVAL;
  const k = l.k;
  const deadline = k.now + (ticks as number);
  for (;;) {
    const timo = deadline - k.now;
    if (timo <= 0) return 0;
    const sq = yield* sleeptabLookup(k, l);
    yield* sleepqEnter(sq, l);
    sleepqEnqueue(sq, l, 'nanoslp', l);
    const error = yield* sleepqBlock(l, timo, true);
    if (error === EWOULDBLOCK) return 0;
    if (error !== 0) return error === ERESTART ? EINTR : error;
  }
}
