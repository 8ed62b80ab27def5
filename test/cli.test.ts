/* The lwpkit command line, run as a real subprocess: exit codes, stdout, stderr. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkTrace } from '../src/trace/checkTrace.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'lwpkit');
const tmp = mkdtempSync(join(tmpdir(), 'lwpkit-cli-'));

/** Run bin/lwpkit with node (the shim registers tsx itself), from a scratch directory. */
function lwpkit(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A usage error: exit 64, one line on stderr, nothing that looks like a stack trace. */
function assertUsage(r: ReturnType<typeof lwpkit>, pattern: RegExp) {
  assert.equal(r.code, 64, `stderr: ${r.err}`);
  const lines = r.err.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.err);
  assert.match(lines[0]!, /^lwpkit: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.err, /\n\s+at /);
}

test('--help on every command', () => {
  for (const args of [['--help'], ['run', '--help'], ['run', '-h'], ['examples', '--help'], ['sysctl', '--help']]) {
    const r = lwpkit(...args);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.out, /^usage: lwpkit/);
    assert.equal(r.err, '');
  }
  assert.match(lwpkit('run', '--help').out, /--personality/);
});

test('examples lists the cli-* examples, not the helpers', () => {
  const r = lwpkit('examples');
  assert.equal(r.code, 0);
  const names = r.out.trimEnd().split('\n').map((l) => l.split(/\s+/)[0]);
  for (const n of ['workers', 'deadlock', 'forever', 'exits']) assert.ok(names.includes(n), n);
  assert.ok(!names.includes('demo') && !names.includes('show'));
});

test('run example:workers: idle, exit 0, statuses and switches per CPU', () => {
  const r = lwpkit('run', 'example:workers', '--ncpu', '2', '--seed', '3', '--ps');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^outcome: idle at tick \d+/);
  assert.match(r.out, /process 1 \(workers\): exit status 0/);
  assert.match(r.out, /switches: cpu0 \d+, cpu1 \d+$/m);
  assert.match(r.out, /PID\s+LID\s+NLWP\s+STAT\s+CPU\s+PRI\s+WCHAN\s+LNAME/);
  // Same options, same run.
  assert.equal(lwpkit('run', 'example:workers', '--ncpu', '2', '--seed', '3', '--ps').out, r.out);
});

test('run: deadlock exits 1, limit exits 3, statuses of killed processes', () => {
  const d = lwpkit('run', 'example:deadlock');
  assert.equal(d.code, 1);
  assert.match(d.out, /^outcome: deadlock/);
  assert.match(d.out, /^  1\.1\s+SUSPENDED\s.*_lwp_continue\s+-> nobody/m);
  const l = lwpkit('run', 'example:forever', '--ticks', '3000', '--quiet');
  assert.equal(l.code, 3);
  assert.equal(l.out, 'outcome: limit at tick 3000\n');
  const e = lwpkit('run', 'example:exits', '--personality', 'netbsd-4');
  assert.equal(e.code, 4); // a child threw: idle, but a process faulted
  assert.match(e.out, /exit status 2/);
  assert.match(e.out, /killed by signal 11/);
});

test('run a program file by path: default export or main, .ts or .mjs', () => {
  writeFileSync(join(tmp, 'prog.ts'), 'export default function* (sys: any) { yield* sys.compute(7); yield* sys.exit(5); }\n');
  const r = lwpkit('run', 'prog.ts');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /process 1 \(prog\): exit status 5/);
  writeFileSync(join(tmp, 'prog2.mjs'), 'export function* main(sys) { yield* sys.compute(3); }\n');
  assert.equal(lwpkit('run', 'prog2.mjs').code, 0);
});

test('run writes traces: Chrome JSON that checks, ftrace and kdump text', () => {
  const r = lwpkit('run', 'example:workers', '--trace', 't.json', '--ftrace', 'f.txt', '--ktrace', 'k.txt', '--quiet');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(checkTrace(JSON.parse(readFileSync(join(tmp, 't.json'), 'utf8'))), []);
  assert.match(readFileSync(join(tmp, 'f.txt'), 'utf8'), /^# tracer: nop\n[\s\S]*sched_switch: prev_comm=/);
  assert.match(readFileSync(join(tmp, 'k.txt'), 'utf8'), / CALL  _lwp_create\(/);
});

test('usage errors: one clear line on stderr, exit 64', () => {
  assertUsage(lwpkit(), /./);
  assertUsage(lwpkit('frob'), /unknown command 'frob'/);
  assertUsage(lwpkit('run'), /missing the program/);
  assertUsage(lwpkit('run', 'nope.ts'), /nope\.ts: no such file/);
  assertUsage(lwpkit('run', 'example:nope'), /no example 'nope'/);
  assertUsage(lwpkit('run', 'example:workers', '--bogus'), /Unknown option '--bogus'/);
  assertUsage(lwpkit('run', 'example:workers', '--ncpu', '0'), /--ncpu: 0 is out of range \(1\.\.256\)/);
  assertUsage(lwpkit('run', 'example:workers', '--ncpu', '300'), /--ncpu: 300 is out of range/);
  assertUsage(lwpkit('run', 'example:workers', '--ncpu', 'two'), /--ncpu: expected an integer, got 'two'/);
  assertUsage(lwpkit('run', 'example:workers', '--seed', '1.5'), /--seed: expected an integer/);
  assertUsage(lwpkit('run', 'example:workers', '--ticks', '0'), /--ticks: 0 is out of range/);
  assertUsage(lwpkit('run', 'example:workers', '--ncpu'), /--ncpu/);
  assertUsage(lwpkit('run', 'example:workers', '--personality', 'linux'), /unknown personality 'linux'/);
  assertUsage(lwpkit('run', 'example:workers', '--trace', '/no/such/dir/t.json'), /--trace: cannot write/);
  assertUsage(lwpkit('examples', 'extra'), /no arguments/);
  writeFileSync(join(tmp, 'nomain.ts'), 'export const x = 1;\n');
  assertUsage(lwpkit('run', 'nomain.ts'), /nomain\.ts: exports neither a default nor a 'main' function/);
  writeFileSync(join(tmp, 'notgen.ts'), 'export function main() { return 1; }\n');
  assertUsage(lwpkit('run', 'notgen.ts'), /not a generator function/);
  writeFileSync(join(tmp, 'broken.ts'), 'export function* main( {\n');
  assertUsage(lwpkit('run', 'broken.ts'), /broken\.ts: cannot load: line 2:0: /); // says where
  writeFileSync(join(tmp, 'throws.ts'), "throw new Error('boom at load');\n");
  assertUsage(lwpkit('run', 'throws.ts'), /throws\.ts: cannot load: boom at load/);
  writeFileSync(join(tmp, 'data.txt'), 'hello\n');
  assertUsage(lwpkit('run', 'data.txt'), /expected a \.ts or \.js module/);
});
