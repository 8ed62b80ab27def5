/*
 * DDB-like inspection: `show lwp`, `show proc`, `show cpu` and `whatis`,
 * as readable text, from code.
 *
 *   console.log(m.show.lwp(1, 2));     // every field of LWP 1.2
 *   console.log(m.show.proc(1));
 *   console.log(m.show.cpu(0));
 *   console.log(m.whatis('lwpwait'));  // a wait channel: who sleeps on it
 *   console.log(m.whatis('proc1.p_lock')); // a lock: who owns it, who spins
 *
 * Contract:
 *  - Reads only, at any moment; never takes a lock, never hashes a new
 *    wait channel into the sleep table (that would change later runs).
 *  - show* print every own field of the kernel structure, in declaration
 *    order, so fields that later subsystems add show up too; flag words
 *    are decoded with the LW_, LP_, LPR_ and PS_ names of kern/param.ts.
 *    References print as names ("lwp 1.2 (t1)", "cpu0", a lock's name).
 *  - An unknown pid, lid or CPU throws a RangeError saying which.
 *  - whatis(thing): thing is a lock name, a wait message (every channel
 *    with it), "pid.lid", or the object itself (a KMutex, a CondVar, any
 *    wait channel).  Something it does not know gets a one-line answer.
 */
import type { KernelView } from './view.ts';
import { CondVar, INTR_OWNER, KMutex } from '../kern/h/mutex.ts';
import { CpuInfo } from '../kern/h/cpu.ts';
import { Lwp, LwpRare } from '../kern/h/lwp.ts';
import { Proc } from '../kern/h/proc.ts';
import { LP_BITS, LPR_BITS, LW_BITS, PS_BITS, type FlagTable } from '../kern/h/flags.ts';
import { STAT_NAMES, type LwpStat, PSTAT_NAMES, type ProcStat } from '../kern/param.ts';
import { wchanName } from '../kern/sleepq.ts';
import { CpuCond } from '../engine/engine.ts';
import { allLocks, allLwps, findLwp, liveProcs, lwpLabel, lwpsOf, ownerLabel } from './common.ts';
import { lstate } from './ps.ts';
import { kseText, kseThreadText } from './kse.ts';

/** "0x1000080 <LW_SINTR,LW_PENDSIG>", unknown bits as hex. */
export function decodeFlags(v: number, table: FlagTable): string {
  if (v === 0) return '0';
  const names: string[] = [];
  let rest = v >>> 0;
  for (const [bit, name] of table) if ((rest & bit) !== 0) { names.push(name); rest &= ~bit >>> 0; }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return `0x${(v >>> 0).toString(16)} <${names.join(',')}>`;
}

function lockLabel(mx: KMutex): string {
  return `${mx.name} (${mx.owner === null ? 'free' : `held by ${ownerLabel(mx.owner)}`})`;
}

/** A value of a field, readable. */
function value(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'function') return `${v.name || 'function'}()`;
  if (v instanceof Lwp) return `lwp ${lwpLabel(v)}`;
  if (v instanceof Proc) return `proc ${v.pid} (${v.name})`;
  if (v instanceof CpuInfo) return `cpu${v.index}`;
  if (v instanceof KMutex) return lockLabel(v);
  if (v instanceof CondVar) return `condvar "${v.wmesg}"`;
  if (v === INTR_OWNER) return 'interrupt context';
  if (v instanceof Set || v instanceof Map) return `${v.constructor.name}(${v.size})`;
  if (Array.isArray(v)) return `[${v.length} items]`;
  const o = v as Record<string, unknown>;
  if (typeof o.time === 'number' && typeof o.cancelled === 'boolean') return o.cancelled ? 'timer (cancelled)' : `timer at tick ${o.time}`;
  if (o.lock instanceof KMutex && o.waiters instanceof Map) return `sleep queue ${o.lock.name}`;
  const name = (v as object).constructor?.name;
  if (name && name !== 'Object') return name;
  // A plain record (credentials, limits): its JSON, cut short; cycles are possible.
  try {
    const j = JSON.stringify(v) ?? '?';
    return j.length > 100 ? `${j.slice(0, 97)}...` : j;
  } catch {
    return 'object';
  }
}

