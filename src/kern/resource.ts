/*
 * Credentials and the limits on how many LWPs may exist: the parts of
 * kern_lwp.c 1.172 that lwp_create and lwp_free call (the RLIMIT_NTHR
 * check with chglwpcnt, lwp_update_creds, sysctl_kern_maxlwp), with what
 * they stand on from kern_resource.c (chglwpcnt, dosetrlimit, limit0) and
 * kern_prot.c (setuid), and FreeBSD's per-process thread cap.
 *
 * Models lwp_update_creds, LWP_CACHE_CREDS, chglwpcnt, lwp_create's limit
 * check, lwp_free's uncharge, sysctl_kern_maxlwp, dosetrlimit for
 * RLIMIT_NTHR, and FreeBSD's kern.threads.max_per_proc (thread_create's
 * EPROCLIM test).
 *
 * Credentials: a process has one credential record (p.cred, covered by
 * p.lock), immutable once made, as kauth_cred_t is shared by reference.
 * Each LWP caches the one it last saw in l.cred.  When the process's
 * credentials change, every other LWP is marked LPR_CRMOD and refreshes its
 * cache on its next system call entry (LWP_CACHE_CREDS).  "Root" is uid 0:
 * the one privilege the model knows (kauth's suser secmodel).
 *
 * Three limits, checked in this order when _lwp_create makes a second or
 * later LWP of a user process (a process's first LWP and kernel threads are
 * exempt, as in the seed):
 *  1. kern.maxlwp, system-wide: EAGAIN once that many user LWPs exist (in
 *     any state short of freed), for everyone, root included.  NetBSD 6
 *     itself only clamps RLIMIT_NTHR to maxlwp (at boot and in setrlimit);
 *     the model also enforces it directly, as the sysctl's description
 *     ("Maximum number of simultaneous threads") promises.
 *  2. kern.threads.max_per_proc (FreeBSD): EPROCLIM when the process
 *     already has that many live LWPs.  The seed (FreeBSD's KSE-era
 *     kern_thread.c) only printed a debug message past its value of 10;
 *     modern FreeBSD enforces it.  The model enforces it when set, and
 *     leaves it off (0) by default, as the seed effectively did.
 *  3. RLIMIT_NTHR, per uid: the process's uid is charged one LWP
 *     (chglwpcnt); if its count passes the process's soft limit, the
 *     creation is EAGAIN and the charge undone, unless the creator is root
 *     (KAUTH_REQ_PROCESS_RLIMIT_BYPASS, judged by the creator's cached
 *     credentials).  lwp_free uncharges one, except for a process's last
 *     LWP, so a process always carries nlwps - 1 charges.
 *
 * Which uid carries the charges: 1.172 charges the creating LWP's cached
 * uid and uncharges the freed LWP's cached uid, so after a setuid the two
 * differ and a count can go negative (chglwpcnt asserts it cannot).  The
 * model follows the fix later NetBSD made: the charges are the process's,
 * made and dropped on p.cred's uid, and setuid moves them to the new uid
 * in the same step that changes p.cred.
 *
 * The per-kernel state (the tunables and the uidinfo table) is k.resource,
 * so that nothing here is shared between machines; a process's charges
 * are p.lwpCharges.
 */
import type { Gen } from '../engine/coroutine.ts';
import type { Kernel } from './h/kernel.ts';
import type { Lwp } from './h/lwp.ts';
import type { Proc } from './h/proc.ts';
import { EAGAIN, EINVAL, EPERM, EPROCLIM } from './errno.ts';
import { mutexEnter, mutexExit } from './mutex.ts';
import { KernelPanic, kassert } from './panic.ts';
import { DONE } from './done.ts';
import { LPR_CRMOD, MAXUPRC, RLIM_INFINITY, RLIM_NLIMITS, RLIMIT_NTHR } from './param.ts';
import type { Cred, ResourceState, Rlimit } from './h/resource.ts';

/* Assertion messages, built only when one fails (no closure per call). */
const negativeCount = (uid: number): string => `chglwpcnt: uid ${uid} count would go negative`;

function charge(p: Proc, diff: number): number {
  const n = p.lwpCharges + diff;
  if (n < 0) throw new KernelPanic(`lwp accounting: proc ${p.pid} would carry ${n} charges`);
  p.lwpCharges = n;
  return chglwpcnt(p.k, p.cred.uid, diff);
}

/** The resource state of kernel k (made at boot by resourceInit). */
export function resourceState(k: Kernel): ResourceState {
  let st = k.resource;
  if (st === null) {
    st = { maxlwp: k.cpuMaxlwp, cpuMaxlwp: k.cpuMaxlwp, maxThreadsPerProc: 0, lwpcnt: new Map(), limit0: [] };
    st.limit0 = makeLimit0(st.maxlwp);
    k.resource = st;
  }
  return st;
}

