/* lwpkit explore and lwpkit replay, run as the real binary: output, files, exit codes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseSchedule } from '../src/explore/schedule.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'lwpkit');
const RACY = join(ROOT, 'test/fixtures/explore-racy.ts');
const CLEAN = join(ROOT, 'test/fixtures/explore-clean.ts');
const tmp = mkdtempSync(join(tmpdir(), 'lwpkit-explore-cli-'));

function lwpkit(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('explore finds the lost update: message, interleaving table, file; exit 1; replay reproduces it with traces', () => {
  const out = join(tmp, 'fail.json');
  const r = lwpkit('explore', RACY, '--runs', '3000', '--out', out);
  assert.equal(r.code, 1, r.err);
  assert.match(r.out, /^failure in run \d+ \(.+\): lost update: n = 1$/m);
  assert.match(r.out, /^shrunk: \d+ non-default decisions .* -> \d+ /m);
  assert.match(r.out, /^#\s+\| t\s+\| cpu0\s+\| cpu1/m, 'one column per CPU');
  assert.match(r.out, /^=> lost update: n = 1$/m);
  assert.match(r.out, /\b1\.\d /, 'rows name LWPs');
  assert.match(r.out, new RegExp(`^wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
  const s = parseSchedule(JSON.parse(readFileSync(out, 'utf8')));
  assert.equal(s.ncpu, 2);

  const k = join(tmp, 'k.txt'), t = join(tmp, 't.json'), f = join(tmp, 'f.txt');
  const p = lwpkit('replay', RACY, out, '--ktrace', k, '--trace', t, '--ftrace', f, '--ps');
  assert.equal(p.code, 1, p.err);
  assert.match(p.out, /^outcome: idle at tick \d+: lost update: n = 1$/m);
  assert.match(p.out, /PID\s+LID/);
  for (const file of [k, t, f]) assert.ok(existsSync(file) && readFileSync(file, 'utf8').length > 100, file);
  assert.match(readFileSync(k, 'utf8'), /_lwp_create/);
});

test('explore of a correct program: "N runs, no failure", exit 0; dfs says when it was exhaustive', () => {
  const r = lwpkit('explore', CLEAN, '--runs', '200', '--strategy', 'random');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^200 runs, no failure$/m);
  const d = lwpkit('explore', CLEAN, '--strategy', 'dfs', '--bound', '1', '--runs', '100000');
  assert.equal(d.code, 0, d.err);
  assert.match(d.out, /^\d+ runs, no failure \(exhaustive: every schedule within bound 1 explored, \d+ schedules\)$/m);
});

test('explore and replay: bad input is one line, exit 64; a diverging replay says where, exit 2', () => {
  for (const [args, pat] of [
    [['explore'], /expected one program/],
    [['explore', CLEAN, '--strategy', 'nope'], /unknown strategy 'nope'/],
    [['explore', CLEAN, '--runs', 'x'], /--runs: expected an integer/],
    [['explore', CLEAN, '--time', 'soon'], /--time: expected a duration/],
    [['explore', join(tmp, 'missing.ts')], /no such file/],
    [['replay', CLEAN], /expected a program and a schedule file/],
  ] as const) {
    const r = lwpkit(...args);
    assert.equal(r.code, 64, `${args.join(' ')}: ${r.err}`);
    const lines = r.err.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0]!, pat);
  }
  const junk = join(tmp, 'junk.json');
  writeFileSync(junk, '{"lwpkit":"0.1.0"}');
  const j = lwpkit('replay', CLEAN, junk);
  assert.equal(j.code, 64);
  assert.match(j.err, /not an lwpkit schedule/);
  // A schedule of another program diverges.
  const out = join(tmp, 'racy.json');
  assert.equal(lwpkit('explore', RACY, '--runs', '3000', '--out', out).code, 1);
  const s = JSON.parse(readFileSync(out, 'utf8'));
  s.kinds = s.kinds.slice(0, 3); s.options = s.options.slice(0, 3); s.answers = s.answers.slice(0, 3);
  writeFileSync(out, JSON.stringify(s));
  const dv = lwpkit('replay', RACY, out);
  assert.equal(dv.code, 2, dv.err);
  assert.match(dv.out, /replay diverged at decision 3/);
});

test('explore --workers 2 reports what --workers 1 does', () => {
  const a = lwpkit('explore', RACY, '--runs', '3000', '--seed', '3', '--out', join(tmp, 'a.json'));
  const b = lwpkit('explore', RACY, '--runs', '3000', '--seed', '3', '--workers', '2', '--out', join(tmp, 'b.json'));
  assert.equal(a.code, 1);
  assert.equal(b.code, 1, b.err);
  const strip = (s: string) => s.replace(/^wrote .*$/m, '');
  assert.equal(strip(b.out), strip(a.out));
});
