/*
 * npm run bugs [-- --cap N] [--portfolio-cap N] [--seeds N] [--only id] [--clean-runs N]
 *
 * For each planted bug (bugs/planted.ts): copy the repository's sources to
 * a temporary directory, apply the patch there (never to the tree), and
 * run every strategy on the bug's scenario with seeds 1..N (default 5),
 * counting runs to the first failure; print the median per strategy
 * (">cap" when a strategy missed it in most seeds).  Then run every
 * scenario on the clean kernel with every strategy and require zero
 * failures.  Exit 1 if the clean kernel failed, a patch no longer applies,
 * or the portfolio missed a bug.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BUGS } from './planted.ts';
import { STRATEGIES } from '../src/explore/explore.ts';

const ROOT = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? dflt : Number(args[i + 1]);
};
const cap = opt('cap', 2000);
const pcap = opt('portfolio-cap', 20000);
const seeds = opt('seeds', 5);
const cleanRuns = opt('clean-runs', 500);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;

/** Apply a bug's patch in `dir`; throws unless `find` occurs exactly once. */
export function applyPatch(dir: string, b: { file: string; find: string; replace: string; id: string }): void {
  const path = join(dir, b.file);
  const s = readFileSync(path, 'utf8');
  const n = s.split(b.find).length - 1;
  if (n !== 1) throw new Error(`planted bug ${b.id}: its find string occurs ${n} times in ${b.file}`);
  writeFileSync(path, s.replace(b.find, () => b.replace));
}

function tsx(dir: string, argv: string[]): string {
  return execFileSync(process.execPath, ['--import', 'tsx', ...argv], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 24 });
}

function median(xs: (number | null)[], limit: number): string {
  const v = xs.map((x) => (x === null ? Infinity : x)).sort((a, b) => a - b);
  const m = v[(v.length - 1) >> 1]!;
  return m === Infinity ? `>${limit}` : String(m);
}

let bad = false;
const rows: string[][] = [];
const json: Record<string, unknown>[] = [];
for (const b of BUGS) {
  if (only !== null && b.id !== only) continue;
  const dir = mkdtempSync(join(tmpdir(), 'lwpkit-bug-'));
  try {
    for (const f of ['src', 'bugs', 'package.json', 'tsconfig.json']) cpSync(join(ROOT, f), join(dir, f), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    applyPatch(dir, b);
    const line = tsx(dir, ['bugs/cell.ts', b.id, String(cap), String(seeds), String(pcap)]).trim().split('\n').pop()!;
    const r = JSON.parse(line) as { cells: Record<string, { runs: (number | null)[]; message: string | null }>; shrunk: { before: { nondefault: number; decisions: number }; after: { nondefault: number; decisions: number } } | null };
    const row = [b.id];
    for (const s of STRATEGIES) row.push(median(r.cells[s]!.runs, s === 'portfolio' ? pcap : cap));
    const sh = r.shrunk;
    row.push(sh === null ? '-' : `${sh.before.nondefault}->${sh.after.nondefault}`);
    if (r.cells.portfolio!.runs.some((x) => x === null)) bad = true;
    rows.push(row);
    json.push({ id: b.id, ...r });
    console.error(row.join('  '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const head = ['bug', ...STRATEGIES, 'shrunk'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const fmt = (r: string[]): string => '| ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
console.log(`runs to first failure, median of ${seeds} seeds (dfs: one search; seeds: plain seeded runs; cap ${cap}, portfolio cap ${pcap}); shrunk: non-default decisions before -> after`);
console.log(fmt(head));
console.log('|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
for (const r of rows) console.log(fmt(r));
const seedsMiss = rows.filter((r) => r[STRATEGIES.indexOf('seeds') + 1]!.startsWith('>')).length;
console.log(`plain seeds miss ${seedsMiss} of ${rows.length} bugs in ${cap} runs`);

if (only === null) {
  const clean = JSON.parse(tsx(ROOT, ['bugs/cell.ts', 'clean', String(cleanRuns), '1']).trim().split('\n').pop()!) as { runs: number; failures: string[] };
  console.log(`clean kernel: ${clean.runs} runs of the ${BUGS.length} scenarios under ${STRATEGIES.length} strategies, ${clean.failures.length} failures`);
  for (const f of clean.failures) console.log(`  ${f}`);
  if (clean.failures.length !== 0) bad = true;
}
console.log(JSON.stringify({ cap, pcap, seeds, bugs: json.map((j) => ({ id: j.id, cells: j.cells, shrunk: j.shrunk })) }));
process.exitCode = bad ? 1 : 0;
