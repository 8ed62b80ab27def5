/*
 * The reporter of `npm test` (node --test --test-reporter=...): one line per
 * test file with its count and time, each failure in full at the end, and
 * the test runner's closing lines as TAP writes them (`# tests N`,
 * `# pass N`, `# fail N`, ...), which CI reads.  The same on a terminal or
 * not, without colours.  Plain JavaScript: node loads reporters before
 * --import tsx takes effect.
 */

/** The assertion error behind node:test's wrapper, as a few indented lines. */
function describe(e) {
  const inner = e?.cause !== undefined && typeof e.cause === 'object' ? e.cause : e;
  if (inner === undefined || inner === null) return '    (no error)';
  const stack = typeof inner.stack === 'string' ? inner.stack.split('\n') : [];
  const frames = stack.filter((l) => /^\s+at /.test(l) && !/node:internal|node:async_hooks|node_modules/.test(l)).slice(0, 3);
  const message = String(inner.message ?? inner).split('\n').slice(0, 20);
  return [...message, ...frames.map((f) => f.trim())].map((l) => `    ${l}`).join('\n');
}

const short = (file) => file.replace(process.cwd() + '/', '');

export default async function* reporter(source) {
  const failures = [];
  const open = [];            // names of the open tests, by nesting
  const closing = [];
  let cur = null;             // { file, tests, failed, ms } of the file being reported
  const output = new Map();   // file -> its tests' stdout and stderr lines, shown under its line
  const fileDone = (c) => fileLine(c) + (output.get(c.file) ?? []).map((l) => `     | ${l}\n`).join('');
  const fileLine = (c) => `${c.failed === 0 ? 'ok  ' : 'FAIL'} ${short(c.file)}  ${c.tests} tests${c.failed ? `, ${c.failed} failed` : ''}, ${(c.ms / 1000).toFixed(1)}s\n`;
  for await (const { type, data: d } of source) {
    if (type === 'test:start') {
      open[d.nesting] = d.name;
      open.length = d.nesting + 1;
    } else if (type === 'test:pass' || type === 'test:fail') {
      const file = d.file ?? '(no file)';
      if (cur !== null && cur.file !== file && d.nesting === 0) { yield fileDone(cur); cur = null; }
      cur ??= { file, tests: 0, failed: 0, ms: 0 };
      if (d.nesting === 0) cur.ms += d.details?.duration_ms ?? 0;
      cur.tests++;
      if (type === 'test:fail') cur.failed++;   // counted as node counts them
      // A test that failed only through its subtests has nothing of its own to show.
      if (type === 'test:fail' && d.details?.error?.failureType !== 'subtestsFailed') {
        failures.push({ file, path: [...open.slice(0, d.nesting), d.name].join(' > '), error: d.details?.error });
      }
    } else if (type === 'test:diagnostic') {
      // A test's own diagnostics go under its file; the run's totals close the report.
      if (d.file !== undefined) {
        if (!output.has(d.file)) output.set(d.file, []);
        output.get(d.file).push(`# ${d.message}`);
      } else if (d.nesting === 0) closing.push(`# ${d.message}\n`);
    } else if (type === 'test:stdout' || type === 'test:stderr') {
      if (typeof d.message !== 'string' || d.message.trim() === '') continue;
      const file = d.file ?? '(no file)';
      if (!output.has(file)) output.set(file, []);
      output.get(file).push(...d.message.trimEnd().split('\n'));
    }
  }
  if (cur !== null) yield fileDone(cur);
  if (failures.length > 0) {
    yield `\nfailures (${failures.length}):\n`;
    for (const f of failures) yield `\n  ${short(f.file)}: ${f.path}\n${describe(f.error)}\n`;
    yield '\n';
  }
  yield* closing;
}
