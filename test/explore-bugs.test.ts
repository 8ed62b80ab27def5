/* The planted bugs (bugs/planted.ts) still apply: every find string occurs exactly once in the tree. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BUGS } from '../bugs/planted.ts';

const ROOT = resolve(import.meta.dirname, '..');

test('at least ten planted bugs, each a patch to src/kern whose find string occurs exactly once', () => {
  assert.ok(BUGS.length >= 10);
  assert.equal(new Set(BUGS.map((b) => b.id)).size, BUGS.length, 'ids are unique');
  for (const b of BUGS) {
    assert.match(b.file, /^src\/kern\//, b.id);
    assert.doesNotMatch(b.file, /kernel\.ts$/, `${b.id}: src/kern/kernel.ts is being restructured`);
    const text = readFileSync(join(ROOT, b.file), 'utf8');
    const n = text.split(b.find).length - 1;
    assert.equal(n, 1, `${b.id}: its find string occurs ${n} times in ${b.file}`);
    assert.notEqual(b.replace, b.find, b.id);
  }
});
