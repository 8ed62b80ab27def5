/*
 * The lock-order detector (FreeBSD's witness, reduced): every
 * acquisition made while other locks are held adds an edge held -> taken
 * to an order graph over lock classes (a lock's name with its numbers
 * blanked: proc#.p_lock, cpu#.spc_mutex, sleepq#), kept across all the
 * runs of an exploration.  A cycle in the graph is a lock-order reversal:
 * two paths that can deadlock against each other, reported whether or not
 * any run did.  Each edge keeps the first acquisition that made it: the
 * LWP, and the kernel functions where the held lock and the taken one were
 * acquired.  Edges within one class (two CPUs' spc_mutex, taken in index
 * order) are not ordered here.
 *
 * It also knows, at any moment, which locks each LWP holds and where it
 * took them: a panic report names them (a sleep with a spin lock held).
 *
 * Where a lock was taken costs a stack capture, which once made up most of
 * an exploration's time.  So an exploring watcher runs without it (capture
 * off): it only notices that a run made an edge no earlier run made, or
 * failed, and the explorer replays that one run exactly with capture on
 * (exploreRun).  The edges and paths are those an always-capturing watcher
 * records; test/explore-lockorder.test.ts holds the two side by side.
 */
import type { Gen } from '../engine/coroutine.ts';
import type { Kernel } from '../kern/h/kernel.ts';
import type { KMutex } from '../kern/h/mutex.ts';
import type { LockWatcher } from '../kern/mutex.ts';
import { fullPath } from './labels.ts';

export interface OrderEdge {
  from: string;
  to: string;
  /** The LWP (pid.lid, or 'interrupt') that took `to` holding `from`. */
  lwp: string;
  /** Kernel functions where `from` was taken, and where `to` was. */
  heldAt: string;
  takenAt: string;
}

export interface LockOrderReversal {
  /** The lock classes of the cycle, in order. */
  cycle: string[];
  /** The acquisitions that made each edge of the cycle. */
  paths: OrderEdge[];
}

/** A held lock, with the engine frames and the stack (captured, formatted only if reported) of its acquisition; null with capture off. */
interface Held { m: KMutex; frames: Gen<unknown>[] | null; site: Error | null }

const classes = new Map<string, string>();
export function lockClass(name: string): string {
  let c = classes.get(name);
  if (c === undefined) classes.set(name, (c = name.replace(/\d+/g, '#')));
  return c;
}

export class LockOrderWatcher implements LockWatcher {
  /** Locks held now, by owner (this run). */
  private held = new Map<object, Held[]>();
  /** Edges seen in this run, by "from -> to" (capture on only). */
  runEdges = new Map<string, OrderEdge>();
  /** Edge classes seen by any run of this watcher: from -> the classes taken holding it. */
  private readonly known = new Map<string, Set<string>>();
  /** This run made an edge no earlier run made (capture off: its paths are still to be taken). */
  fresh = false;
  /** Runs replayed with capture on (exploreRun): for the bench and the tests. */
  replays = 0;

  /** capture: record where each lock was taken, and each edge's paths.  Off: notice new edges only. */
  constructor(public capture = true) {}

  /** Forget the previous run's machine. */
  startRun(): void {
    this.held = new Map();
    this.runEdges = new Map();
    this.fresh = false;
  }

  /** Edges already known (from a checkpoint, or a run's replay): they no longer make a run fresh. */
  learn(edges: Iterable<OrderEdge>): void {
    for (const e of edges) {
      let s = this.known.get(e.from);
      if (s === undefined) this.known.set(e.from, (s = new Set()));
      s.add(e.to);
    }
  }

  acquired(k: Kernel, m: KMutex, o: object): void {
    let h = this.held.get(o);
    if (h === undefined) this.held.set(o, (h = []));
    const to = lockClass(m.name);
    if (!this.capture) {
      for (const x of h) {
        const from = lockClass(x.m.name);
        if (from !== to && this.known.get(from)?.has(to) !== true) this.fresh = true;
      }
      h.push({ m, frames: null, site: null });
      return;
    }
    const cur = k.engine.cur;
    const frames = cur === null ? [] : cur.thread.frames.slice();
    const site = new Error('acquired');
    for (const x of h) {
      const from = lockClass(x.m.name);
      if (from === to) continue;
      const key = `${from} -> ${to}`;
      if (this.runEdges.has(key)) continue;
      this.runEdges.set(key, { from, to, lwp: ownerName(o), heldAt: where(x), takenAt: fullPath(frames, site) || '?' });
    }
    h.push({ m, frames, site });
  }

  released(_k: Kernel, m: KMutex, o: object): void {
    const h = this.held.get(o);
    if (h === undefined) return;
    for (let i = h.length - 1; i >= 0; i--) {
      if (h[i]!.m === m) {
        h.splice(i, 1);
        return;
      }
    }
  }

  /** What `o` holds now, and where it took each lock ('?' with capture off). */
  heldBy(o: object): string[] {
    return (this.held.get(o) ?? []).map((x) => `${x.m.name}${x.m.spin ? ' (spin)' : ''} taken in ${where(x)}`);
  }
}

function where(x: Held): string {
  return x.frames === null || x.site === null ? '?' : fullPath(x.frames, x.site) || '?';
}

function ownerName(o: object): string {
  const l = o as { proc?: { pid: number }; lid?: number };
  return l.proc !== undefined ? `${l.proc.pid}.${l.lid}` : 'interrupt';
}

/** The order graph of an exploration: the union of its runs' edges, first acquisition kept. */
export class OrderGraph {
  readonly edges = new Map<string, OrderEdge>();
  add(runEdges: Iterable<OrderEdge>): void {
    for (const e of runEdges) {
      const key = `${e.from} -> ${e.to}`;
      if (!this.edges.has(key)) this.edges.set(key, e);
    }
  }
  /** Every elementary cycle found by a depth-first search from each class (each reported once). */
  reversals(): LockOrderReversal[] {
    const adj = new Map<string, OrderEdge[]>();
    for (const e of this.edges.values()) {
      let a = adj.get(e.from);
      if (a === undefined) adj.set(e.from, (a = []));
      a.push(e);
    }
    const seen = new Set<string>();
    const out: LockOrderReversal[] = [];
    const nodes = [...adj.keys()].sort();
    for (const start of nodes) {
      // Cycles whose smallest class is `start`: search only through larger classes.
      const path: OrderEdge[] = [];
      const onPath = new Set<string>([start]);
      const dfs = (n: string): void => {
        for (const e of adj.get(n) ?? []) {
          if (e.to === start) {
            const cyc = [...path, e];
            const key = cyc.map((x) => x.from).join(',');
            if (!seen.has(key)) {
              seen.add(key);
              out.push({ cycle: cyc.map((x) => x.from), paths: cyc });
            }
            continue;
          }
          if (e.to < start || onPath.has(e.to) || path.length >= 6) continue;
          onPath.add(e.to);
          path.push(e);
          dfs(e.to);
          path.pop();
          onPath.delete(e.to);
        }
      };
      dfs(start);
    }
    return out;
  }
}

export function formatReversal(r: LockOrderReversal): string {
  const lines = [`lock order reversal: ${[...r.cycle, r.cycle[0]].join(' -> ')}`];
  for (const e of r.paths) lines.push(`  ${e.from} -> ${e.to}: lwp ${e.lwp} took ${e.from} in ${e.heldAt}, then ${e.to} in ${e.takenAt}`);
  return lines.join('\n');
}
