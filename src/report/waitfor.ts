/*
 * The wait-for graph: every blocked LWP, what it waits on, and who could
 * end that wait; with the LWPs that can never move again and the cycles
 * among them found and marked.
 *
 *   const g = waitForGraph(m);          // after a run ended in 'deadlock'
 *   console.log(formatWaitFor(g));
 *
 * Who could end a wait, by what the LWP is blocked in:
 *  - lwp_wait1 (asleep on its process's p_lwpcv, l.inWait): for a
 *    specific lid, that LWP; for lid 0, any undetached LWP not claimed by
 *    another waiter; while the process exits, all the others (every one
 *    must go).
 *  - another sleep on p_lwpcv (_lwp_suspend waiting for its target,
 *    reference draining): any other live LWP of the process, since any of
 *    them may broadcast it.
 *  - wait4 (p_waitcv): the live LWPs of its children.
 *  - a timed sleep (nanosleep): a timer, which always fires.
 *  - LSSUSPENDED: any other live LWP of the process (_lwp_continue);
 *    nobody, when none is left.
 *  - LSSTOP: a SIGCONT, which nothing in the model sends yet.
 *  - a CPU spinning on a kernel mutex: its owner; on "lwp x.y off cpu"
 *    (lwp_free waiting): that LWP.
 * Another wait channel is reported by name with no known waker.
 *
 * Contract:
 *  - Reads only; usable at any moment.  An entry is `stuck` when nothing it
 *    waits for can move: the greatest set of blocked LWPs each of whose
 *    possible wakers is itself in the set (a timer, interrupt context or a
 *    runnable LWP is never stuck; nobody, an unknown channel and a signal
 *    no one sends always are).  When the run ended in 'deadlock' every
 *    entry is stuck.
 *  - cycles: one representative cycle per strongly connected group of
 *    stuck LWPs (LWP -> LWP edges), smallest pid.lid first; entries of
 *    that group carry its index in `cycle` (-1 otherwise).
 *  - This finds what lwp_wait1's own check cannot: it only refuses a wait
 *    whose target waits for the caller, so t1 -> t2 -> t3 -> t1 sleeps.
 */
import type { KernelView } from './view.ts';
import { type KMutex, INTR_OWNER } from '../kern/h/mutex.ts';
import type { Lwp } from '../kern/h/lwp.ts';
import type { Proc } from '../kern/h/proc.ts';
import type { StatName } from '../kern/events.ts';
import { LPR_DETACHED, LSIDL, LSONPROC, LSSLEEP, LSSTOP, LSSUSPENDED, LSZOMB, PS_WEXIT, STAT_NAMES } from '../kern/param.ts';
import { wchanName } from '../kern/sleepq.ts';
import { allLocks, allLwps, findLwp, isIdle, lwpsOf } from './common.ts';

export type WaitTarget =
  | { kind: 'lwp'; pid: number; lid: number; name: string }
  | { kind: 'timer'; at: number | null }
  | { kind: 'interrupt' }
  | { kind: 'signal'; what: string }
  | { kind: 'nobody'; why: string }
  | { kind: 'unknown'; what: string };

export interface WaitForEntry {
  pid: number;
  lid: number;
  name: string;
  stat: StatName;
  /** What it is blocked on: a wait channel, a lock, or its state. */
  on: string;
  /** The operation: '_lwp_wait(3)', '_lwp_continue', 'mutex_enter', ... */
  how: string;
  /** true: any one target ends the wait; false: it needs all of them. */
  any: boolean;
  targets: WaitTarget[];
  stuck: boolean;
  /** Index into WaitForGraph.cycles, or -1. */
  cycle: number;
}

export interface LwpId { pid: number; lid: number; name: string }

export interface WaitForGraph {
  /** Tick it was taken at. */
  now: number;
  entries: WaitForEntry[];
  /** Each a closed walk: first LWP, ..., back to before the first. */
  cycles: LwpId[][];
}

