/*
 * Checkpoints: an exploration's progress in a JSON file, so that a second
 * call with the same file resumes after the last run saved (loom's
 * checkpoint file).  Only for strategies whose runs are independent.
 */
import { nodeModule } from './node.ts';
import type { RunRecord, StrategyStats } from './explore.ts';
import type { OrderEdge } from './lockorder.ts';

export interface Checkpoint {
  strategy: string;
  seed: number;
  runs: number;
  decisions: number;
  perStrategy: Record<string, StrategyStats>;
  found: RunRecord | null;
  /** The lock-order graph so far. */
  edges: OrderEdge[];
}

/** The saved progress, or null for a new file.  A file of another exploration is an error. */
export function loadCheckpoint(file: string, strategy: string, seed: number): Checkpoint | null {
  const { existsSync, readFileSync } = nodeModule('node:fs');
  if (!existsSync(file)) return null;
  const c = JSON.parse(readFileSync(file, 'utf8')) as Checkpoint;
  if (c.strategy !== strategy || c.seed !== seed) {
    throw new Error(`checkpoint ${file} belongs to ${c.strategy} seed ${c.seed}, not ${strategy} seed ${seed}`);
  }
  return c;
}

export function saveCheckpoint(file: string, c: Checkpoint): void {
  const { writeFileSync, renameSync } = nodeModule('node:fs');
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(c) + '\n');
  renameSync(tmp, file);
}
