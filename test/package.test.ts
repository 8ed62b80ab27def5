/*
 * The packed tarball, as a user gets it: `npm pack` (which builds dist/ in
 * prepack), installed into a scratch consumer project in a temporary folder.
 * Checks what is shipped, that plain node imports it, that a strict NodeNext
 * tsc build of a consumer using Machine, SyscallError and a report type-checks
 * and emits, that `npx lwpkit` runs, and that a program outside any package
 * (no package.json) gets the CLI's own copy of lwpkit.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'lwpkit-pack-'));
const consumer = join(tmp, 'consumer');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let tarball = '';
let files: string[] = [];

function sh(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

before(() => {
  // --pack-destination keeps the tarball out of the checkout; prepack builds dist/.
  const p = sh(NPM, ['pack', '--pack-destination', tmp, '--json'], ROOT);
  assert.equal(p.code, 0, p.err);
  const info = JSON.parse(p.out) as { filename: string; files: { path: string }[] }[];
  tarball = join(tmp, info[0]!.filename);
  files = info[0]!.files.map((f) => f.path);
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // Offline when the npm cache has tsx (it does after the repo's own npm ci).
  const i = sh(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], consumer);
  assert.equal(i.code, 0, i.err);
});

test('the tarball holds dist JS, .d.ts and declaration maps, LICENSE, sources and examples, nothing else', () => {
  for (const f of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/index.d.ts.map',
    'dist/report/index.js', 'dist/report/index.d.ts', 'dist/trace/index.js', 'dist/cli/bin.js', 'dist/cli/hooks.js',
    'src/index.ts', 'examples/cli-workers.ts', 'docs/walkthrough.md']) {
    assert.ok(files.includes(f), `${f} is shipped`);
  }
  const top = new Set(files.map((f) => f.split('/')[0]));
  assert.deepEqual([...top].sort(), ['LICENSE', 'README.md', 'dist', 'docs', 'examples', 'package.json', 'src']);
  assert.ok(!files.some((f) => f.startsWith('src/') && f.endsWith('.js')), 'no stray JS in src/');
});

test('plain node imports the package and its subpaths', () => {
  const r = sh(process.execPath, ['--input-type=module', '-e', `
    import { Machine, SyscallError } from 'lwpkit';
    import { psTable, waitForGraph, topReport, panicReport } from 'lwpkit/report';
    import { toChromeTrace, checkTrace } from 'lwpkit/trace';
    const m = new Machine({ ncpu: 2, seed: 1 });
    m.spawn(function* (sys) { yield* sys.compute(3); }, { name: 'p' });
    console.log(m.run().outcome, typeof SyscallError, [psTable, waitForGraph, topReport, panicReport, toChromeTrace, checkTrace].map((f) => typeof f).join());
  `], consumer);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.trim(), 'idle function ' + Array(6).fill('function').join());
});

test('a strict NodeNext consumer type-checks and builds with tsc, and its output runs', () => {
  mkdirSync(join(consumer, 'src'), { recursive: true });
  writeFileSync(join(consumer, 'src', 'main.ts'), `
import { Machine, SyscallError, type Sys } from 'lwpkit';
import { psTable } from 'lwpkit/report';

function* prog(sys: Sys) {
  try {
    yield* sys.lwpWait(99);
  } catch (e) {
    if (e instanceof SyscallError && e.code === 'ESRCH') yield* sys.exit(7);
  }
}
const m = new Machine({ ncpu: 2, seed: 1 });
const pid: number = m.spawn(prog, { name: 'consumer' });
const r = m.run({ maxTicks: 1000 });
console.log(r.outcome, m.proc(pid)?.exitStatus, psTable(m).split('\\n')[0]!.trim().split(/\\s+/)[0]);
`);
  writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', rootDir: 'src',
      declaration: true, skipLibCheck: false, typeRoots: [join(ROOT, 'node_modules', '@types')], types: ['node'],
    },
    include: ['src'],
  }));
  const tsc = sh(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], consumer);
  assert.equal(tsc.code, 0, tsc.out + tsc.err);
  const run = sh(process.execPath, ['out/main.js'], consumer);
  assert.equal(run.code, 0, run.err);
  assert.equal(run.out.trim(), 'idle 7 PID');
});

test('npx lwpkit: --version, and the bundled examples run from the package', () => {
  const v = sh('npx', ['--no-install', 'lwpkit', '--version'], consumer);
  assert.equal(v.code, 0, v.err);
  assert.match(v.out, /^lwpkit \d+\.\d+\.\d+\n$/);
  const e = sh('npx', ['--no-install', 'lwpkit', 'run', 'example:exits'], consumer);
  assert.equal(e.code, 4, e.err);   // one child throws: a fault, located in the example's file
  assert.match(e.out, /threw Error: oops at node_modules\/lwpkit\/examples\/cli-exits\.ts:\d+:\d+\)/);
});

test('npx lwpkit check without a TypeScript compiler in reach says so: exit 69, one line', () => {
  writeFileSync(join(consumer, 'prog.ts'), "import type { Sys } from 'lwpkit';\nexport function* main(sys: Sys) { yield* sys.compute(1); }\n");
  const r = sh('npx', ['--no-install', 'lwpkit', 'check', 'prog.ts'], consumer);
  assert.equal(r.code, 69, r.out + r.err);
  assert.equal(r.err, 'lwpkit: check: no TypeScript compiler found; install one: npm install -D typescript\n');
});

test('a program in a folder without package.json gets the CLI\'s own lwpkit: instanceof SyscallError holds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lwpkit-nopkg-'));
  assert.deepEqual(readdirSync(dir), []);
  writeFileSync(join(dir, 'prog.ts'), `
import { SyscallError, type Sys } from 'lwpkit';
import { psTable } from 'lwpkit/report';
export function* main(sys: Sys) {
  try { yield* sys.lwpWait(42); } catch (e) { yield* sys.exit(e instanceof SyscallError && e.code === 'ESRCH' ? 7 : 1); }
}
void psTable;
`);
  const r = sh(process.execPath, [join(consumer, 'node_modules', 'lwpkit', 'dist', 'cli', 'bin.js'), 'run', 'prog.ts'], dir);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /process 1 \(prog\): exit status 7/);
});
