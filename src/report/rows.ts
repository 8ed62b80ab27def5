/*
 * The plain-data views of the kernel the Machine hands out: ps rows,
 * process records, and the LWPs a quiescent run leaves blocked.  Built
 * from a KernelView; they copy, and never hold on to kernel objects.
 */
import type { StatName } from '../kern/events.ts';
import { flagNames, LW_BITS } from '../kern/h/flags.ts';
import type { Lwp } from '../kern/h/lwp.ts';
import type { Proc } from '../kern/h/proc.ts';
import { LPR_DETACHED, LSONPROC, LSSLEEP, LSSTOP, LSSUSPENDED, LSZOMB, LW_IDLE, PSTAT_NAMES, STAT_NAMES, SZOMB } from '../kern/param.ts';
import { wchanName } from '../kern/sleepq.ts';
import type { BlockedLwp, KernelView } from './view.ts';

export interface PsRow {
  pid: number;
  lid: number;
  stat: StatName;
  /** CPU the LWP is on or was last on. */
  cpu: number;
  pri: number;
  /** What it sleeps on ('' when not asleep). */
  wchan: string;
  name: string;
  /** Names of the flags set: LW_* (l_flag) and LPR_DETACHED. */
  flags: string[];
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  name: string;
  uid: number;
  stat: 'SIDL' | 'SACTIVE' | 'SDYING' | 'SSTOP' | 'SZOMB' | 'SDEAD';
  nlwps: number;
  nrlwps: number;
  nzlwps: number;
  ndlwps: number;
  nlwpwait: number;
  /** Exit status once the process has exited normally; null before, or if killed. */
  exitStatus: number | null;
  /** The signal that killed it (SIGSEGV for a program that threw); null otherwise. */
  signal: number | null;
  /** Why it was killed, when a program threw. */
  fault: string | null;
  /** It dumped core (m.kernel.cores has the snapshot). */
  core: boolean;
  /** Collected by its parent. */
  reaped: boolean;
  /** Ticks its LWPs have run (freed ones included). */
  rtime: number;
}

/** One row per LWP of every process not yet reaped, idle LWPs included, by pid then lid. */
export function psRows(m: KernelView): PsRow[] {
  const rows: PsRow[] = [];
  for (const p of [...m.kernel.procs.values()].sort((a, b) => a.pid - b.pid)) {
    if (p.reaped) continue;
    for (const l of [...p.eachLwp()].sort((a, b) => a.lid - b.lid)) rows.push(psRow(l));
  }
  return rows;
}

function psRow(l: Lwp): PsRow {
  const flags = flagNames(l.flag, LW_BITS);
  if ((l.prflag & LPR_DETACHED) !== 0) flags.push('LPR_DETACHED');
  return {
    pid: l.proc.pid,
    lid: l.lid,
    stat: STAT_NAMES[l.stat] as StatName,
    cpu: l.cpu.index,
    pri: l.priority,
    wchan: l.wchan === null ? '' : wchanName(l.wchan, l.wmesg),
    name: l.name ?? '',
    flags,
  };
}

/** Every process ever created except proc0, by pid. */
export function procInfos(m: KernelView): ProcInfo[] {
  return [...m.kernel.procs.values()].filter((p) => p !== m.kernel.proc0).sort((a, b) => a.pid - b.pid).map(procInfo);
}

export function procInfo(p: Proc): ProcInfo {
  const exited = p.stat === SZOMB || p.reaped;
  return {
    pid: p.pid,
    ppid: p.pptr === null ? 0 : p.pptr.pid,
    name: p.name,
    uid: p.uid,
    stat: PSTAT_NAMES[p.stat] as ProcInfo['stat'],
    nlwps: p.nlwps,
    nrlwps: p.nrlwps,
    nzlwps: p.nzlwps,
    ndlwps: p.ndlwps,
    nlwpwait: p.nlwpwait,
    exitStatus: exited && p.termsig === 0 ? p.xstat : null,
    signal: exited && p.termsig !== 0 ? p.termsig : null,
    fault: p.fault,
    core: p.sig.core,
    reaped: p.reaped,
    rtime: p.rtime + [...p.eachLwp()].reduce((s, l) => s + l.rtime, 0),
  };
}

/** LWPs of live processes that can never run again (the run is quiescent), by pid then lid. */
export function blockedLwps(m: KernelView): BlockedLwp[] {
  const out: BlockedLwp[] = [];
  for (const p of m.kernel.procs.values()) {
    for (const l of p.eachLwp()) {
      if ((l.flag & LW_IDLE) !== 0 || l.stat === LSZOMB) continue;
      if (l.stat === LSSLEEP || l.stat === LSSTOP || l.stat === LSSUSPENDED || l.stat === LSONPROC) {
        out.push({ pid: p.pid, lid: l.lid, stat: STAT_NAMES[l.stat] as StatName, wchan: wchanName(l.wchan, l.wmesg) });
      }
    }
  }
  return out.sort((a, b) => a.pid - b.pid || a.lid - b.lid);
}
