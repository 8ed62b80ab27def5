/*
 * Documentation that stays true: every command output shown in README.md and
 * docs/*.md (a fenced block after an `<!-- output: lwpkit ... -->` marker) is
 * what the command prints now.  `npm run docs` regenerates them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docFiles, findBlocks, firstDifference, regenerate } from '../scripts/docs.ts';

test('every generated block in README.md and docs/*.md matches its command\'s real output', () => {
  let blocks = 0;
  for (const file of docFiles()) {
    blocks += findBlocks(readFileSync(file, 'utf8').split('\n')).length;
    const { mismatches } = regenerate(file);
    assert.deepEqual(mismatches.map((m) => `${m.file}:${m.line}: ${m.commands.join(' && ')}: ${firstDifference(m.shown, m.real)}`), [],
      'run npm run docs to regenerate');
  }
  assert.ok(blocks >= 10, `only ${blocks} generated blocks`);
});

test('a stale block is caught and regenerated; a marker without a block is an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lwpkit-docs-'));
  const file = join(dir, 'doc.md');
  writeFileSync(file, 'text\n\n<!-- output: lwpkit run example:forever --ticks 500 --quiet -->\n```console\n$ lwpkit run example:forever --ticks 500 --quiet\noutcome: limit at tick 499\n```\nmore\n');
  const { text, mismatches } = regenerate(file);
  assert.equal(mismatches.length, 1);
  assert.match(firstDifference(mismatches[0]!.shown, mismatches[0]!.real), /line 2 of the block: shown "outcome: limit at tick 499", real "outcome: limit at tick 500"/);
  assert.match(text, /```console\n\$ lwpkit run example:forever --ticks 500 --quiet\noutcome: limit at tick 500\n```\nmore\n$/);
  assert.throws(() => findBlocks(['<!-- output: lwpkit examples -->', 'no fence']), /must come right before a fenced block/);
});
