/* Development probe: tsx bugs/probe.ts <bug-id> [runs]: every strategy once on the (already patched) tree. */
import { BUGS } from './planted.ts';
import { explore, STRATEGIES } from '../src/explore/explore.ts';
const bug = BUGS.find((b) => b.id === process.argv[2])!;
for (const strategy of STRATEGIES) {
  const r = explore(bug.scenario, { strategy, runs: Number(process.argv[3] ?? 2000), seed: 1, shrink: false });
  console.log(strategy.padEnd(10), String(r.runs).padStart(6), r.found?.message ?? '-');
}
