/*
 * The scheduler's system calls (NetBSD 6 sys_sched.c): _sched_setparam,
 * _sched_getparam, _sched_setaffinity, _sched_getaffinity, for LWPs of
 * the caller's process.
 *
 * Policies and priorities, as do_sched_setparam and convert_pri have them:
 *   SCHED_FIFO, SCHED_RR  sched_priority 0..63 -> NetBSD priority 128..191
 *                         (PRI_USER_RT + p: run queue levels 16..23)
 *   SCHED_OTHER           time-sharing, priorities 0..63 (levels 0..7): below
 *                         every real-time LWP.  A priority other than
 *                         PRI_NONE (-1) is EINVAL for it, as NetBSD 6 says;
 *                         going back from real time keeps p - PRI_USER_RT.
 * FIFO runs until it blocks or yields (the quantum does not rotate it); RR
 * rotates among its level at the end of each quantum; OTHER time-shares.
 * Errors: EINVAL for an unknown policy or an out-of-range priority (checked
 * first), ESRCH when no LWP matches; then, for a matched LWP, EINVAL for
 * SCHED_OTHER with a priority and EPERM for a non-root caller asking for a
 * real-time policy (kauth's secmodel_suser).  lid 0: every LWP of the
 * process for setparam (NetBSD's loop), the caller for the others.
 */
import type { Gen } from '../engine/coroutine.ts';
import type { Lwp } from '../kern/h/lwp.ts';
import { EINVAL, EPERM, ESRCH } from '../kern/errno.ts';
import { lwpLock, lwpUnlock, mutexEnter, mutexExit } from '../kern/mutex.ts';
import { lwpMigrate } from '../kern/lwp.ts';
import { changePri } from '../kern/lwkt.ts';
import { cpuNeedResched } from '../kern/synch.ts';
import {
  LSIDL, LSZOMB, PRI_NONE, PRI_USER, PRI_USER_RT, SCHED_FIFO, SCHED_OTHER, SCHED_PRI_MAX, SCHED_PRI_MIN,
  SCHED_RR,
} from '../kern/param.ts';
import { isLid, lookupLwp, type Retval } from './sys_lwp.ts';

export interface SchedParam {
  policy: number;
  priority: number;
}

/** convert_pri: the NetBSD priority t gets under `policy` with sched_priority `pri`. */
function convertPri(t: Lwp, policy: number, pri: number): number {
  if (policy !== SCHED_OTHER) return PRI_USER_RT + pri;
  if (t.class === SCHED_OTHER) return t.priority;
  return Math.max(PRI_USER, t.priority - PRI_USER_RT);
}

/** _sched_setparam for the caller's process: lid 0 sets every live LWP. */
export function* sysSchedSetparam(l: Lwp, lid: unknown, policy: unknown, priority: unknown): Gen<number> {
  if (!isLid(lid) || (lid as number) < 0) return EINVAL;
  if (policy !== SCHED_OTHER && policy !== SCHED_FIFO && policy !== SCHED_RR) return EINVAL;
  if (!Number.isInteger(priority)) return EINVAL;
  const pri = priority as number;
  if (pri !== PRI_NONE && (pri < SCHED_PRI_MIN || pri > SCHED_PRI_MAX)) return EINVAL;
  if (policy !== SCHED_OTHER && pri === PRI_NONE) return EINVAL;
  const k = l.k;
  const p = l.proc;
  yield* mutexEnter(k, p.lock);
  // As do_sched_setparam: the rules below apply to a matched LWP only, so
  // an unknown lid is ESRCH; the first LWP that breaks one ends the walk.
  let n = 0;
  let error = 0;
  for (const t of p.eachLwp()) {
    if (t.stat === LSIDL || t.stat === LSZOMB || (lid !== 0 && t.lid !== lid)) continue;
    n++;
    if (policy === SCHED_OTHER && pri !== PRI_NONE) error = EINVAL;
    else if (policy !== SCHED_OTHER && l.cred!.uid !== 0) error = EPERM; // kauth's secmodel_suser
    if (error !== 0) break;
    yield* lwpLock(t);
    const kpri = convertPri(t, policy, pri);
    t.class = policy;
    changePri(t, kpri);
    // lwp_changepri's resched: a queued LWP may now outrank what its CPU runs.
    const ci = t.cpu;
    const resched = ci.runq.maxLevel() > ci.curlevel;
    lwpUnlock(t);
    if (resched) {
      yield* mutexEnter(k, ci.spcMutex);
      cpuNeedResched(ci, 'setparam');
      mutexExit(k, ci.spcMutex);
    }
  }
  mutexExit(k, p.lock);
  return n === 0 ? ESRCH : error;
}

/** _sched_getparam: LWP lid's policy and sched_priority (lid 0: the caller). */
export function* sysSchedGetparam(l: Lwp, lid: unknown, rv: Retval<SchedParam>): Gen<number> {
  if (!isLid(lid)) return EINVAL;
  const t = yield* lookupLwp(l, lid === 0 ? l.lid : lid);
  if (t === null) return ESRCH;
  yield* lwpLock(t);
  const policy = t.class;
  const priority = policy === SCHED_OTHER ? t.priority - PRI_USER : t.priority - PRI_USER_RT;
  lwpUnlock(t);
  mutexExit(l.k, l.proc.lock);
  rv.value = { policy, priority };
  return 0;
}

/**
 * _sched_setaffinity: LWP lid (0: the caller) may run only on `cpus`.
 * EINVAL for a mask that is not a non-empty array of CPU indexes of this
 * machine.  If it is on a CPU the mask excludes, it migrates (lwp_migrate)
 * to the first CPU the mask allows.
 */
export function* sysSchedSetaffinity(l: Lwp, lid: unknown, cpus: unknown, rv: Retval<void>): Gen<number> {
  if (!isLid(lid)) return EINVAL;
  const k = l.k;
  if (!Array.isArray(cpus) || cpus.length === 0) {
    rv.detail = 'the CPU set must be a non-empty array';
    return EINVAL;
  }
  for (const c of cpus as unknown[]) {
    if (!Number.isInteger(c) || (c as number) < 0 || (c as number) >= k.cpus.length) {
      rv.detail = `no cpu ${String(c)} (the machine has ${k.cpus.length})`;
      return EINVAL;
    }
  }
  const mask = Object.freeze([...new Set(cpus as number[])].sort((a, b) => a - b));
  const t = yield* lookupLwp(l, lid === 0 ? l.lid : lid);
  if (t === null) return ESRCH;
  yield* lwpLock(t);
  t.affinity = mask.length === k.cpus.length ? null : mask;
  const where = t.targetCpu ?? t.cpu;
  if (!mask.includes(where.index)) yield* lwpMigrate(t, k.cpus[mask[0]!]!);
  else lwpUnlock(t);
  mutexExit(k, l.proc.lock);
  return 0;
}

/** _sched_getaffinity: the CPUs LWP lid (0: the caller) may run on. */
export function* sysSchedGetaffinity(l: Lwp, lid: unknown, rv: Retval<number[]>): Gen<number> {
  if (!isLid(lid)) return EINVAL;
  const t = yield* lookupLwp(l, lid === 0 ? l.lid : lid);
  if (t === null) return ESRCH;
  yield* lwpLock(t);
  rv.value = t.affinity === null ? l.k.cpus.map((c) => c.index) : [...t.affinity];
  lwpUnlock(t);
  mutexExit(l.k, l.proc.lock);
  return 0;
}

