/*
 * RunObserver: the little the reports need that the kernel itself does not
 * keep, gathered from the event stream while a machine runs.
 *
 *   const obs = new RunObserver(m);   // before m.run()
 *   m.run();
 *   psTable(m, { observer: obs });   // 'I' for long sleepers
 *   topReport(m, { observer: obs }); // freed LWPs among the busiest
 *
 * Contract:
 *  - It subscribes with m.on (so the kernel builds events) and only reads
 *    kernel structures when an event arrives; it never changes the run.
 *  - sleepSince(l): the tick l last went to sleep, while it still sleeps
 *    (the kernel keeps no l_slptime).
 *  - departed(): the `keep` LWPs with the most run time among those freed
 *    since it started watching, with their final run time.  Memory stays
 *    bounded however many LWPs come and go.
 *  - detach() stops watching.
 */
import type { KernelView } from './view.ts';
import type { KEvent } from '../kern/events.ts';
import type { Lwp } from '../kern/h/lwp.ts';
import { LSSLEEP } from '../kern/param.ts';

/** An LWP that has been freed: what top still shows of it. */
export interface Departed {
  pid: number;
  lid: number;
  name: string;
  rtime: number;
  ncsw: number;
  nivcsw: number;
  /** Last CPU it ran on. */
  cpu: number;
  priority: number;
}

export class RunObserver {
  private readonly slept = new WeakMap<Lwp, number>();
  /** Exited, not yet freed: the LWP object, found while it was still on its process's list. */
  private readonly dying = new Map<string, Lwp>();
  private readonly gone: Departed[] = [];
  /** Names given at creation: lwp_exit renames a named LWP "(zombie)". */
  private readonly names = new Map<string, string>();
  private readonly off: () => void;

  constructor(private readonly m: KernelView, private readonly keep = 10) {
    for (const p of m.kernel.procs.values()) {
      for (const l of p.eachLwp()) if (l.stat === LSSLEEP) this.slept.set(l, m.engine.now);
    }
    this.off = m.kernel.on((e) => this.event(e));
  }

  detach(): void { this.off(); }

  /** The tick l went to sleep, while it still sleeps; undefined otherwise. */
  sleepSince(l: Lwp): number | undefined {
    return l.stat === LSSLEEP ? this.slept.get(l) : undefined;
  }

  /** The busiest freed LWPs, most run time first. */
  departed(): readonly Departed[] {
    return this.gone;
  }

  private lwp(pid: number, lid: number): Lwp | undefined {
    return this.m.kernel.procs.get(pid)?.lidMap.get(lid);
  }

  private event(e: KEvent): void {
    switch (e.type) {
      case 'create':
        if (e.name) this.names.set(`${e.newPid}.${e.newLid}`, e.name);
        break;
      case 'state':
        if (e.to === 'SLEEP') {
          const l = this.lwp(e.pid, e.lid);
          if (l !== undefined) this.slept.set(l, e.t);
        }
        break;
      case 'exit': {
        // Still on p's list now; by the 'free' event it is not.
        const l = this.lwp(e.pid, e.lid);
        if (l !== undefined) this.dying.set(`${e.pid}.${e.lid}`, l);
        break;
      }
      case 'free': {
        const key = `${e.freedPid}.${e.freedLid}`;
        const l = this.dying.get(key);
        if (l === undefined) break;
        this.dying.delete(key);
        // Off its CPU by now (lwp_free waited), so rtime is final.
        this.record(key, l);
        break;
      }
      case 'proc':
        // A reaped process's last LWP is freed without a 'free' event.
        if (e.what === 'reap') {
          const pid = Number(/^pid (\d+)/.exec(e.detail)?.[1]);
          for (const [key, l] of this.dying) {
            if (l.proc.pid !== pid) continue;
            this.dying.delete(key);
            this.record(key, l);
          }
        }
        break;
      default:
        break;
    }
  }

  private record(key: string, l: Lwp): void {
    const name = this.names.get(key) ?? l.name ?? '';
    this.names.delete(key);
    const d: Departed = { pid: l.proc.pid, lid: l.lid, name, rtime: l.rtime, ncsw: l.ncsw, nivcsw: l.nivcsw, cpu: l.cpu.index, priority: l.priority };
    const g = this.gone;
    if (g.length >= this.keep && g[g.length - 1]!.rtime >= d.rtime) return;
    let i = g.length;
    while (i > 0 && g[i - 1]!.rtime < d.rtime) i--;
    g.splice(i, 0, d);
    if (g.length > this.keep) g.pop();
  }
}
