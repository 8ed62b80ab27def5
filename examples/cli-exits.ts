/*
 * Exits: a parent spawns children that exit with statuses 0..2, and one
 * that throws (killed with SIGSEGV), and reaps them.
 */
import type { Sys } from '../src/index.ts';

export function* main(sys: Sys) {
  const kids: number[] = [];
  for (let i = 0; i < 3; i++) kids.push(yield* sys.spawn(function* (s: Sys, n: number) { yield* s.compute(10 * (n + 1)); yield* s.exit(n); }, i));
  kids.push(yield* sys.spawn(function* (s: Sys) { yield* s.compute(5); throw new Error('oops'); }));
  for (const pid of kids) yield* sys.waitpid(pid);
}