/** limit0 (init_main.c): everything unlimited but RLIMIT_NTHR, hard maxlwp, soft min(maxlwp, maxuprc). */
function makeLimit0(maxlwp: number): readonly Rlimit[] {
  const lim: Rlimit[] = [];
  for (let i = 0; i < RLIM_NLIMITS; i++) lim.push({ cur: RLIM_INFINITY, max: RLIM_INFINITY });
  lim[RLIMIT_NTHR] = { cur: Math.min(maxlwp, MAXUPRC), max: maxlwp };
  return Object.freeze(lim.map((r) => Object.freeze(r)));
}

/** Boot: make the state and register kern.maxlwp and kern.threads.max_per_proc. */
export function resourceInit(k: Kernel): void {
  const st = resourceState(k);
  k.sysctl.add({
    name: 'kern.maxlwp',
    description: 'Maximum number of simultaneous threads',
    get: () => st.maxlwp,
    set: (v) => sysctlKernMaxlwp(st, v),
  });
  k.sysctl.add({
    name: 'kern.threads.max_per_proc',
    description: 'Limit on threads per proc (FreeBSD; 0: no limit)',
    get: () => st.maxThreadsPerProc,
    set: (v) => {
      if (v < 0 || v > 0x7fffffff) return EINVAL;
      st.maxThreadsPerProc = v;
      return 0;
    },
  });
}

/**
 * sysctl_kern_maxlwp: validate and store a new kern.maxlwp.  Returns EINVAL
 * below 0, at 65536 or above, or above cpu_maxlwp(); 0 on success.  Like
 * the seed, it changes only the limit itself: processes keep the
 * RLIMIT_NTHR they have.
 */
export function sysctlKernMaxlwp(st: ResourceState, v: number): number {
  if (v < 0 || v >= 65536) return EINVAL;
  if (v > st.cpuMaxlwp) return EINVAL;
  st.maxlwp = v;
  return 0;
}

/** The credentials an LWP acts with: its cache, or (an LWP not yet set up) its process's. */
export function credOf(l: Lwp): Cred {
  return l.cred ?? l.proc.cred;
}

/** kauth's suser test: is this credential root? */
export function isRoot(c: Cred): boolean {
  return c.uid === 0;
}

/** A process's limits: its own, or limit0 for a process that never changed any. */
export function procLimits(p: Proc): readonly Rlimit[] {
  return p.rlimit ?? resourceState(p.k).limit0;
}

/**
 * chglwpcnt: add `diff` to the LWP count of `uid`; returns the new count.
 * Atomic in the seed (an atomic add on uidinfo); here, code between yields is.
 */
export function chglwpcnt(k: Kernel, uid: number, diff: number): number {
  const t = resourceState(k).lwpcnt;
  const n = (t.get(uid) ?? 0) + diff;
  kassert(n >= 0, negativeCount, uid);
  t.set(uid, n); // uidinfo entries stay once made (uid_find), even at zero
  return n;
}

/** The LWP count charged to `uid` (for ps-like tools and tests). */
export function lwpcntOf(k: Kernel, uid: number): number {
  return resourceState(k).lwpcnt.get(uid) ?? 0;
}

/** User LWPs in existence (not yet freed): every LWP but proc0's idle LWPs and kernel threads. */
export function userLwps(k: Kernel): number {
  return k.alllwp.size - k.proc0.nlwps;
}

/**
 * lwp_create's limit check, for a new LWP of p2 made by l1.  Called with
 * nothing locked, before lwpCreate (which here cannot fail, so the check
 * runs first, as it does at the top of the seed's lwp_create).  Returns 0
 * (and p2's uid stays charged one LWP, unless exempt), EAGAIN or EPROCLIM.
 */
export function lwpCreateLimits(l1: Lwp, p2: Proc): number {
  const k = p2.k;
  kassert(l1 === k.curlwp(), 'lwp_create limits: l1 is not curlwp');
  // A process's first LWP and kernel threads are exempt.
  if (p2.nlwps === 0 || p2 === k.proc0) return 0;
  const st = resourceState(k);
  if (userLwps(k) >= st.maxlwp) return EAGAIN;
  if (st.maxThreadsPerProc > 0 && p2.nlwps - p2.nzlwps >= st.maxThreadsPerProc) return EPROCLIM;
  if (!k.personality.createChecksNthr) return 0; // 1.69.2.6: no per-uid count
  const count = charge(p2, 1);
  if (count > procLimits(p2)[RLIMIT_NTHR]!.cur && !isRoot(credOf(l1))) {
    charge(p2, -1);
    return EAGAIN;
  }
  return 0;
}

/**
 * The charge of a KSE upcall thread, linked into p by kse.ts.  The seed's
 * thread_alloc knows no per-user limit, so none is checked; lwp_free
 * uncharges it like any LWP.
 */
