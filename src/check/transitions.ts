/*
 * The LWP state transition diagram of kern_lwp.c 1.172, with the edges the
 * model's kernel threads add: the one table the checker holds every
 * setStat to (and that lwp.ts's header quotes).
 *
 * An edge is allowed for every LWP, or only for some:
 *   idle     the CPU's idle LWP (LW_IDLE)
 *   system   a kernel thread (LW_SYSTEM): LWKT schedules and deschedules
 *            it between RUN, IDL and ONPROC
 *   running  an LWP that still has LP_RUNNING, woken before it switched
 *            away (setrunnable's and sleepq_remove's first case)
 */
import type { Lwp } from '../kern/h/lwp.ts';
import {
  LP_RUNNING, LSIDL, LSONPROC, LSRUN, LSSLEEP, LSSTOP, LSSUSPENDED, LSZOMB, LW_IDLE, LW_SYSTEM, type LwpStat,
} from '../kern/param.ts';

export type EdgeFor = 'any' | 'idle' | 'system' | 'running';

export interface Transition {
  readonly from: LwpStat;
  readonly to: LwpStat;
  readonly for: EdgeFor;
}

const E = (from: LwpStat, to: LwpStat, f: EdgeFor = 'any'): Transition => ({ from, to, for: f });

export const TRANSITIONS: readonly Transition[] = Object.freeze([
  E(LSIDL, LSRUN), E(LSIDL, LSSUSPENDED), E(LSIDL, LSSTOP),
  E(LSRUN, LSONPROC),
  E(LSONPROC, LSRUN), E(LSONPROC, LSSLEEP), E(LSONPROC, LSSTOP), E(LSONPROC, LSSUSPENDED), E(LSONPROC, LSZOMB),
  E(LSSLEEP, LSONPROC), E(LSSLEEP, LSRUN), E(LSSLEEP, LSSTOP),
  E(LSSTOP, LSRUN), E(LSSTOP, LSSLEEP),
  E(LSSUSPENDED, LSRUN),
  E(LSIDL, LSONPROC, 'idle'), E(LSONPROC, LSIDL, 'idle'),
  E(LSONPROC, LSIDL, 'system'), E(LSRUN, LSIDL, 'system'), E(LSIDL, LSONPROC, 'system'),
  E(LSSTOP, LSONPROC, 'running'), E(LSSUSPENDED, LSONPROC, 'running'),
]);

/** Does `t` apply to l? */
function appliesTo(t: Transition, l: Lwp): boolean {
  switch (t.for) {
    case 'any': return true;
    case 'idle': return (l.flag & LW_IDLE) !== 0;
    case 'system': return (l.flag & LW_SYSTEM) !== 0;
    case 'running': return (l.pflag & LP_RUNNING) !== 0;
  }
}

/** The table by (from, to), so that the check costs one lookup per state change. */
const BY_PAIR = new Map<number, Transition[]>();
for (const t of TRANSITIONS) {
  const key = t.from * 16 + t.to;
  BY_PAIR.set(key, [...(BY_PAIR.get(key) ?? []), t]);
}

/** Is from -> to an edge of the diagram for l?  (Staying put always is.) */
export function legalTransition(l: Lwp, from: LwpStat, to: LwpStat): boolean {
  if (from === to) return true;
  const ts = BY_PAIR.get(from * 16 + to);
  return ts !== undefined && ts.some((t) => appliesTo(t, l));
}
