/*
 * The reporter `npm test` uses (scripts/test-reporter.mjs), on a small test
 * file with a pass, a failure and a nested failure, run by node --test with
 * stdout a pipe (not a TTY): one line per file, the failures in full, and the
 * closing `# pass N` / `# fail N` lines CI reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The environment without NODE_TEST_CONTEXT, which would make the inner node --test report to us. */
function withoutTestContext(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

test('npm test\'s reporter: a line per file, failures in full, TAP closing lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lwpkit-reporter-'));
  writeFileSync(join(dir, 'fixture.test.mjs'), [
    "import { test } from 'node:test';",
    "import assert from 'node:assert/strict';",
    "test('adds', () => { assert.equal(1 + 1, 2); });",
    "test('compares', () => { assert.equal(1 + 1, 3); });",
    "test('outer', async (t) => { await t.test('inner', () => { throw new Error('inner broke'); }); });",
  ].join('\n') + '\n');
  const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { test: string } }).scripts.test;
  const reporter = /--test-reporter=(\S+)/.exec(script)?.[1];
  assert.equal(reporter, './scripts/test-reporter.mjs', 'npm test sets this reporter');
  const r = spawnSync(process.execPath, ['--test', `--test-reporter=${join(ROOT, reporter!)}`, '--test-reporter-destination=stdout', 'fixture.test.mjs'],
    { cwd: dir, encoding: 'utf8', timeout: 60_000, env: withoutTestContext() });
  assert.equal(r.status, 1);
  const lines = r.stdout.split('\n');
  assert.match(lines[0]!, /^FAIL fixture\.test\.mjs {2}4 tests, 3 failed, \d+\.\ds$/);
  assert.match(r.stdout, /\n {2}fixture\.test\.mjs: compares\n {4}Expected values to be strictly equal:/);
  assert.match(r.stdout, /\n {2}fixture\.test\.mjs: outer > inner\n {4}inner broke\n/);
  // node counts 'outer' as failed too (its subtest failed): 1 pass, 3 fail of 4.
  assert.ok(lines.includes('# tests 4') && lines.includes('# pass 1') && lines.includes('# fail 3'), r.stdout);
  assert.match(r.stdout, /# pass 1\n# fail 3\n[\s\S]*# duration_ms [\d.]+\n$/);
  assert.doesNotMatch(r.stdout, /\x1b\[/, 'no colour codes');
});