const key = (pid: number, lid: number) => `${pid}.${lid}`;
const lwpTarget = (l: Lwp): WaitTarget => ({ kind: 'lwp', pid: l.proc.pid, lid: l.lid, name: l.name ?? '' });
const live = (l: Lwp) => l.stat !== LSZOMB;

/** The other live LWPs of p. */
function others(p: Proc, l: Lwp): Lwp[] {
  return lwpsOf(p).filter((t) => t !== l && live(t));
}

function orNobody(targets: WaitTarget[], why: string): WaitTarget[] {
  return targets.length > 0 ? targets : [{ kind: 'nobody', why }];
}

function timerOf(l: Lwp): WaitTarget[] {
  if (l.sleepTimer === null || l.sleepTimer.cancelled) return [];
  const at = (l.sleepTimer as { time?: unknown }).time;
  return [{ kind: 'timer', at: typeof at === 'number' ? at : null }];
}

/** What a sleeping (or stopped/suspended-on-a-channel) LWP waits for. */
function sleepEntry(l: Lwp): Pick<WaitForEntry, 'on' | 'how' | 'any' | 'targets'> {
  const p = l.proc;
  const on = wchanName(l.wchan, l.wmesg);
  if (l.wchan === p.lwpcv && l.inWait) {
    if ((p.sflag & PS_WEXIT) !== 0) {
      // exit_lwps: waits until every other LWP is gone.
      return { on, how: '_lwp_wait (exit)', any: false, targets: others(p, l).map(lwpTarget) };
    }
    if (l.waitingfor !== 0) {
      const t = p.lidMap.get(l.waitingfor);
      return {
        on, how: `_lwp_wait(${l.waitingfor})`, any: true,
        targets: t !== undefined ? [lwpTarget(t)] : [{ kind: 'nobody', why: `no lwp ${key(p.pid, l.waitingfor)}` }],
      };
    }
    const cands = lwpsOf(p).filter((t) => t !== l && (t.prflag & LPR_DETACHED) === 0
      && (t.waiter === 0 || t.waiter === l.lid) && live(t));
    return { on, how: '_lwp_wait(0)', any: true, targets: orNobody(cands.map(lwpTarget), `no undetached lwp left in pid ${p.pid}`) };
  }
  if (l.wchan === p.lwpcv) {
    return { on, how: 'cv_wait', any: true, targets: orNobody([...timerOf(l), ...others(p, l).map(lwpTarget)], `no other live lwp in pid ${p.pid} to broadcast ${on}`) };
  }
  if (l.wchan === p.waitcv) {
    const kids: WaitTarget[] = [];
    for (const c of [...p.children].sort((a, b) => a.pid - b.pid)) for (const t of lwpsOf(c)) if (live(t)) kids.push(lwpTarget(t));
    return { on, how: 'wait4', any: true, targets: orNobody(kids, `no live child of pid ${p.pid}`) };
  }
  const timer = timerOf(l);
  if (timer.length > 0) return { on, how: l.wchan === l ? 'nanosleep' : 'timed sleep', any: true, targets: timer };
  return { on, how: 'sleep', any: true, targets: [{ kind: 'unknown', what: `wakeup on ${on}` }] };
}

/** What a CPU spinning in the kernel waits for, or null if l is not spinning. */
function spinEntry(m: KernelView, l: Lwp, locks: Map<string, KMutex>): Pick<WaitForEntry, 'on' | 'how' | 'any' | 'targets'> | null {
  const s = m.engine.spinning().find((x) => x.cpu === l.cpu.index);
  if (s === undefined || m.kernel.cpus[s.cpu]!.curlwp !== l) return null;
  const mx = locks.get(s.what);
  if (mx !== undefined) {
    const o = mx.owner;
    const targets: WaitTarget[] = o === null ? [] : o === INTR_OWNER ? [{ kind: 'interrupt' }] : [lwpTarget(o as Lwp)];
    return { on: `mutex ${mx.name}`, how: 'mutex_enter', any: true, targets: orNobody(targets, `${mx.name} is free`) };
  }
  const off = /^lwp (\d+)\.(\d+) off cpu$/.exec(s.what);
  if (off !== null) {
    const t = findLwp(m, Number(off[1]), Number(off[2]));
    return { on: s.what, how: 'lwp_free', any: true, targets: t ? [lwpTarget(t)] : [{ kind: 'unknown', what: s.what }] };
  }
  return { on: s.what, how: 'spin', any: true, targets: [{ kind: 'unknown', what: s.what }] };
}

