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

  add(node: SysctlNode): void {
    if (this.nodes.has(node.name)) throw new Error(`sysctl: ${node.name} registered twice`);
    this.nodes.set(node.name, node);
  }

  /** Read a node: [errno, value]. */
  read(name: string): [number, number] {
    const n = this.nodes.get(name);
    return n === undefined ? [ENOENT, 0] : [0, n.get()];
  }

  /** Write a node: errno. */
  write(name: string, value: number): number {
    const n = this.nodes.get(name);
    if (n === undefined) return ENOENT;
    if (n.set === undefined) return EPERM;
    if (!Number.isInteger(value)) return EINVAL;
    return n.set(value);
  }

  /** Every node, sorted by name. */
  list(): SysctlNode[] {
    return [...this.nodes.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
