/*
 * What the reports and the trace exporters read: the kernel and the
 * engine, and nothing else.  They only read (no lock is taken, no state
 * changes); a Machine is such a view, and so is anything else that holds
 * a booted kernel and its engine.
 */
import type { Engine } from '../engine/engine.ts';
import type { StatName } from '../kern/events.ts';
import type { Kernel } from '../kern/h/kernel.ts';

export interface KernelView {
  readonly kernel: Kernel;
  readonly engine: Engine;
}

/** An LWP left blocked when a run stops in a deadlock (RunResult.blocked). */
export interface BlockedLwp {
  pid: number;
  lid: number;
  stat: StatName;
  wchan: string;
}
