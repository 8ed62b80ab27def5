/*
 * lwpkit behaving like a Unix tool, run as the real binary (bin/lwpkit):
 * a closed pipe, --version, help for a command, the number convention, the
 * exit status of a faulting program and where it faulted, output paths
 * checked before the run, example descriptions, `lwpkit check`, and one copy
 * of lwpkit for a program whatever its folder says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'lwpkit');
const tmp = mkdtempSync(join(tmpdir(), 'lwpkit-unix-'));

function lwpkit(args: string[], cwd = tmp) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function assertUsage(r: ReturnType<typeof lwpkit>, pattern: RegExp) {
  assert.equal(r.code, 64, `stdout: ${r.out} stderr: ${r.err}`);
  assert.equal(r.err.trimEnd().split('\n').length, 1, r.err);
  assert.match(r.err, /^lwpkit: /);
  assert.match(r.err, pattern);
}

/** Run with stdout a pipe whose reader has gone: every write is EPIPE. */
function closedPipe(args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((res) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout.destroy();
    let err = '';
    c.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
    c.on('close', (code) => res({ code, err }));
  });
}

test('a closed stdout is a quiet exit with the command\'s own status', async () => {
  for (const [args, code] of [[['sysctl'], 0], [['run', 'example:workers', '--ps'], 0], [['run', 'example:deadlock', '--ps'], 1], [['examples'], 0]] as const) {
    const r = await closedPipe([...args]);
    assert.equal(r.err, '', `${args.join(' ')}: ${r.err}`);
    assert.equal(r.code, code, args.join(' '));
  }
  // And through a real shell pipe into head.
  const sh = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" run example:workers --ps | head -3; "${process.execPath}" "${BIN}" sysctl | head -1`], { cwd: tmp, encoding: 'utf8' });
  assert.equal(sh.stderr, '');
  assert.equal(sh.stdout.split('\n').length, 5, sh.stdout);
});

test('--version and -V print the package version', () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = lwpkit([flag]);
    assert.equal(r.code, 0);
    assert.equal(r.out, `lwpkit ${version}\n`);
  }
});

test('lwpkit help CMD is CMD --help; the main help lists every command', () => {
  for (const cmd of ['run', 'sysctl', 'examples', 'check']) {
    const h = lwpkit(['help', cmd]);
    assert.equal(h.code, 0, h.err);
    assert.equal(h.out, lwpkit([cmd, '--help']).out);
    assert.match(h.out, new RegExp(`^usage: lwpkit ${cmd}`));
  }
  const main = lwpkit(['help']).out;
  for (const cmd of ['run', 'sysctl', 'check', 'examples', 'help']) assert.match(main, new RegExp(`^  ${cmd}\\b`, 'm'));
  assert.equal(lwpkit(['--help']).out, main);
  assertUsage(lwpkit(['help', 'frob']), /help: unknown command 'frob'/);
});

test('numbers: negatives parse, exponents and _ are accepted, out of range has its own message', () => {
  const neg = lwpkit(['run', 'example:workers', '--seed', '-1', '--quiet']);
  assert.equal(neg.code, 0, neg.err);
  assert.equal(lwpkit(['run', 'example:workers', '--seed=-1', '--quiet']).out, neg.out);
  assertUsage(lwpkit(['run', 'example:workers', '--ticks', '-5']), /--ticks: -5 is out of range \(1\.\.1e12\)/);
  assertUsage(lwpkit(['run', 'example:workers', '--ncpu', '-2']), /--ncpu: -2 is out of range \(1\.\.256\)/);
  assertUsage(lwpkit(['run', 'example:workers', '--ticks', '1e13']), /--ticks: 1e13 is out of range \(1\.\.1e12\)/);
  assertUsage(lwpkit(['run', 'example:workers', '--ticks', '1.5']), /--ticks: expected an integer, got '1\.5'/);
  assertUsage(lwpkit(['run', 'example:workers', '--seed', '1e400']), /--seed: expected an integer/);
  const big = lwpkit(['run', 'example:workers', '--ticks', '1e12', '--quiet']);
  assert.equal(big.code, 0, big.err);
  const lim = lwpkit(['run', 'example:forever', '--ticks', '2_500', '--quiet']);
  assert.equal(lim.out, 'outcome: limit at tick 2500\n');
  assert.equal(lwpkit(['run', 'example:forever', '--ticks', '2.5e3', '--quiet']).out, lim.out);
  const s = lwpkit(['sysctl', 'kern.maxlwp=1e3']);
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /^kern\.maxlwp: 2048 -> 1000$/m);
});

