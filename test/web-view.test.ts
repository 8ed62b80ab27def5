/* lwpkit view without a browser: what it serves, where, and its errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startView } from '../src/cli/view.ts';
import { main } from '../src/cli/main.ts';
import { replay } from '../src/explore/explore.ts';
import type { Schedule } from '../src/explore/schedule.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lwpkit-view-'));

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) } };
}

test('view of a program serves the page, its bundle and the recording on 127.0.0.1', async () => {
  const o = io();
  const page = await startView(['example:cycle', '--ncpu', '2'], o.io);
  assert.ok(typeof page !== 'number', o.err.join('\n'));
  try {
    assert.match(page.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.ok(o.out.some((l) => l.includes(page.url)), 'prints the URL');
    assert.ok(o.out.some((l) => /outcome: deadlock/.test(l)));
    const html = await (await fetch(page.url)).text();
    assert.match(html, /<script type="module" src="app.js">/);
    assert.doesNotMatch(html, /https?:\/\/(?!127)/, 'nothing from elsewhere');
    const js = await (await fetch(page.url + 'app.js')).text();
    assert.ok(js.length > 50_000 && js.includes('startPage'));
    assert.doesNotMatch(js, /from\s*["']node:|require\(["']node:/, 'no Node module in the bundle');
    const rec = await (await fetch(page.url + 'recording.json')).json() as { meta: { outcome: string; ncpu: number } };
    assert.equal(rec.meta.outcome, 'deadlock');
    assert.equal(rec.meta.ncpu, 2);
    assert.equal((await fetch(page.url + 'etc/passwd')).status, 404);
  } finally {
    await page.close();
  }
});

test('view of a recording file, and --play of a program', async () => {
  const file = join(tmp, 'rec.json');
  assert.equal(await main(['run', 'example:workers', '--record', file, '--quiet'], io().io), 0);
  const o = io();
  const page = await startView([file, '--port', '0'], o.io);
  assert.ok(typeof page !== 'number', o.err.join('\n'));
  assert.equal((await fetch(page.url + 'recording.json')).status, 200);
  await page.close();
  const p2 = await startView(['--play', '--ncpu', '3', 'example:deadlock'], o.io);
  assert.ok(typeof p2 !== 'number', o.err.join('\n'));
  const js = await (await fetch(p2.url + 'app.js')).text();
  assert.match(js, /deadlock \(your program\)/);
  assert.equal((await fetch(p2.url + 'recording.json')).status, 404);
  await p2.close();
});

test('view errors are one line and exit 64', async () => {
  const bad = join(tmp, 'bad.json');
  writeFileSync(bad, '{"format":"something-else"}');
  const notjson = join(tmp, 'notjson.json');
  writeFileSync(notjson, '{');
  const cases: [string[], RegExp][] = [
    [[], /missing the program or recording/],
    [['nosuch.json'], /nosuch\.json: no such file/],
    [[bad], /not an lwpkit recording/],
    [[notjson], /not JSON/],
    [['example:nosuch'], /no example 'nosuch'/],
    [['--play', bad], /--play needs a program/],
    [['--play', '--seed', '3', 'example:cycle'], /--play takes only --ncpu/],
    [['--port', 'x', 'example:cycle'], /--port: expected a port number/],
    [['--ncpu', '0', 'example:cycle'], /--ncpu: 0 is out of range/],
    [['example:cycle', 'example:deadlock'], /one program or recording only/],
  ];
  for (const [args, re] of cases) {
    const o = io();
    const code = await main(['view', ...args], o.io);
    assert.equal(code, 64, `${args.join(' ')}: ${o.err.join('\n')}`);
    assert.equal(o.err.length, 1, `${args.join(' ')}: ${o.err.join('\n')}`);
    assert.match(o.err[0]!, /^lwpkit: view: /);
    assert.match(o.err[0]!, re);
  }
  const h = io();
  assert.equal(await main(['view', '--help'], h.io), 0);
  assert.match(h.out.join('\n'), /^usage: lwpkit view/);
  const m = io();
  assert.equal(await main(['--help'], m.io), 0);
  assert.match(m.out.join('\n'), /view <program\|recording.json>/);
});

test('view --schedule runs the program under the answers given and attaches them', async () => {
  const rec = join(tmp, 'w.json');
  assert.equal(await main(['run', 'example:workers', '--ncpu', '3', '--seed', '5', '--record', rec, '--quiet'], io().io), 0);
  const o = io();
  // Another seed: only the schedule can give the same run.
  const page = await startView(['--schedule', rec, '--ncpu', '3', '--seed', '99', 'example:workers'], o.io);
  assert.ok(typeof page !== 'number', o.err.join('\n'));
  try {
    const got = await (await fetch(page.url + 'recording.json')).json() as { events: unknown[]; schedule: { choices: number[]; source: string } };
    const want = JSON.parse((await import('node:fs')).readFileSync(rec, 'utf8')) as { events: unknown[]; choices: number[] };
    assert.deepEqual(got.schedule.choices, want.choices);
    assert.equal(got.schedule.source, rec);
    assert.deepEqual(got.events, want.events);
  } finally {
    await page.close();
  }
  const bad = join(tmp, 'bad-schedule.json');
  writeFileSync(bad, JSON.stringify({ choices: [7, 7, 7] }));
  const e = io();
  assert.equal(await main(['view', '--schedule', bad, '--ncpu', '3', 'example:workers'], e.io), 64);
  assert.deepEqual(e.err.length, 1);
  assert.match(e.err[0]!, /^lwpkit: view: the schedule diverges at answer 0: 7 for a choice among \d/);
  const none = join(tmp, 'none.json');
  writeFileSync(none, '{"x":1}');
  const f = io();
  assert.equal(await main(['view', '--schedule', none, 'example:workers'], f.io), 64);
  assert.match(f.err[0]!, /no list of answers/);
});

test('view --schedule takes the schedule lwpkit explore --out writes, and replays it exactly', async () => {
  const file = join(tmp, 'explore-racy.json');
  const fixture = 'test/fixtures/explore-racy.ts';
  assert.equal(await main(['explore', fixture, '--out', file], io().io), 1, 'the explorer finds the lost update');
  const sched = JSON.parse(readFileSync(file, 'utf8')) as Schedule;
  assert.ok(sched.kinds.includes('d') && sched.answers.some((a, i) => a !== 0 && sched.kinds[i] === 'd'), 'the schedule holds a CPU back');
  // The explorer's own replay of the file, its events kept.
  const { scenario } = await import('./fixtures/explore-racy.ts');
  const want: unknown[] = [];
  const r = replay(scenario, sched, (m) => { m.on((e) => { want.push({ ...e }); }); });
  assert.match(r.failure ?? '', /lost update: n = 1/);
  const o = io();
  const page = await startView(['--schedule', file, fixture], o.io);
  assert.ok(typeof page !== 'number', o.err.join('\n'));
  try {
    assert.ok(o.out.some((l) => /lost update: n = 1/.test(l)), o.out.join('\n'));
    const got = await (await fetch(page.url + 'recording.json')).json() as { events: unknown[]; frames: { c?: number }[]; schedule: { choices: number[]; labels: string[] } };
    assert.deepEqual(got.schedule.choices, sched.answers);
    assert.equal(got.schedule.labels.length, sched.answers.length);
    assert.ok(got.schedule.labels.some((l) => l.startsWith('delay: hold back')));
    assert.equal(got.frames[got.frames.length - 1]!.c, sched.answers.length, 'every decision of the file was asked');
    assert.deepEqual(got.events, JSON.parse(JSON.stringify(want)));
  } finally {
    await page.close();
  }
  const e = io();
  assert.equal(await main(['view', '--schedule', file, '--ncpu', '3', fixture], e.io), 64);
  assert.match(e.err[0]!, /explored on 2 CPUs, not 3/);
  const bent = join(tmp, 'bent.json');
  writeFileSync(bent, JSON.stringify({ ...sched, kinds: 'p' + sched.kinds.slice(1), options: [3, ...sched.options.slice(1)] }));
  const b = io();
  assert.equal(await main(['view', '--schedule', bent, fixture], b.io), 64);
  assert.match(b.err[0]!, /the schedule diverges at decision 0: it has preempt of 3, the run asks cpu of 2/);
});