function lines(title: string, rows: [string, string][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return [title, ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`)].join('\n');
}

/** Every own field of obj except `skip`, with `special` formatters by name. */
function fields(obj: object, skip: ReadonlySet<string>, special: Record<string, (v: unknown) => string>): [string, string][] {
  const rows: [string, string][] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (skip.has(k)) continue;
    rows.push([k, k in special ? special[k]!(v) : value(v)]);
  }
  return rows;
}

/** What a wait channel is, in words. */
export function channelLabel(m: KernelView, w: object): string {
  for (const p of m.kernel.procs.values()) {
    if (w === p.lwpcv) return `p_lwpcv of proc ${p.pid} (${p.name}): LWP exits, detaches and suspensions are broadcast on it`;
    if (w === p.waitcv) return `p_waitcv of proc ${p.pid} (${p.name}): its children's exits are broadcast on it`;
  }
  if (w instanceof Lwp) return `private channel of lwp ${lwpLabel(w)} (nanosleep)`;
  if (w instanceof CondVar) return `condition variable "${w.wmesg}"`;
  return `wait channel (${value(w)})`;
}

function sleepqOf(m: KernelView, w: object): string {
  const q = m.kernel.sleeptab.queues.find((sq) => sq.waiters.has(w));
  return q === undefined ? 'no sleepers queued' : `sleep queue ${q.lock.name}`;
}

const RARE_FIELDS = Object.keys(new LwpRare());

export function showLwp(m: KernelView, pid: number, lid: number): string {
  const l = findLwp(m, pid, lid);
  if (l === undefined) throw new RangeError(`show lwp: no lwp ${pid}.${lid}${m.kernel.procs.has(pid) ? '' : ` (no process ${pid})`}`);
  const rows = fields(l, new Set(['k', 'td', 'sys', 'rare']), {
    stat: (v) => `${STAT_NAMES[v as LwpStat]} (${String(v)}), ps ${lstate(l)}`,
    flag: (v) => decodeFlags(v as number, LW_BITS),
    pflag: (v) => decodeFlags(v as number, LP_BITS),
    prflag: (v) => decodeFlags(v as number, LPR_BITS),
    wchan: (v) => (v === null ? '-' : `${wchanName(v as object, l.wmesg)}: ${channelLabel(m, v as object)}`),
    waiter: (v) => (v === 0 ? '0 (nobody waits for it by lid)' : `lid ${String(v)} waits for it`),
    waitingfor: (v) => (v === 0 ? (l.inWait ? '0 (any lwp)' : '0') : `lid ${String(v)}`),
    rq: (v) => (v === null ? '-' : `cpu${m.kernel.cpus.findIndex((c) => c.runq === v)} run queue`),
    slpError: (v) => String(v),
    kse: () => kseThreadText(l.kse),
  });
  // The rarely set fields live in an object made on first use (LwpRare): each by its own name.
  for (const k of RARE_FIELDS) rows.push([k, value((l as unknown as Record<string, unknown>)[k])]);
  rows.push(['rtime', `${l.rtime} ticks`]);
  rows.push(['thread', `tid ${l.td.tid}, ${l.td.cpu < 0 ? 'off cpu' : `on cpu${l.td.cpu}`}, ${l.td.frames.length} frame(s)`]);
  return lines(`lwp ${lwpLabel(l)} of proc ${pid} (${l.proc.name}) at tick ${m.engine.now}`, rows);
}

export function showProc(m: KernelView, pid: number): string {
  const p = m.kernel.procs.get(pid);
  if (p === undefined) throw new RangeError(`show proc: no process ${pid}`);
  const rows = fields(p, new Set(['k', 'lidMap']), {
    stat: (v) => `${PSTAT_NAMES[v as ProcStat]} (${String(v)})`,
    sflag: (v) => decodeFlags(v as number, PS_BITS),
    lwps: () => lwpsOf(p).map((l) => `${l.lid}:${lstate(l)}`).join(' ') || '-',
    children: () => [...p.children].map((c) => String(c.pid)).sort().join(' ') || '-',
    lwpcv: () => `"${p.lwpcv.wmesg}", sleepers: ${sleepers(m, p.lwpcv).map((l) => lwpLabel(l)).join(', ') || 'none'}`,
    waitcv: () => `"${p.waitcv.wmesg}", sleepers: ${sleepers(m, p.waitcv).map((l) => lwpLabel(l)).join(', ') || 'none'}`,
    kse: () => kseText(p),
  });
  return lines(`proc ${pid} (${p.name}) at tick ${m.engine.now}`, rows);
}

export function showCpu(m: KernelView, i: number): string {
  const ci = m.kernel.cpus[i];
  const hw = m.engine.cpus[i];
  if (ci === undefined || hw === undefined) throw new RangeError(`show cpu: no cpu ${i} (the machine has ${m.kernel.cpus.length})`);
  const rows = fields(ci, new Set(['k', 'hw']), {
    runq: () => {
      const items = ci.runq.items();
      return `${ci.runq.count} queued${items.length ? `: ${items.map((l) => `${lwpLabel(l)} pri ${l.priority}`).join(', ')}` : ''}`;
    },
  });
  const spin = m.engine.spinning().find((s) => s.cpu === i);
  rows.push(['hw.cond', `${CpuCond[hw.cond]}${spin ? ` on ${spin.what}` : ''}`]);
  rows.push(['hw.busyTicks', String(hw.busyTicks)]);
  rows.push(['hw.quantumLeft', String(hw.quantumLeft)]);
  rows.push(['hw.thread', `tid ${hw.thread.tid}`]);
  return lines(`cpu${i} at tick ${m.engine.now}`, rows);
}

/** LWPs whose wait channel is w (asleep, or stopped/suspended while on it). */
function sleepers(m: KernelView, w: object): Lwp[] {
  return allLwps(m).filter((l) => l.wchan === w);
}

/** What a lock protects, by which structure holds it. */
function lockRole(m: KernelView, mx: KMutex): string {
  const k = m.kernel;
  if (mx === k.procLock) return 'proc_lock: the process table and tree';
  for (const p of liveProcs(m)) if (mx === p.lock) return `p_lock of proc ${p.pid}: its counters, LWP list, l_prflag, l_refcnt, l_waiter, l_waitingfor`;
  for (const ci of k.cpus) {
    if (mx === ci.spcMutex) return `spc_mutex of cpu${ci.index}: its run queue and the LSIDL/LSRUN LWPs there`;
    if (mx === ci.spcLwplock) return `spc_lwplock of cpu${ci.index}: the LSONPROC and LSZOMB LWPs there`;
  }
  const q = k.sleeptab.queues.find((sq) => sq.lock === mx);
  if (q !== undefined) return `lock of a sleep queue: ${[...q.waiters.keys()].map((w) => `"${wchanName(w, null)}"`).join(', ') || 'no channel queued'}`;
  return 'a kernel lock';
}

function whatisLock(m: KernelView, mx: KMutex): string {
  const covered = allLwps(m).filter((l) => l.mutex === mx);
  const spinners = m.engine.spinning().filter((s) => s.what === mx.name);
  return [
    `${mx.name}: ${mx.spin ? 'spin' : 'adaptive'} mutex, ${mx.owner === null ? 'free' : `held by ${ownerLabel(mx.owner)}`}, contended ${mx.contended} time${mx.contended === 1 ? '' : 's'}`,
    `  ${lockRole(m, mx)}`,
    `  l_mutex of: ${covered.map((l) => lwpLabel(l)).join(', ') || 'no lwp'}`,
    `  spinning on it: ${spinners.map((s) => `cpu${s.cpu} (lwp ${lwpLabel(m.kernel.cpus[s.cpu]!.curlwp)})`).join(', ') || 'nobody'}`,
  ].join('\n');
}

function whatisChannel(m: KernelView, w: object): string {
  const who = sleepers(m, w);
  const name = who.length > 0 ? wchanName(w, who[0]!.wmesg) : wchanName(w, null);
  return [
    `${name}: ${channelLabel(m, w)}; ${sleepqOf(m, w)}`,
    `  sleepers: ${who.map((l) => `${lwpLabel(l)} ${STAT_NAMES[l.stat]}`).join(', ') || 'none'}`,
  ].join('\n');
}

export function whatis(m: KernelView, thing: string | object): string {
  if (thing instanceof KMutex) return whatisLock(m, thing);
  if (typeof thing === 'object' && thing !== null) return whatisChannel(m, thing);
  if (typeof thing !== 'string') return `${String(thing)}: not a lock or wait channel`;
  const mx = allLocks(m).get(thing);
  if (mx !== undefined) return whatisLock(m, mx);
  const id = /^(\d+)\.(\d+)$/.exec(thing);
  if (id !== null) {
    const l = findLwp(m, Number(id[1]), Number(id[2]));
    if (l === undefined) return `${thing}: no such lwp`;
    const on = l.wchan === null ? '' : ` on ${wchanName(l.wchan, l.wmesg)}`;
    return `${thing}: lwp ${lwpLabel(l)} of proc ${l.proc.pid} (${l.proc.name}), ${STAT_NAMES[l.stat]}${on}, l_mutex ${lockLabel(l.mutex)}`;
  }
  // Wait channels by message: those slept on now, and the processes' condvars.
  const chans: object[] = [];
  const add = (w: object) => { if (!chans.includes(w)) chans.push(w); };
  for (const l of allLwps(m)) if (l.wchan !== null && wchanName(l.wchan, l.wmesg) === thing) add(l.wchan);
  for (const p of liveProcs(m)) for (const cv of [p.lwpcv, p.waitcv]) if (cv.wmesg === thing) add(cv);
  if (chans.length === 0) return `${thing}: no lock or wait channel of that name`;
  // Channels somebody sleeps on; all of them only when nobody sleeps on any.
  const busy = chans.filter((w) => sleepers(m, w).length > 0);
  return (busy.length > 0 ? busy : chans).map((w) => whatisChannel(m, w)).join('\n');
}
