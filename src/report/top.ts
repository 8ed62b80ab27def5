/*
 * top -H: the per-CPU view of a run, and its busiest LWPs.
 *
 *   console.log(formatTop(topReport(m, { observer })));
 *
 * Per CPU: utilisation (ticks the CPU spent running anything, user, kernel
 * or spinning, over the ticks elapsed; a burst still in progress counts up
 * to now), context switches (cpu_nswtch), the run queue's length and what
 * it runs now.  Machine-wide: the DragonFly dispatcher's preemption
 * counters lwkt.preempt_hit / _miss / _weird when the machine has those
 * sysctls, '-' otherwise.  Then the LWPs with the most run time: live ones
 * (zombies included) and, with a RunObserver, ones already freed.
 *
 * Contract: reads only; may be called at any moment, though it means most
 * at the end of a run.
 */
import type { KernelView } from './view.ts';
import { CpuCond } from '../engine/engine.ts';
import { allLwps, isIdle, liveProcs, table } from './common.ts';
import type { RunObserver } from './observe.ts';
import { lstate } from './ps.ts';

export interface TopCpu {
  cpu: number;
  /** Busy ticks over elapsed ticks, 0..1 (0 before any time has passed). */
  util: number;
  busy: number;
  switches: number;
  runq: number;
  /** "idle" or the LWP it runs, "pid.lid name". */
  current: string;
}

export interface TopLwp {
  pid: number;
  lid: number;
  name: string;
  /** lstate() letters, or 'freed'. */
  stat: string;
  cpu: number;
  pri: number;
  rtime: number;
  /** rtime over elapsed ticks: its share of one CPU. */
  share: number;
  /** Voluntary and involuntary switches. */
  vcsw: number;
  ivcsw: number;
}

export interface TopReport {
  now: number;
  cpus: TopCpu[];
  /** lwkt.preempt_hit, _miss, _weird; null where the machine has no such sysctl. */
  preempt: { hit: number | null; miss: number | null; weird: number | null };
  nprocs: number;
  /** LWPs not yet freed (idle LWPs excepted). */
  nlwps: number;
  lwps: TopLwp[];
}

export interface TopOptions {
  observer?: RunObserver;
  /** How many LWPs to list (default 10). */
  count?: number;
}

export function topReport(m: KernelView, opts: TopOptions = {}): TopReport {
  const now = m.engine.now;
  const k = m.kernel;
  const cpus = k.cpus.map((ci, i): TopCpu => {
    const hw = m.engine.cpus[i]!;
    let busy = hw.busyTicks;
    if (hw.cond === CpuCond.Busy) busy += now - hw.burstStart;
    else if (hw.cond === CpuCond.Spin) busy += now - hw.spinStart;
    const cur = ci.curlwp;
    return {
      cpu: i,
      util: now > 0 ? Math.min(1, busy / now) : 0,
      busy,
      switches: ci.nswtch,
      runq: ci.runq.count,
      current: cur === ci.idlelwp ? 'idle' : `${cur.proc.pid}.${cur.lid}${cur.name ? ` ${cur.name}` : ''}`,
    };
  });
  const sysctl = new Map(m.kernel.sysctl.list().map((n) => [n.name, n.get()]));
  const pre = (n: string) => sysctl.get(`lwkt.preempt_${n}`) ?? null;

  const lwps: TopLwp[] = [];
  const live = allLwps(m).filter((l) => !isIdle(l));
  for (const l of live) {
    lwps.push({
      pid: l.proc.pid, lid: l.lid, name: l.name ?? '', stat: lstate(l), cpu: l.cpu.index, pri: l.priority,
      rtime: l.rtime, share: 0, vcsw: l.ncsw - l.nivcsw, ivcsw: l.nivcsw,
    });
  }
  for (const d of opts.observer?.departed() ?? []) {
    lwps.push({ pid: d.pid, lid: d.lid, name: d.name, stat: 'freed', cpu: d.cpu, pri: d.priority, rtime: d.rtime, share: 0, vcsw: d.ncsw - d.nivcsw, ivcsw: d.nivcsw });
  }
  for (const l of lwps) l.share = now > 0 ? l.rtime / now : 0;
  lwps.sort((a, b) => b.rtime - a.rtime || a.pid - b.pid || a.lid - b.lid);
  return {
    now,
    cpus,
    preempt: { hit: pre('hit'), miss: pre('miss'), weird: pre('weird') },
    nprocs: liveProcs(m).filter((p) => p.pid !== 0).length,
    nlwps: live.length,
    lwps: lwps.slice(0, opts.count ?? 10),
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const dash = (v: number | null) => (v === null ? '-' : String(v));

export function formatTop(t: TopReport): string {
  const out: string[] = [];
  out.push(`top -H: ${t.cpus.length} CPU${t.cpus.length === 1 ? '' : 's'}, ${t.now} ticks; ${t.nprocs} process${t.nprocs === 1 ? '' : 'es'}, ${t.nlwps} LWP${t.nlwps === 1 ? '' : 's'} not yet freed`);
  out.push(table(['CPU', 'UTIL', 'BUSY', 'SWITCHES', 'RUNQ', 'CURRENT'],
    t.cpus.map((c) => [String(c.cpu), pct(c.util), String(c.busy), String(c.switches), String(c.runq), c.current]),
    new Set([0, 1, 2, 3, 4])));
  out.push(`preemptions (lwkt.preempt_*): hit ${dash(t.preempt.hit)}, miss ${dash(t.preempt.miss)}, weird ${dash(t.preempt.weird)}`);
  out.push('');
  out.push(table(['PID', 'LID', 'LNAME', 'STAT', 'CPU', 'PRI', 'RTIME', 'WCPU', 'VCSW', 'IVCSW'],
    t.lwps.map((l) => [String(l.pid), String(l.lid), l.name || '-', l.stat, String(l.cpu), String(l.pri), String(l.rtime), pct(l.share), String(l.vcsw), String(l.ivcsw)]),
    new Set([0, 1, 4, 5, 6, 7, 8, 9])));
  return out.join('\n');
}