export function waitForGraph(m: KernelView): WaitForGraph {
  const locks = allLocks(m);
  const entries: WaitForEntry[] = [];
  for (const l of allLwps(m)) {
    if (isIdle(l) || l.stat === LSZOMB || l.stat === LSIDL) continue;
    let e: Pick<WaitForEntry, 'on' | 'how' | 'any' | 'targets'> | null = null;
    if (l.stat === LSSLEEP) e = sleepEntry(l);
    else if (l.stat === LSSUSPENDED) {
      e = { on: l.wchan === null ? '-' : wchanName(l.wchan, l.wmesg), how: '_lwp_continue', any: true, targets: orNobody(others(l.proc, l).map(lwpTarget), `no other live lwp in pid ${l.proc.pid} to continue it`) };
    } else if (l.stat === LSSTOP) e = { on: l.wchan === null ? '-' : wchanName(l.wchan, l.wmesg), how: 'SIGCONT', any: true, targets: [{ kind: 'signal', what: 'SIGCONT' }] };
    else if (l.stat === LSONPROC) e = spinEntry(m, l, locks);
    if (e === null) continue;
    entries.push({ pid: l.proc.pid, lid: l.lid, name: l.name ?? '', stat: STAT_NAMES[l.stat] as StatName, ...e, stuck: true, cycle: -1 });
  }
  markStuck(entries);
  const cycles = findCycles(entries);
  return { now: m.engine.now, entries, cycles };
}

/** Greatest fixpoint: unstick an entry as soon as one (any) / every (all) target can move. */
function markStuck(entries: WaitForEntry[]): void {
  const byKey = new Map(entries.map((e) => [key(e.pid, e.lid), e]));
  const movable = (t: WaitTarget): boolean => {
    switch (t.kind) {
      case 'lwp': { const e = byKey.get(key(t.pid, t.lid)); return e === undefined || !e.stuck; }
      case 'timer': case 'interrupt': return true;
      default: return false;
    }
  };
  for (let changed = true; changed;) {
    changed = false;
    for (const e of entries) {
      if (!e.stuck) continue;
      const free = e.any ? e.targets.some(movable) : e.targets.length === 0 || e.targets.every(movable);
      if (free) { e.stuck = false; changed = true; }
    }
  }
}