export function lwpChargeUpcall(p: Proc): void {
  charge(p, 1);
}

/**
 * lwp_free's uncharge: called by lwp_free for l, before it comes off p's
 * list (p.lock held unless `last`).  The seed skips proc0 and a process's
 * last LWP (nlwps == 1), matching the exemption of its first.
 */
export function lwpFreeLimits(l: Lwp): void {
  const p = l.proc;
  const k = p.k;
  if (p === k.proc0 || p.nlwps === 1 || !k.personality.createChecksNthr) return;
  charge(p, -1);
}

/**
 * lwp_update_creds: refresh l's cached credentials from its process's.
 * Called with nothing locked by l itself (or by its creator, for a new
 * LWP); takes p.lock.
 */
export function* lwpUpdateCreds(l: Lwp): Gen<void> {
  const k = l.k;
  const p = l.proc;
  yield* mutexEnter(k, p.lock);
  l.cred = p.cred;
  l.prflag &= ~LPR_CRMOD;
  mutexExit(k, p.lock);
}

/** LWP_CACHE_CREDS: on system call entry, refresh the cache if the process's credentials changed. */
export function lwpCacheCreds(l: Lwp): Gen<void> {
  return (l.prflag & LPR_CRMOD) !== 0 ? lwpUpdateCreds(l) : DONE; // unchanged: no generator
}

/**
 * setuid (do_setresuid with all three ids equal): root may become anyone;
 * anyone else only who it already is (EPERM otherwise).  The caller's
 * cache is updated at once; the other LWPs are marked LPR_CRMOD and pick
 * the change up on their next system call (proc_crmod_leave).  Called by
 * curlwp with nothing locked; returns an errno.
 */
export function* procSetuid(l: Lwp, uid: number): Gen<number> {
  const k = l.k;
  const p = l.proc;
  yield* lwpCacheCreds(l);
  yield* mutexEnter(k, p.lock);
  const cred = credOf(l);
  if (!isRoot(cred) && uid !== cred.uid) {
    mutexExit(k, p.lock);
    return EPERM;
  }
  if (p.cred.uid !== uid) {
    // The process's LWP charges go with it to the new uid.
    const n = p.lwpCharges;
    chglwpcnt(k, p.cred.uid, -n);
    chglwpcnt(k, uid, n);
    p.cred = Object.freeze({ uid });
    p.uid = uid;
    for (const l2 of p.eachLwp()) if (l2 !== l) l2.prflag |= LPR_CRMOD;
  }
  l.cred = p.cred;
  l.prflag &= ~LPR_CRMOD;
  mutexExit(k, p.lock);
  return 0;
}

/** Is x a limit value: a non-negative integer, or RLIM_INFINITY? */
export function isRlimValue(x: unknown): x is number {
  return x === RLIM_INFINITY || (Number.isSafeInteger(x) && (x as number) >= 0);
}

/**
 * dosetrlimit: set limit `which` of l's process.  The caller has checked
 * that `which` is a valid resource and cur/max are limit values.  EINVAL if
 * cur > max; EPERM if the hard limit would rise and l is not root.
 * RLIMIT_NTHR is clamped to kern.maxlwp.  The process gets its own copy of
 * the limits (lim_privatise); the parent's are untouched.  Returns an errno.
 */
export function* dosetrlimit(l: Lwp, which: number, lim: Rlimit): Gen<number> {
  const k = l.k;
  const p = l.proc;
  kassert(which >= 0 && which < RLIM_NLIMITS, 'dosetrlimit: bad resource');
  if (lim.cur > lim.max) return EINVAL;
  yield* lwpCacheCreds(l);
  yield* mutexEnter(k, p.lock);
  const old = procLimits(p);
  const cur = old[which]!;
  if (lim.cur === cur.cur && lim.max === cur.max) {
    mutexExit(k, p.lock);
    return 0;
  }
  if (lim.max > cur.max && !isRoot(credOf(l))) {
    mutexExit(k, p.lock);
    return EPERM;
  }
  let nl: Rlimit = { cur: lim.cur, max: lim.max };
  if (which === RLIMIT_NTHR) {
    const maxlwp = resourceState(k).maxlwp;
    nl = { cur: Math.min(nl.cur, maxlwp), max: Math.min(nl.max, maxlwp) };
  }
  const copy = old.slice();
  copy[which] = Object.freeze(nl);
  p.rlimit = Object.freeze(copy);
  mutexExit(k, p.lock);
  return 0;
}

/** getrlimit: limit `which` of l's process.  The limits are replaced, never changed in place, so no lock is needed. */
export function getrlimit(l: Lwp, which: number): Rlimit {
  const r = procLimits(l.proc)[which]!;
  return { cur: r.cur, max: r.max };
}
