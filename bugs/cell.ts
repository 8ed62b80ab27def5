/*
 * One planted bug (or the clean kernel) in this tree: every strategy,
 * runs to first failure for each of the seeds.  Run by bugs/run.ts in a
 * patched temporary copy; prints one JSON line.
 *   tsx bugs/cell.ts <bug-id|clean> <cap> <seeds> [portfolioCap]
 */
import { BUGS } from './planted.ts';
import { explore, STRATEGIES } from '../src/explore/explore.ts';

const [id, capArg, seedsArg, pcapArg] = process.argv.slice(2);
const cap = Number(capArg ?? 2000);
const pcap = Number(pcapArg ?? 20000);
const seeds = Number(seedsArg ?? 5);
const bugs = id === 'clean' ? BUGS : BUGS.filter((b) => b.id === id);
if (bugs.length === 0) throw new Error(`no planted bug '${id}'`);

const out: Record<string, unknown> = { id };
if (id === 'clean') {
  // Every scenario on the clean kernel: no strategy may fail any of them.
  const failures: string[] = [];
  let runs = 0;
  for (const b of bugs) {
    for (const strategy of STRATEGIES) {
      const r = explore(b.scenario, { strategy, runs: cap, seed: 1, shrink: false });
      runs += r.runs;
      if (r.found !== null) failures.push(`${b.id} ${strategy} run ${r.found.run}: ${r.found.message}`);
    }
  }
  out.runs = runs;
  out.failures = failures;
} else {
  const b = bugs[0]!;
  const cells: Record<string, { runs: (number | null)[]; message: string | null }> = {};
  let shrunk: unknown = null;
  for (const strategy of STRATEGIES) {
    const runs: (number | null)[] = [];
    let message: string | null = null;
    // dfs is deterministic: one search, whatever the seed.
    const n = strategy === 'dfs' ? 1 : seeds;
    for (let seed = 1; seed <= n; seed++) {
      const limit = strategy === 'portfolio' ? pcap : cap;
      // seeds: disjoint blocks of plain seeds, 1..cap, cap+1..2cap, ...
      const r = explore(b.scenario, { strategy, runs: limit, seed: strategy === 'seeds' ? 1 + (seed - 1) * limit : seed, shrink: strategy === 'portfolio' && seed === 1 });
      runs.push(r.found === null ? null : r.found.run + 1);
      if (r.found !== null) message ??= r.found.message;
      if (strategy === 'portfolio' && seed === 1 && r.found !== null) shrunk = { before: r.found.size, after: r.found.shrunkSize };
    }
    cells[strategy] = { runs, message };
  }
  out.cells = cells;
  out.shrunk = shrunk;
}
console.log(JSON.stringify(out));
