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

/** Which kinds of LWP may take the edge: one bit per EdgeFor. */
const FOR_BIT: Record<EdgeFor, number> = { any: 1, idle: 2, system: 4, running: 8 };

/** The table by (from, to): the EdgeFor bits of its edges, so that the check costs one array read per state change. */
const BY_PAIR = new Uint8Array(16 * 16);
for (const t of TRANSITIONS) BY_PAIR[t.from * 16 + t.to]! |= FOR_BIT[t.for];

/** The EdgeFor bits that hold for l. */
function kindsOf(l: Lwp): number {
  return 1 | ((l.flag & LW_IDLE) !== 0 ? 2 : 0) | ((l.flag & LW_SYSTEM) !== 0 ? 4 : 0) | ((l.pflag & LP_RUNNING) !== 0 ? 8 : 0);
}

/** Is from -> to an edge of the diagram for l?  (Staying put always is.) */
export function legalTransition(l: Lwp, from: LwpStat, to: LwpStat): boolean {
  if (from === to) return true;
  const bits = BY_PAIR[from * 16 + to]!;
  return bits !== 0 && (bits & kindsOf(l)) !== 0;
}
