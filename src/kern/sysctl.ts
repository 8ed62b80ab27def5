/*
 * sysctl: the kernel's named tunables and counters (kern_sysctl.c, reduced
 * to a flat table of dotted names).  Each subsystem registers its nodes at
 * boot; reading calls `get`, writing calls `set`, which returns an errno
 * (EINVAL for an out-of-range value, as the seed's sysctl helpers do) or
 * 0.  A node without `set` is read-only (EPERM on write).
 */
import { EINVAL, ENOENT, EPERM } from './errno.ts';

export interface SysctlNode {
  readonly name: string;
  readonly description: string;
  get(): number;
  /** Validate and store; returns an errno, 0 on success.  Absent: read-only. */
  set?(value: number): number;
}

export class SysctlTree {
  private readonly nodes = new Map<string, SysctlNode>();
  /** Registrations put off until the tree is first used (defer). */
  private pending: { fn: (arg: never) => void; arg: unknown }[] | null = null;

  /**
   * Register nodes at the tree's first use (add, read, write, list) instead
   * of now: fn(arg) then runs once, before anything else touches the tree,
   * in the order deferred.  Boot defers its nodes: most machines never read one.
   */
  defer<T>(fn: (arg: T) => void, arg: T): void {
    (this.pending ??= []).push({ fn: fn as (arg: never) => void, arg });
  }

  /** Nodes registered so far (deferred registrations not yet run are not counted). */
  get size(): number {
    return this.nodes.size;
  }

  private flush(): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    for (const { fn, arg } of p) (fn as (arg: unknown) => void)(arg);
  }

  add(node: SysctlNode): void {
    this.flush();
    if (this.nodes.has(node.name)) throw new Error(`sysctl: ${node.name} registered twice`);
    this.nodes.set(node.name, node);
  }

  /** Read a node: [errno, value]. */
  read(name: string): [number, number] {
    this.flush();
    const n = this.nodes.get(name);
    return n === undefined ? [ENOENT, 0] : [0, n.get()];
  }

  /** Write a node: errno. */
  write(name: string, value: number): number {
    this.flush();
    const n = this.nodes.get(name);
    if (n === undefined) return ENOENT;
    if (n.set === undefined) return EPERM;
    if (!Number.isInteger(value)) return EINVAL;
    return n.set(value);
  }

  /** Every node, sorted by name. */
  list(): SysctlNode[] {
    this.flush();
    return [...this.nodes.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