/** Tarjan's strongly connected components over stuck LWP -> LWP edges; one cycle per group. */
function findCycles(entries: WaitForEntry[]): LwpId[][] {
  const stuck = entries.filter((e) => e.stuck);
  const byKey = new Map(stuck.map((e) => [key(e.pid, e.lid), e]));
  const succ = (e: WaitForEntry): WaitForEntry[] => e.targets.flatMap((t) => {
    if (t.kind !== 'lwp') return [];
    const n = byKey.get(key(t.pid, t.lid));
    return n === undefined ? [] : [n];
  });
  const index = new Map<WaitForEntry, number>();
  const low = new Map<WaitForEntry, number>();
  const onStack = new Set<WaitForEntry>();
  const stack: WaitForEntry[] = [];
  const groups: WaitForEntry[][] = [];
  let next = 0;
  const visit = (v: WaitForEntry): void => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const w of succ(v)) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const g: WaitForEntry[] = [];
      let w: WaitForEntry;
      do { w = stack.pop()!; onStack.delete(w); g.push(w); } while (w !== v);
      if (g.length > 1 || succ(v).includes(v)) groups.push(g);
    }
  };
  for (const e of stuck) if (!index.has(e)) visit(e);

  const order = (a: WaitForEntry, b: WaitForEntry) => a.pid - b.pid || a.lid - b.lid;
  groups.forEach((g) => g.sort(order));
  groups.sort((a, b) => order(a[0]!, b[0]!));
  return groups.map((g, i) => {
    for (const e of g) e.cycle = i;
    // Shortest way from the group's first LWP back to itself, inside the group.
    const inGroup = new Set(g);
    const start = g[0]!;
    const prev = new Map<WaitForEntry, WaitForEntry>();
    const queue = [start];
    let last: WaitForEntry | null = null;
    while (queue.length > 0 && last === null) {
      const v = queue.shift()!;
      for (const w of succ(v)) {
        if (!inGroup.has(w)) continue;
        if (w === start) { last = v; break; }
        if (!prev.has(w)) { prev.set(w, v); queue.push(w); }
      }
    }
    const path: WaitForEntry[] = [];
    for (let v: WaitForEntry | undefined = last!; v !== undefined && v !== start; v = prev.get(v)) path.push(v);
    path.push(start);
    return path.reverse().map((e) => ({ pid: e.pid, lid: e.lid, name: e.name }));
  });
}

function idLabel(x: { pid: number; lid: number; name: string }): string {
  return `${x.pid}.${x.lid}${x.name ? ` ${x.name}` : ''}`;
}

export function targetLabel(t: WaitTarget): string {
  switch (t.kind) {
    case 'lwp': return idLabel(t);
    case 'timer': return t.at === null ? 'a timer' : `a timer at tick ${t.at}`;
    case 'interrupt': return 'interrupt context';
    case 'signal': return `a ${t.what} nobody sends`;
    case 'nobody': return `nobody (${t.why})`;
    case 'unknown': return `unknown (${t.what})`;
  }
}

/** What an entry waits for, as one phrase: "1.3 t2", "any of 1.2, 1.3", "nobody (...)". */
export function waitsFor(e: WaitForEntry): string {
  const ts = e.targets.map(targetLabel);
  if (ts.length === 1) return ts[0]!;
  return `${e.any ? 'any' : 'all'} of ${ts.join(', ')}`;
}

export function cycleLabel(c: readonly LwpId[]): string {
  return [...c, c[0]!].map(idLabel).join(' -> ');
}

/** The graph as text: one line per blocked LWP, then the cycles. */
export function formatWaitFor(g: WaitForGraph): string {
  const n = g.entries.length;
  const out = [`wait-for graph at tick ${g.now}: ${n} blocked LWP${n === 1 ? '' : 's'}, ${g.cycles.length} cycle${g.cycles.length === 1 ? '' : 's'}`];
  if (n === 0) return out[0]!;
  const cells = g.entries.map((e) => [idLabel(e), e.stat, e.on, e.how, `-> ${waitsFor(e)}`,
    e.cycle >= 0 ? `[cycle ${e.cycle + 1}]` : e.stuck ? '' : '(can still proceed)']);
  const width = cells[0]!.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  for (const c of cells) out.push(`  ${c.map((s, i) => s.padEnd(width[i]!)).join('  ').trimEnd()}`);
  g.cycles.forEach((c, i) => {
    out.push(`cycle ${i + 1}: ${cycleLabel(c)}`);
    const waits = c.map((x) => g.entries.find((e) => e.pid === x.pid && e.lid === x.lid)!);
    if (c.length > 2 && waits.every((e) => e.how.startsWith('_lwp_wait('))) {
      out.push(`  (_lwp_wait's own check refuses only a target that waits for its caller, so this ${c.length}-LWP cycle sleeps)`);
    }
  });
  return out.join('\n');
}