test('a program that faults exits 4, and the fault line names the file and line of the throw', () => {
  writeFileSync(join(tmp, 'crash.ts'), [
    "import type { Sys } from 'lwpkit';",
    'function* worker(sys: Sys) {',
    '  yield* sys.compute(5);',
    "  throw new RangeError('index out of range');",
    '}',
    'export function* main(sys: Sys) {',
    '  yield* sys.lwpCreate(worker);',
    '  yield* sys.lwpWait(0);',
    '}',
  ].join('\n') + '\n');
  const r = lwpkit(['run', 'crash.ts']);
  assert.equal(r.code, 4, r.out + r.err);
  assert.match(r.out, /^outcome: idle/);
  assert.match(r.out, /^process 1 \(crash\): killed by signal 11 \(core dumped\) \(lwp 2 threw RangeError: index out of range at crash\.ts:4:9\)$/m);
  assert.match(lwpkit(['run', '--help']).out, /4 idle but a\s+process faulted/);
  // A clean run of the same shape is still 0.
  writeFileSync(join(tmp, 'clean.ts'), 'export function* main(sys: any) { yield* sys.compute(5); }\n');
  assert.equal(lwpkit(['run', 'clean.ts']).code, 0);
});

test('output paths are checked before the run: nothing runs, one line', () => {
  for (const [opt, path] of [['--trace', '/proc/x.json'], ['--ftrace', '/no/such/dir/f.txt'], ['--ktrace', tmp]]) {
    const r = lwpkit(['run', 'example:workers', opt!, path!]);
    assertUsage(r, new RegExp(`${opt}: cannot write`));
    assert.equal(r.out, '', 'the run did not happen');
  }
  // A good path gets the file, and the outcome is printed.
  const ok = lwpkit(['run', 'example:workers', '--ktrace', 'k.txt', '--quiet']);
  assert.equal(ok.out, 'outcome: idle at tick 339\n');
  assert.ok(existsSync(join(tmp, 'k.txt')));
});

test('lwpkit examples: each description is one complete sentence', () => {
  const r = lwpkit(['examples']);
  assert.equal(r.code, 0);
  const lines = r.out.trimEnd().split('\n');
  assert.ok(lines.length >= 12);
  for (const l of lines) assert.match(l, /^\S+ +\S.*\.$/, l);
  assert.match(r.out, /^exits\s+Exits: .*, and one that throws \(killed with SIGSEGV\), and reaps them\.$/m);
});

test('lwpkit check type-checks a program against lwpkit\'s types', () => {
  writeFileSync(join(tmp, 'typed.ts'), "import { SyscallError, type Sys } from 'lwpkit';\nexport function* main(sys: Sys) {\n  const lid: number = yield* sys.lwpSelf();\n  void lid; void SyscallError;\n}\n");
  const good = lwpkit(['check', 'typed.ts']);
  assert.equal(good.code, 0, good.out + good.err);
  assert.equal(good.out, 'typed.ts: no type errors\n');
  writeFileSync(join(tmp, 'mistyped.ts'), "import type { Sys } from 'lwpkit';\nexport function* main(sys: Sys) {\n  const lid: string = yield* sys.lwpSelf();\n  yield* sys.lwpWiat(lid);\n}\n");
  const bad = lwpkit(['check', 'mistyped.ts']);
  assert.equal(bad.code, 1);
  assert.match(bad.out, /mistyped\.ts\(3,9\): error TS2322/);
  assert.match(bad.out, /mistyped\.ts\(4,14\): error TS2551: Property 'lwpWiat' does not exist/);
  // ... and `run` does not see the types at all.
  assert.notEqual(lwpkit(['run', 'mistyped.ts']).code, 64);
  assertUsage(lwpkit(['check']), /check: missing the program/);
  assertUsage(lwpkit(['check', 'nope.ts']), /check: nope\.ts: no such file/);
});

test('one copy of lwpkit: instanceof SyscallError holds with no package.json, in a CommonJS folder, beside another lwpkit', () => {
  const prog = [
    "import { SyscallError, type Sys } from 'lwpkit';",
    "import { psTable } from 'lwpkit/report';",
    'export function* main(sys: Sys) {',
    '  try { yield* sys.lwpWait(42); } catch (e) { yield* sys.exit(e instanceof SyscallError && e.code === \'ESRCH\' ? 7 : 1); }',
    '}',
    'void psTable;',
  ].join('\n') + '\n';
  const bare = mkdtempSync(join(tmpdir(), 'lwpkit-nopkg-'));
  writeFileSync(join(bare, 'prog.ts'), prog);
  const cjs = join(tmp, 'cjs');
  mkdirSync(cjs);
  writeFileSync(join(cjs, 'package.json'), JSON.stringify({ name: 'cjs-folder', type: 'commonjs' }));
  writeFileSync(join(cjs, 'prog.ts'), prog);
  // A folder with its own, different "lwpkit" in node_modules: the program still gets the CLI's.
  const other = join(tmp, 'other');
  mkdirSync(join(other, 'node_modules', 'lwpkit'), { recursive: true });
  writeFileSync(join(other, 'node_modules', 'lwpkit', 'package.json'), JSON.stringify({ name: 'lwpkit', type: 'module', exports: { '.': './index.js', './report': './index.js' } }));
  writeFileSync(join(other, 'node_modules', 'lwpkit', 'index.js'), 'export class SyscallError extends Error {}\nexport const psTable = null;\n');
  writeFileSync(join(other, 'prog.ts'), prog);
  for (const dir of [bare, cjs, other]) {
    const r = lwpkit(['run', 'prog.ts'], dir);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /process 1 \(prog\): exit status 7/, dir);
  }
});
