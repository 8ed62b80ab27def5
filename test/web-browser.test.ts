/*
 * The viewer in a real browser: Debian's chromium (/usr/bin/chromium, which
 * .ci/run installs) driven by playwright-core.  Screenshots go to
 * test-artifacts/ (not committed).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Machine, type KEvent, type PsRow } from '../src/index.ts';
import { Recorder, heldLocks, locksAtFrame, type Frame, type Recording } from '../src/trace/record.ts';
import { formatWaitFor, waitForGraph } from '../src/report/waitfor.ts';
import { psLines } from '../src/report/ps.ts';
import { RunObserver } from '../src/report/observe.ts';
import { bundlePage, servePage, type ServedPage } from '../src/web/serve.ts';
import { startView } from '../src/cli/view.ts';
import { RunIndex } from '../src/web/model.ts';
import { CHALLENGES, suspendRace } from '../src/web/challenges.ts';
import { DECISION_LABELS, Game } from '../src/web/play.ts';
import { main as workers } from '../examples/cli-workers.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'test-artifacts');
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let browser: Browser;
let js: string;
const served: ServedPage[] = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  js = await bundlePage({ mode: 'view' });
});

after(async () => {
  for (const s of served) await s.close();
  await browser?.close();
});

async function open(rec: Recording): Promise<Page> {
  const s = await servePage(js, JSON.stringify(rec));
  served.push(s);
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  page.on('request', (r) => { if (!r.url().startsWith(s.url) && !r.url().startsWith('data:')) errors.push(`request elsewhere: ${r.url()}`); });
  await page.goto(s.url);
  await page.waitForSelector('body[data-ready=yes]', { timeout: 30_000 });
  assert.deepEqual(errors, []);
  (page as unknown as { errors: string[] }).errors = errors;
  return page;
}

const cursorOf = async (p: Page) => Number(await p.getAttribute('body', 'data-cursor'));

/** The ps table the page shows: one row per LWP, the cells as text. */
async function psShown(p: Page): Promise<string[][]> {
  return p.$$eval('#ps-table tr', (trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
}

/** m.ps()'s rows as the page lays them out, with ps -s's STAT letters from report/ps.ts beside the state. */
function psCells(rows: readonly PsRow[], letters: readonly string[]): string[][] {
  assert.equal(rows.length, letters.length);
  return rows.map((r, i) => [String(r.pid), String(r.lid), r.stat, letters[i]!, String(r.cpu), String(r.pri), r.wchan || '-', r.name || '-', r.flags.join(' ')]);
}

/** The same machine, stopped after `steps` engine steps: its own m.ps(), and psLines' STAT letters. */
function psAfter(steps: number): { rows: PsRow[]; letters: string[] } {
  const m = new Machine({ ncpu: 3, seed: 5 });
  const observer = new RunObserver(m);
  m.spawn(workers, { name: 'workers' });
  m.run({ maxSteps: steps });
  assert.equal(m.engine.steps, steps);
  return { rows: m.ps(), letters: psLines(m, { observer }).map((l) => l.stat) };
}

test('a recording: lanes and ps table at three cursors match m.ps(); stepping forward and back', async () => {
  const m = new Machine({ ncpu: 3, seed: 5, record: true });
  const r = new Recorder(m);
  m.spawn(workers, { name: 'workers' });
  const rec = r.run({ program: 'workers', seed: 5 }).rec;
  // Attach the run's own choices as a schedule, as an explorer's failing schedule would be.
  rec.schedule = { source: 'its own choices', choices: [...rec.choices] };
  const idx = new RunIndex(rec);
  const p = await open(rec);
  assert.ok(rec.choices.length >= 2);
  assert.equal(await p.$$eval('#schedule-table tr', (t) => t.length), rec.choices.length + 1);
  await p.click('#schedule-table tr:nth-child(3)');
  const jump = rec.frames.findIndex((f) => (f.c ?? 0) > 1);
  assert.equal(await cursorOf(p), rec.frames[jump]!.e, 'a schedule row jumps to the step of its answer');
  // Its row names the event after the answer in the column of that event's CPU.
  const after = rec.events[rec.frames[jump - 1]!.e]!;
  const cells = await p.$$eval('#schedule-table tr:nth-child(3) td', (tds) => tds.map((td) => td.textContent ?? ''));
  assert.equal(cells.length, 2 + 3 + 1);
  assert.ok(cells[2 + after.cpu]!.includes(`${after.pid}.${after.lid}`), `${JSON.stringify(cells)} / cpu${after.cpu}`);
  await p.keyboard.press('Home');
  assert.equal(await cursorOf(p), 0);
  // Zoom in so that an event is several pixels wide (pixels are read below).
  for (let i = 0; i < 3; i++) await p.keyboard.press('+');

  const picks = [0.2, 0.5, 0.8].map((q) => {
    let fi = Math.floor(rec.frames.length * q);
    while (idx.frameAt(rec.frames[fi]!.e) !== fi) fi++;
    return rec.frames[fi]!;
  });
  const seenOn = new Set<string>();
  for (const f of picks) {
    await p.evaluate((c) => (window as unknown as { lwpkit: { setCursor(c: number): void } }).lwpkit.setCursor(c), f.e);
    assert.equal(await cursorOf(p), f.e);
    const after = psAfter(f.s);
    const mine = after.rows;
    assert.deepEqual(await psShown(p), psCells(mine, after.letters), `ps at cursor ${f.e} (step ${f.s})`);
    // Lanes: every ONPROC LWP is in its CPU's lane, drawn in its colour.
    const lanes = await p.evaluate(() => (window as unknown as { lwpkit: { lanesAt(): string[] } }).lwpkit.lanesAt());
    assert.equal(lanes.length, 3);
    for (let cpu = 0; cpu < 3; cpu++) {
      const on = mine.find((x) => x.stat === 'ONPROC' && x.cpu === cpu && !(x.pid === 0 && x.lid <= 3));
      if (on !== undefined) { assert.equal(lanes[cpu], `${on.pid}.${on.lid}`, `cpu${cpu} at ${f.e}`); seenOn.add(lanes[cpu]!); }
      else if (lanes[cpu] !== 'idle') assert.equal(mine.find((x) => `${x.pid}.${x.lid}` === lanes[cpu])?.cpu, cpu);
      const px = await p.evaluate((cpu) => {
        const lw = (window as unknown as { lwpkit: { cursorX(): number; cpuY(i: number): number; lanesAt(): string[]; laneColour(k: string): string } }).lwpkit;
        const cv = document.getElementById('canvas') as HTMLCanvasElement;
        const at = cv.getContext('2d')!.getImageData(Math.round(lw.cursorX()) + 3, lw.cpuY(cpu) + 1, 1, 1).data; // the top pixel row of the lane, above any label text
        const probe = document.createElement('canvas').getContext('2d')!;
        const key = lw.lanesAt()[cpu]!;
        probe.fillStyle = key === 'idle' ? '#ececec' : lw.laneColour(key);
        probe.fillRect(0, 0, 1, 1);
        const want = probe.getImageData(0, 0, 1, 1).data;
        return [[...at], [...want]];
      }, cpu);
      assert.deepEqual(px[0], px[1], `canvas colour of cpu${cpu}'s lane at the cursor`);
    }
  }
  assert.ok(seenOn.size >= 1, 'some LWP was on a CPU at the chosen cursors');

  // Step with the keyboard: one event each way, one tick, home and end.
  const c0 = await cursorOf(p);
  await p.keyboard.press('ArrowRight');
  await p.keyboard.press('ArrowRight');
  assert.equal(await cursorOf(p), c0 + 2);
  await p.keyboard.press('ArrowLeft');
  assert.equal(await cursorOf(p), c0 + 1);
  const logLine = await p.textContent('#log div.cur');
  assert.ok(logLine?.includes(`${c0} `), `the log marks event ${c0}: ${logLine}`);
  await p.keyboard.press('Shift+ArrowRight');
  const c1 = await cursorOf(p);
  assert.ok(c1 > c0 + 1 && rec.events[c1]?.t !== rec.events[c1 - 1]!.t, 'a tick step ends at the last event of a tick');
  await p.keyboard.press('End');
  assert.equal(await cursorOf(p), rec.events.length);
  const end = psAfter(m.engine.steps);
  assert.deepEqual(end.rows, m.ps());
  assert.deepEqual(await psShown(p), psCells(end.rows, end.letters), 'ps at the end is the end of the run');
  await p.keyboard.press('Home');
  assert.equal(await cursorOf(p), 0);
  // The transition diagram follows the selected LWP.
  await p.evaluate((c) => (window as unknown as { lwpkit: { setCursor(c: number): void } }).lwpkit.setCursor(c), picks[1]!.e);
  // Locks held: at a frame where some are, the table is the machine's own heldLocks.
  const lf = rec.frames.findIndex((f, i) => idx.frameAt(f.e) === i && locksAtFrame(rec.frames, i).length > 0);
  assert.ok(lf >= 0, 'some frame has a lock held');
  await p.evaluate((c) => (window as unknown as { lwpkit: { setCursor(c: number): void } }).lwpkit.setCursor(c), rec.frames[lf]!.e);
  const held = await p.$$eval('#locks-table tr', (trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  const lm = new Machine({ ncpu: 3, seed: 5 });
  lm.spawn(workers, { name: 'workers' });
  lm.run({ maxSteps: rec.frames[lf]!.s });
  assert.deepEqual(held, heldLocks(lm).map((l) => [l.name, l.owner, l.spinners.map((c) => `cpu${c}`).join(' ') || '-']));
  const diag = await p.textContent('#diagram-lwp');
  const on = await p.getAttribute('#diagram-svg g.on', 'data-state');
  assert.ok(diag?.includes(on ?? '??'), `${diag} / ${on}`);
  await p.screenshot({ path: join(ARTIFACTS, 'viewer.png') });
  assert.deepEqual((p as unknown as { errors: string[] }).errors, []);
  await p.close();
});

test('be the scheduler: choose CPUs with the keys into a deadlock, see the wait-for graph, undo', async () => {
  // A seeded run that deadlocks gives the answers to press.
  let choices: readonly number[] | null = null;
  let m: Machine | null = null;
  for (let seed = 1; seed <= 60 && choices === null; seed++) {
    m = new Machine({ ncpu: 3, seed, record: true });
    m.spawn(suspendRace, { name: 'wait-forever' });
    if (m.run().outcome === 'deadlock') choices = m.choices;
  }
  assert.ok(choices !== null && m !== null);
  const rec = new Machine({ ncpu: 1 });
  const r0 = new Recorder(rec);
  rec.spawn(workers, { name: 'workers' });
  const p = await open(r0.run({ program: 'workers' }).rec);
  await p.keyboard.press('p');
  assert.match(await p.inputValue('#challenge'), /^0$/);
  assert.match(await p.textContent('#play') ?? '', /Make _lwp_wait sleep forever/);
  for (const a of choices) {
    const n = await p.$$eval('#play button.opt', (b) => b.length);
    assert.ok(a < n, `answer ${a} among ${n} options`);
    await p.keyboard.press(String(a + 1));
  }
  assert.equal(await p.$$eval('#play button.opt', (b) => b.length), 0);
  assert.match(await p.textContent('#play-outcome') ?? '', /deadlock.*Challenge met/);
  // The graph shown is the machine's own.
  assert.equal(await p.textContent('#waitfor-text'), formatWaitFor(waitForGraph(m)));
  assert.ok(await p.$('#waitfor-svg g[data-lwp="1.1"]'));
  assert.ok(await p.$('#waitfor-svg path[data-edge="1.1>1.2"]'));
  assert.match(await p.textContent('#why') ?? '', /1\.1 sleeps on lwpwait in _lwp_wait\(2\); only 1\.2 victim can end that/);
  await p.screenshot({ path: join(ARTIFACTS, 'play-deadlock.png') });
  await p.keyboard.press('u');
  assert.ok(await p.$$eval('#play button.opt', (b) => b.length) > 0, 'undo brings the last choice back');
  await p.keyboard.press('v');
  assert.match(await p.textContent('#title') ?? '', /^workers: idle/);
  assert.deepEqual((p as unknown as { errors: string[] }).errors, []);
  await p.close();
});

test('view --play of a program: it runs in the page, each choice a key; tooltips name what is drawn', async () => {
  const v = await startView(['--play', '--ncpu', '2', 'example:cycle'], { out: () => {}, err: () => {} });
  assert.ok(typeof v !== 'number');
  served.push(v);
  const p = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  p.on('pageerror', (e) => errors.push(e.message));
  await p.goto(v.url);
  await p.waitForSelector('body[data-ready=yes]', { timeout: 30_000 });
  assert.match(await p.textContent('#play') ?? '', /cycle \(your program\)/);
  let presses = 0;
  while ((await p.$$eval('#play button.opt', (b) => b.length)) > 0 && presses < 200) { await p.keyboard.press('1'); presses++; }
  assert.match(await p.textContent('#play-outcome') ?? '', /The run ended: deadlock/);
  assert.match(await p.textContent('#waitfor-text') ?? '', /cycle 1: 1\.2 t1 -> 1\.3 t2 -> 1\.4 t3 -> 1\.2 t1/);
  const box = (await p.$('#canvas'))!;
  const b = (await box.boundingBox())!;
  const y0 = await p.evaluate(() => (window as unknown as { lwpkit: { cpuY(i: number): number; rowY(i: number): number } }).lwpkit.cpuY(0));
  await p.mouse.move(b.x + 400, b.y + y0 + 8);
  assert.match(await box.getAttribute('title') ?? '', /^cpu0: /);
  const y1 = await p.evaluate(() => (window as unknown as { lwpkit: { rowY(i: number): number } }).lwpkit.rowY(1));
  await p.mouse.move(b.x + 400, b.y + y1 + 8);
  assert.match(await box.getAttribute('title') ?? '', /^1\.2 t1: (IDL|RUN|ONPROC|SLEEP)/);
  assert.deepEqual(errors, []);
  await p.close();
});

/** A recording of `n` events on `ncpu` CPUs with `nlwp` LWPs cycling RUN -> ONPROC -> SLEEP -> RUN. */
function bigRecording(n: number, ncpu: number, nlwp: number): Recording {
  const events: KEvent[] = [];
  const frames: Frame[] = [];
  const rows: PsRow[] = [];
  for (let c = 0; c < ncpu; c++) rows.push({ pid: 0, lid: c + 1, stat: 'ONPROC', cpu: c, pri: -1, wchan: '', name: `idle/${c}`, flags: ['LW_IDLE', 'LW_SYSTEM'] });
  for (let l = 1; l <= nlwp; l++) rows.push({ pid: 1, lid: l, stat: 'RUN', cpu: l % ncpu, pri: 63, wchan: '', name: `w${l}`, flags: [] });
  frames.push({ s: 0, e: 0, t: 0, k: rows.map((r) => ({ ...r })) });
  const on: number[] = new Array(ncpu).fill(0);
  let t = 0;
  let s = 0;
  for (let l = 1; events.length < n; l = (l % nlwp) + 1) {
    const cpu = l % ncpu;
    const prev = on[cpu]!;
    t++;
    const d: PsRow[] = [];
    if (prev !== 0) {
      events.push({ t, cpu, pid: 1, lid: prev, type: 'state', from: 'ONPROC', to: 'SLEEP', why: 'sleep', wchan: 'work' });
      d.push({ ...rows[ncpu + prev - 1]!, stat: 'SLEEP', wchan: 'work' });
      events.push({ t, cpu, pid: 1, lid: l, type: 'wakeup', wakerPid: 1, wakerLid: prev });
    }
    events.push({ t, cpu, pid: 1, lid: l, type: 'state', from: prev === 0 ? 'RUN' : 'SLEEP', to: 'ONPROC', why: 'switch' });
    events.push({ t, cpu, pid: 1, lid: prev || cpu + 1, type: 'switch', toPid: 1, toLid: l, voluntary: true });
    if (l % 97 === 0) events.push({ t, cpu, pid: 1, lid: l, type: 'sysret', name: '_lwp_wait', errno: 3 });
    d.push({ ...rows[ncpu + l - 1]!, stat: 'ONPROC', cpu });
    for (const r of d) rows[r.pid === 0 ? r.lid - 1 : ncpu + r.lid - 1] = r;
    on[cpu] = l;
    // A keyframe every 1024 frames, as FrameWriter's KEYFRAME_FRAMES.
    frames.push(frames.length % 1024 === 0 ? { s: ++s, e: events.length, t, k: [...rows] } : { s: ++s, e: events.length, t, d });
  }
  return {
    format: 'lwpkit-recording', version: 1,
    meta: { program: 'big', ncpu, seed: 1, personality: 'netbsd-6', ticks: t, steps: s, outcome: 'limit' },
    names: { procs: { 1: 'big' }, lwps: Object.fromEntries(rows.map((r) => [`${r.pid}.${r.lid}`, r.name])) },
    events, frames, choices: [],
  };
}

test('100,000 events on 64 CPUs: the page loads, scrubs and steps', async () => {
  const rec = bigRecording(100_000, 64, 200);
  assert.ok(rec.events.length >= 100_000);
  const t0 = Date.now();
  const p = await open(rec);
  const loaded = Date.now() - t0;
  const lanes = await p.evaluate(() => (window as unknown as { lwpkit: { lanesAt(): string[] } }).lwpkit.lanesAt());
  assert.equal(lanes.length, 64);
  // Scrub: the slider to several places, then steps with the keys.
  const t1 = Date.now();
  for (const q of [0.1, 0.35, 0.6, 0.9]) {
    const c = Math.floor(rec.events.length * q);
    await p.$eval('#slider', (el, c) => { (el as HTMLInputElement).value = String(c); el.dispatchEvent(new Event('input')); }, c);
    assert.equal(await cursorOf(p), c);
    assert.equal((await psShown(p)).length, 64 + 200);
  }
  for (let i = 0; i < 20; i++) await p.keyboard.press('ArrowRight');
  assert.equal(await cursorOf(p), Math.floor(rec.events.length * 0.9) + 20);
  await p.keyboard.press('-');
  await p.keyboard.press('0');
  const scrubbed = Date.now() - t1;
  // Generous bounds: this checks it works on a loaded machine, not how fast.
  assert.ok(loaded < 60_000, `loaded in ${loaded} ms`);
  assert.ok(scrubbed < 60_000, `scrubbed in ${scrubbed} ms`);
  await p.screenshot({ path: join(ARTIFACTS, 'big.png') });
  assert.deepEqual((p as unknown as { errors: string[] }).errors, []);
  console.log(`# 100k events, 64 CPUs: loaded in ${loaded} ms, 4 scrubs + 20 steps + 2 zooms in ${scrubbed} ms`);
  await p.close();
});

test('be the scheduler with delays (d): a delay decision answered with its key, the run replays it, undo', async () => {
  const rec = new Machine({ ncpu: 1 });
  const r0 = new Recorder(rec);
  rec.spawn(workers, { name: 'workers' });
  const p = await open(r0.run({ program: 'workers' }).rec);
  await p.keyboard.press('p');
  await p.keyboard.press('d');
  assert.match(await p.textContent('#play-count') ?? '', /delays and preemptions on \(0 answered\)/);
  const kind = () => p.getAttribute('#play-question', 'data-kind');
  let presses = 0;
  while ((await kind()) !== 'delay' && presses++ < 50) await p.keyboard.press('1');
  assert.equal(await kind(), 'delay');
  assert.deepEqual(await p.$$eval('#play button.opt', (b) => b.map((x) => x.textContent)),
    DECISION_LABELS.delay.map((l, i) => `${i + 1}: ${l}`));
  type W = { lwpkit: { game: { answers: number[]; kinds: string[] }; play: { rec: Recording } } };
  const before = await p.evaluate(() => (window as unknown as W).lwpkit.play.rec.events.length);
  await p.keyboard.press('4'); // stall 20 ticks
  const got = await p.evaluate(() => { const l = (window as unknown as W).lwpkit; return { answers: l.game.answers, kinds: l.game.kinds, events: l.play.rec.events, choices: l.play.rec.choices }; });
  assert.deepEqual(got.kinds.slice(-1), ['delay']);
  assert.deepEqual(got.answers.slice(-1), [3]);
  assert.ok(got.choices.includes(3), 'the choice log has the stall');
  assert.match(await p.textContent('#play-count') ?? '', /\(1 answered\)/);
  // The page's machine is the one a Game with these answers gives in node.
  const g = new Game(CHALLENGES[0]!);
  g.setDecide(true);
  for (const a of got.answers) g.choose(a);
  assert.deepEqual(got.events, JSON.parse(JSON.stringify(g.state().rec.events)));
  await p.keyboard.press('u');
  assert.equal(await kind(), 'delay', 'undo brings the delay back');
  assert.equal(await p.evaluate(() => (window as unknown as W).lwpkit.play.rec.events.length), before);
  assert.match(await p.textContent('#play-count') ?? '', /\(0 answered\)/);
  assert.deepEqual((p as unknown as { errors: string[] }).errors, []);
  await p.close();
});
