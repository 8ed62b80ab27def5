/*
 * What the reports share: finding LWPs, processes and locks in a Machine,
 * naming them the way every report prints them, and laying out tables.
 *
 * Contract:
 *  - Reports read the kernel's structures directly (m.kernel), never
 *    change them, take no locks and emit no events: they may run at any
 *    moment between two engine steps, or inside an event listener, and
 *    leave the run exactly as it would have been.
 *  - src/report imports Machine as a type only, so that machine.ts can
 *    import the reports without a module cycle.
 *  - An LWP is named "pid.lid", followed by its name when it has one.
 */
import type { KernelView } from './view.ts';
import { INTR_OWNER, KMutex } from '../kern/h/mutex.ts';
import type { Lwp } from '../kern/h/lwp.ts';
import type { Proc } from '../kern/h/proc.ts';
import { LW_IDLE } from '../kern/param.ts';

/** "1.2", or "1.2 (worker1)" with `named`. */
export function lwpLabel(l: Lwp, named = true): string {
  const id = `${l.proc.pid}.${l.lid}`;
  return named && l.name ? `${id} (${l.name})` : id;
}

/** Who owns a lock, as a report says it. */
export function ownerLabel(o: object | null): string {
  if (o === null) return 'nobody';
  if (o === INTR_OWNER) return 'interrupt context';
  return `lwp ${lwpLabel(o as Lwp)}`;
}

/** Processes not yet reaped, by pid (proc0 included). */
export function liveProcs(m: KernelView): Proc[] {
  return [...m.kernel.procs.values()].filter((p) => !p.reaped).sort((a, b) => a.pid - b.pid);
}

/** The LWPs of p, by lid. */
export function lwpsOf(p: Proc): Lwp[] {
  return [...p.eachLwp()].sort((a, b) => a.lid - b.lid);
}

/** Every LWP not yet freed, by pid then lid. */
export function allLwps(m: KernelView): Lwp[] {
  const out: Lwp[] = [];
  for (const p of liveProcs(m)) out.push(...lwpsOf(p));
  return out;
}

/** A CPU's idle LWP. */
export function isIdle(l: Lwp): boolean {
  return (l.flag & LW_IDLE) !== 0;
}

/** The LWP pid.lid, or undefined. */
export function findLwp(m: KernelView, pid: number, lid: number): Lwp | undefined {
  return m.kernel.procs.get(pid)?.lidMap.get(lid);
}

/**
 * Every kernel mutex the machine has: proc_lock, each process's p_lock,
 * each CPU's spc locks, the sleep queue locks, and any other KMutex held
 * in a field of the kernel, a process, a CPU or an LWP (so locks that later
 * subsystems add there are found too).  Keyed by name; the first found
 * wins on a clash.
 */
export function allLocks(m: KernelView): Map<string, KMutex> {
  const k = m.kernel;
  const out = new Map<string, KMutex>();
  const add = (mx: KMutex) => { if (!out.has(mx.name)) out.set(mx.name, mx); };
  const scan = (o: object) => { for (const v of Object.values(o)) if (v instanceof KMutex) add(v); };
  add(k.procLock);
  for (const p of liveProcs(m)) add(p.lock);
  for (const ci of k.cpus) { add(ci.spcMutex); add(ci.spcLwplock); }
  for (const sq of k.sleeptab.queues) add(sq.lock);
  scan(k);
  for (const p of liveProcs(m)) scan(p);
  for (const ci of k.cpus) scan(ci);
  for (const l of allLwps(m)) scan(l);
  return out;
}

/** Lay out rows under a header; `right` names the columns aligned right (numbers). */
export function table(head: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number> = new Set()): string {
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]) => r.map((s, i) => (right.has(i) ? s.padStart(width[i]!) : s.padEnd(width[i]!))).join(' ').trimEnd();
  return [fmt(head), ...rows.map(fmt)].join('\n');
}
