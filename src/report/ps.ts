/*
 * ps -s: one line per LWP, in NetBSD ps's terms.
 *
 *   console.log(psTable(m));            // at any moment, or at the end
 *   const lines = psLines(m);           // the same, as data
 *
 * Columns: PID, LID, NLWP (p_nlwps), STAT, CPU (the CPU it is on or last
 * ran on), PRI (l_priority), WCHAN (the wait message while asleep, '-'
 * otherwise), LNAME (the LWP's name, '-' when it has none).
 *
 * STAT is NetBSD ps's lstate(): one letter for l_stat, then modifiers.
 *   O  LSONPROC, on a CPU             R  LSRUN or LSIDL
 *   S  LSSLEEP, interruptible         I  the same, asleep for maxslp or more
 *   D  LSSLEEP, not interruptible     T  LSSTOP
 *   U  LSSUSPENDED                    Z  LSZOMB
 * followed by K for a kernel thread (LW_SYSTEM; the idle LWPs are) and
 * '-' for a detached LWP (LPR_DETACHED), then (not NetBSD's) M for a
 * thread of a process in KSE mode, ML for one that has lent its KSE.
 *
 * Contract: reads only; lists every LWP of every process not yet reaped,
 * idle LWPs and kernel threads (pid 0) included, by pid then lid.  The
 * kernel keeps no sleep time, so 'I' needs a RunObserver that watched the
 * run (opts.observer); without one a long sleeper shows 'S'.
 */
import type { KernelView } from './view.ts';
import type { Lwp } from '../kern/h/lwp.ts';
import {
  LPR_DETACHED, LSIDL, LSONPROC, LSRUN, LSSLEEP, LSSTOP, LSSUSPENDED, LSZOMB, LW_SINTR, LW_SYSTEM,
} from '../kern/param.ts';
import { wchanName } from '../kern/sleepq.ts';
import { TDI_LOAN } from '../kern/h/kse.ts';
import { liveProcs, lwpsOf, table } from './common.ts';
import type { RunObserver } from './observe.ts';

/**
 * NetBSD's maxslp is 20 seconds.  The model has no wall clock; a tick is
 * taken as one hardclock tick at hz = 100, so maxslp is 2000 ticks.
 */
export const MAXSLP_TICKS = 2000;

export interface PsLine {
  pid: number;
  lid: number;
  nlwp: number;
  /** lstate() letters, e.g. 'O', 'SK', 'U-'. */
  stat: string;
  cpu: number;
  pri: number;
  /** Wait message while asleep, '' otherwise. */
  wchan: string;
  /** The LWP's name, '' when none. */
  lname: string;
}

export interface PsOptions {
  /** Watched the run: lets long sleepers show as 'I'. */
  observer?: RunObserver;
  /** Ticks of sleep after which an interruptible sleeper is 'I' (default MAXSLP_TICKS). */
  maxslp?: number;
}

/** lstate(): l's STAT letters.  `slept` is how long it has been asleep, if known. */
export function lstate(l: Lwp, slept?: number, maxslp = MAXSLP_TICKS): string {
  let s: string;
  switch (l.stat) {
    case LSSTOP: s = 'T'; break;
    case LSSLEEP:
      if ((l.flag & LW_SINTR) !== 0) s = slept !== undefined && slept >= maxslp ? 'I' : 'S';
      else s = 'D';
      break;
    case LSRUN: case LSIDL: s = 'R'; break;
    case LSONPROC: s = 'O'; break;
    case LSZOMB: s = 'Z'; break;
    case LSSUSPENDED: s = 'U'; break;
    default: s = '?';
  }
  if ((l.flag & LW_SYSTEM) !== 0) s += 'K';
  if ((l.prflag & LPR_DETACHED) !== 0) s += '-';
  if (l.kse) s += (l.kse.flags & TDI_LOAN) !== 0 ? 'ML' : 'M';
  return s;
}

/** One line per LWP not yet freed, by pid then lid. */
export function psLines(m: KernelView, opts: PsOptions = {}): PsLine[] {
  const out: PsLine[] = [];
  for (const p of liveProcs(m)) {
    for (const l of lwpsOf(p)) {
      const since = opts.observer?.sleepSince(l);
      out.push({
        pid: p.pid,
        lid: l.lid,
        nlwp: p.nlwps,
        stat: lstate(l, since === undefined ? undefined : m.engine.now - since, opts.maxslp),
        cpu: l.cpu.index,
        pri: l.priority,
        wchan: l.wchan === null ? '' : wchanName(l.wchan, l.wmesg),
        lname: l.name ?? '',
      });
    }
  }
  return out;
}

const HEAD = ['PID', 'LID', 'NLWP', 'STAT', 'CPU', 'PRI', 'WCHAN', 'LNAME'];
const RIGHT = new Set([0, 1, 2, 4, 5]);

/** Lay psLines out as ps prints them. */
export function formatPs(lines: readonly PsLine[]): string {
  return table(HEAD, lines.map((r) => [
    String(r.pid), String(r.lid), String(r.nlwp), r.stat, String(r.cpu), String(r.pri), r.wchan || '-', r.lname || '-',
  ]), RIGHT);
}

/** The ps -s table of machine m now. */
export function psTable(m: KernelView, opts: PsOptions = {}): string {
  return formatPs(psLines(m, opts));
}
