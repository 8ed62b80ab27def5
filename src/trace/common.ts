/*
 * What the trace exporters share: naming LWPs and processes, mapping an
 * LWP to one integer thread id, and recognising the idle LWPs.
 *
 * Contract:
 *  - The exporters are pure functions of a recorded KEvent[] (in emission
 *    order) and options; they never touch a Machine.  Names the event
 *    stream does not carry (LWP names, names of processes spawned before
 *    recording) come in through TraceNames, which namesFromMachine fills.
 *  - Idle LWPs are proc0's LWPs 1..ncpu: CPU i runs lid i+1 (kernBoot).
 *    Their own state flips are not in the stream; a CPU that switches to
 *    its idle LWP is idle.
 *  - TidMap gives every (pid, lid) one thread id, unique across the whole
 *    trace: pid*1000+lid when lid < 1000, otherwise a number from a range
 *    no pid*1000+lid of a pid below FALLBACK_TID_BASE/1000 can reach.
 *    Assignment is by first use, so the same events give the same ids.
 */
import type { KEvent } from '../kern/events.ts';
import type { KernelView } from '../report/view.ts';

/** Optional names for processes and LWPs, keyed by pid and "pid.lid". */
export interface TraceNames {
  procs?: ReadonlyMap<number, string> | Readonly<Record<number, string>>;
  lwps?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
}

/** Names of every process and every LWP still known to the kernel m views (a Machine, say). */
export function namesFromMachine(m: KernelView): TraceNames {
  const procs = new Map<number, string>();
  const lwps = new Map<string, string>();
  const byPid = [...m.kernel.procs.values()].sort((a, b) => a.pid - b.pid);
  for (const p of byPid) if (p !== m.kernel.proc0) procs.set(p.pid, p.name);
  for (const p of byPid) {
    if (p.reaped) continue;
    for (const l of [...p.eachLwp()].sort((a, b) => a.lid - b.lid)) if (l.name) lwps.set(`${p.pid}.${l.lid}`, l.name);
  }
  return { procs, lwps };
}

function lookup<K extends string | number>(
  table: ReadonlyMap<K, string> | Readonly<Record<K, string>> | undefined, key: K,
): string | undefined {
  if (table === undefined) return undefined;
  if (table instanceof Map) return table.get(key);
  return (table as Record<K, string>)[key];
}

/** Number of CPUs a stream shows: the largest CPU mentioned, plus one. */
export function cpusIn(events: readonly KEvent[]): number {
  let n = 1;
  for (const e of events) {
    if (e.cpu + 1 > n) n = e.cpu + 1;
    if (e.type === 'ipi' && e.target + 1 > n) n = e.target + 1;
  }
  return n;
}

/** The CPU whose idle LWP (pid, lid) is, or -1. */
export function idleCpuOf(pid: number, lid: number, ncpu: number): number {
  return pid === 0 && lid >= 1 && lid <= ncpu ? lid - 1 : -1;
}

/** Key of an LWP in maps: "pid.lid". */
export const lwpKey = (pid: number, lid: number): string => `${pid}.${lid}`;

/**
 * Process and LWP names for one export: the caller's names first, then the
 * names 'proc spawn' events carry ("pid N name").
 */
export class Namer {
  private readonly spawned = new Map<number, string>();
  constructor(events: readonly KEvent[], private readonly names: TraceNames = {}) {
    for (const e of events) {
      if (e.type !== 'proc' || e.what !== 'spawn') continue;
      const m = /^pid (\d+) (.*)$/.exec(e.detail);
      if (m !== null) this.spawned.set(Number(m[1]), m[2]!);
    }
  }

  /** The process's name: 'kernel' for proc0, 'pid N' when unknown. */
  proc(pid: number): string {
    return lookup(this.names.procs, pid) ?? this.spawned.get(pid) ?? (pid === 0 ? 'kernel' : `pid ${pid}`);
  }

  /** The LWP's own name (lwpCreate's name option), if known. */
  lwp(pid: number, lid: number): string | undefined {
    return lookup(this.names.lwps, lwpKey(pid, lid));
  }

  /** "name pid.lid" for slices and labels. */
  label(pid: number, lid: number): string {
    return `${this.lwp(pid, lid) ?? this.proc(pid)} ${pid}.${lid}`;
  }
}

/** Thread ids above every pid*1000+lid of a pid below 2,000,000. */
export const FALLBACK_TID_BASE = 2_000_000_000;

/** One integer thread id per LWP, unique across the trace. */
export class TidMap {
  private readonly ids = new Map<string, number>();
  private readonly used = new Set<number>();
  private next = FALLBACK_TID_BASE;

  tid(pid: number, lid: number): number {
    const key = lwpKey(pid, lid);
    let id = this.ids.get(key);
    if (id !== undefined) return id;
    const natural = pid * 1000 + lid;
    if (lid >= 1 && lid < 1000 && pid >= 0 && natural < FALLBACK_TID_BASE && !this.used.has(natural)) id = natural;
    else {
      while (this.used.has(this.next)) this.next++;
      id = this.next++;
    }
    this.ids.set(key, id);
    this.used.add(id);
    return id;
  }
}
