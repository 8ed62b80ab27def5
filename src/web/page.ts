/*
 * The viewer page: lanes on a canvas, a cursor, and the panels that read
 * the run at the cursor; and the "be the scheduler" panel.
 *
 * Contract: runs in the browser only (DOM, canvas); everything it shows
 * comes from a Recording (src/trace/record.ts) through RunIndex, or from a
 * Game (src/web/play.ts).  It loads nothing from the network but the
 * page's own /recording.json.  window.lwpkit exposes the page's state for
 * the browser tests (test/web-browser.test.ts).
 *
 * Keys: Left/Right one event, Shift+Left/Right one tick, PageUp/PageDown
 * 50 events, Home/End, Up/Down the selected LWP, +/- zoom, 0 whole run,
 * t events/ticks axis, p play mode / v view mode; in play mode 1-9 choose
 * that option, u or Backspace undo, a let the machine choose, r restart,
 * c next challenge.
 */
import { formatEvent, type KEvent } from '../kern/events.ts';
import { errnoName } from '../kern/errno.ts';
import type { PsRow } from '../machine.ts';
import { cycleLabel, formatWaitFor, type WaitForGraph } from '../report/waitfor.ts';
import type { Recording } from '../trace/record.ts';
import { checkRecording } from '../trace/record.ts';
import { EDGES_1172, RunIndex, STATES, lstateOf, scheduleRows, type LwpRow, type Seg } from './model.ts';
import { MAXSLP_TICKS } from '../report/ps.ts';
import { Game, type PlayState, type Scenario } from './play.ts';

export interface PageConfig {
  /** 'view': show /recording.json; 'play': start a game. */
  mode: 'view' | 'play';
  scenarios: Scenario[];
  /** Scenario to start with in play mode (default the first). */
  play?: string;
  /** A recording given inline (tests, play). */
  recording?: Recording;
}

/** The seed's state names, with their colours. */
export const STATE_COLOURS: Record<string, string> = {
  IDL: '#b0b0b0', RUN: '#f2c230', ONPROC: '#3aa655', SLEEP: '#4a7fd4', STOP: '#e0703a', SUSPENDED: '#9a5bc8', ZOMB: '#555555',
};
const IDLE_COLOUR = '#ececec';
const ROW_H = 16;
const LABEL_W = 150;
const RULER_H = 20;
const GAP = 10;

function lwpColour(i: number): string {
  return `hsl(${(i * 137.508) % 360} 55% 58%)`;
}

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of kids) el.append(c);
  return el;
}

const CSS = `
body { font: 13px system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { padding: 6px 10px; background: #263238; color: #eee; display: flex; gap: 14px; align-items: center; flex-wrap: wrap; }
header b { font-size: 15px; }
header button { font: inherit; }
#main { display: flex; gap: 8px; padding: 8px; align-items: flex-start; }
#left { flex: 1 1 auto; min-width: 0; }
#right { flex: 0 0 440px; display: flex; flex-direction: column; gap: 8px; }
#lanes { overflow: auto; max-height: 62vh; border: 1px solid #ccc; background: #fff; }
canvas { display: block; }
section { background: #fff; border: 1px solid #ddd; padding: 6px 8px; }
section h3 { margin: 0 0 4px; font-size: 13px; }
table { border-collapse: collapse; font: 12px ui-monospace, monospace; }
td, th { padding: 1px 6px; text-align: left; white-space: nowrap; }
tr.sel { background: #fff3c4; }
tr.cur { background: #fff3c4; font-weight: bold; }
pre { margin: 0; font: 12px ui-monospace, monospace; white-space: pre-wrap; }
#waitfor-text { white-space: pre; overflow-x: auto; }
#log div { font: 12px ui-monospace, monospace; white-space: pre; }
#log div.cur { background: #fff3c4; font-weight: bold; }
.legend span { display: inline-block; padding: 0 6px; margin-right: 4px; color: #fff; border-radius: 3px; font-size: 11px; }
#slider { width: 100%; }
#play .opt { display: block; margin: 2px 0; font: 12px ui-monospace, monospace; }
#play .won { color: #1b7f2a; font-weight: bold; }
#play .goal { margin: 4px 0; }
.muted { color: #777; }
svg text { font: 11px system-ui, sans-serif; }
`;

export class Page {
  idx!: RunIndex;
  cursor = 0;
  /** Row index of the selected LWP in idx.lwps. */
  sel = 0;
  ticks = false;
  v0 = 0;
  v1 = 1;
  mode: 'view' | 'play';
  game: Game | null = null;
  play: PlayState | null = null;
  private viewRec: Recording | null = null;
  private canvas!: HTMLCanvasElement;
  private els: Record<string, HTMLElement> = {};
  private scenarioIndex = 0;

  constructor(readonly cfg: PageConfig) {
    this.mode = cfg.mode;
  }

  async start(): Promise<void> {
    this.build();
    if (this.cfg.recording !== undefined) this.viewRec = this.cfg.recording;
    else if (this.cfg.mode === 'view') {
      const r = await fetch('recording.json');
      const rec = await r.json() as unknown;
      const bad = checkRecording(rec);
      if (bad !== null) { this.els.status!.textContent = bad; return; }
      this.viewRec = rec as Recording;
    }
    if (this.mode === 'play') this.startGame(Math.max(0, this.cfg.scenarios.findIndex((s) => s.id === this.cfg.play)));
    else this.load(this.viewRec!, false);
    document.addEventListener('keydown', (e) => this.key(e));
    window.addEventListener('resize', () => this.draw());
    (window as unknown as { lwpkit: unknown }).lwpkit = this;
    document.body.dataset.ready = 'yes';
  }

  // --- layout --------------------------------------------------------------

  private build(): void {
    document.head.append(h('style', {}, CSS));
    const legend = h('span', { class: 'legend' });
    for (const s of STATES) legend.append(h('span', { style: `background:${STATE_COLOURS[s]}` }, s));
    const mk = (id: string, title: string, ...kids: (Node | string)[]) => {
      const body = h('div', { id });
      this.els[id] = body;
      return h('section', {}, h('h3', {}, title), ...kids, body);
    };
    const viewBtn = h('button', { id: 'btn-view' }, 'View (v)');
    const playBtn = h('button', { id: 'btn-play' }, 'Be the scheduler (p)');
    const axisBtn = h('button', { id: 'btn-axis' }, 'Axis: events (t)');
    viewBtn.onclick = () => this.setMode('view');
    playBtn.onclick = () => this.setMode('play');
    axisBtn.onclick = () => this.toggleAxis();
    this.els.axisBtn = axisBtn;
    const title = h('b', { id: 'title' }, 'lwpkit view');
    const status = h('span', { id: 'status' });
    this.els.title = title;
    this.els.status = status;
    const header = h('header', {}, title, status, viewBtn, playBtn, axisBtn, legend,
      h('span', { class: 'muted' }, '←/→ event · shift tick · ↑/↓ LWP · +/- zoom · 0 all'));
    this.canvas = h('canvas', { id: 'canvas', tabindex: '0' });
    this.canvas.onclick = (e) => this.click(e);
    this.canvas.onmousemove = (e) => { this.canvas.title = this.hover(e); };
    this.canvas.onwheel = (e) => this.wheel(e);
    const slider = h('input', { id: 'slider', type: 'range', min: '0', max: '0', value: '0' });
    slider.oninput = () => this.setCursor(Number(slider.value));
    this.els.slider = slider;
    const lanes = h('div', { id: 'lanes' }, this.canvas);
    this.els.lanes = lanes;
    let queued = false;
    lanes.onscroll = () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => { queued = false; this.draw(); });
    };
    const left = h('div', { id: 'left' }, lanes, slider,
      mk('play', 'Be the scheduler'),
      mk('schedule', 'Schedule'),
      mk('log', 'Events around the cursor'));
    const right = h('div', { id: 'right' },
      mk('ps', 'ps -s at the cursor'),
      mk('diagram', 'LWP states (kern_lwp.c 1.172)'),
      mk('locks', 'Locks held'),
      mk('waitfor', 'Wait-for graph'));
    document.body.append(header, h('div', { id: 'main' }, left, right));
  }

  // --- loading -------------------------------------------------------------

  load(rec: Recording, keepCursorAtEnd: boolean): void {
    const prevSel = this.idx?.lwps[this.sel]?.key;
    this.idx = new RunIndex(rec);
    const m = rec.meta;
    this.els.title!.textContent = `${m.program}: ${m.outcome}${m.panic ? ` (${m.panic})` : ''}`;
    this.els.status!.textContent = `${m.ncpu} CPUs · seed ${m.seed} · ${m.personality} · ${rec.events.length} events · ${m.ticks} ticks`;
    (this.els.slider as HTMLInputElement).max = String(this.idx.n);
    const selIdx = prevSel === undefined ? -1 : this.idx.byKey.get(prevSel) ?? -1;
    this.sel = selIdx >= 0 ? selIdx : this.firstUserRow();
    this.zoomAll();
    this.cursor = keepCursorAtEnd ? this.idx.n : 0;
    this.sizeCanvas();
    this.update();
  }

  private firstUserRow(): number {
    const i = this.idx.lwps.findIndex((r) => r.pid !== 0);
    return Math.max(0, i);
  }

  private sizeCanvas(): void {
    const rows = this.idx.ncpu + this.idx.lwps.length;
    this.canvas.height = RULER_H + rows * ROW_H + GAP + 4;
    this.canvas.width = Math.max(600, this.els.lanes!.clientWidth - 2);
  }

  // --- geometry --------------------------------------------------------------

  private axisEnd(): number { return this.ticks ? Math.max(1, this.idx.rec.meta.ticks) : Math.max(1, this.idx.n); }
  private zoomAll(): void { this.v0 = 0; this.v1 = this.axisEnd(); }
  private ux(c: number): number { return this.ticks ? this.idx.tickAt[c]! : c; }
  private px(u: number): number { return LABEL_W + ((u - this.v0) / (this.v1 - this.v0)) * (this.canvas.width - LABEL_W - 4); }
  private unpx(x: number): number { return this.v0 + ((x - LABEL_W) / (this.canvas.width - LABEL_W - 4)) * (this.v1 - this.v0); }
  cpuY(i: number): number { return RULER_H + i * ROW_H; }
  rowY(i: number): number { return RULER_H + this.idx.ncpu * ROW_H + GAP + i * ROW_H; }
  /** Canvas x of the cursor. */
  cursorX(): number { return this.px(this.ux(this.cursor)); }

  // --- drawing -------------------------------------------------------------

  draw(): void {
    const cv = this.canvas;
    const want = Math.max(600, this.els.lanes!.clientWidth - 2);
    if (cv.width !== want) cv.width = want;
    const g = cv.getContext('2d')!;
    const idx = this.idx;
    g.clearRect(0, 0, cv.width, cv.height);
    g.font = '11px system-ui, sans-serif';
    g.textBaseline = 'middle';
    this.drawRuler(g);
    // Only the rows scrolled into view are drawn (64 CPUs and hundreds of LWPs stay cheap).
    const top = this.els.lanes!.scrollTop - ROW_H;
    const bottom = top + this.els.lanes!.clientHeight + 2 * ROW_H;
    const seen = (y: number) => y >= top && y <= bottom;
    for (let c = 0; c < idx.ncpu; c++) {
      const y = this.cpuY(c);
      if (!seen(y)) continue;
      g.fillStyle = '#333';
      g.fillText(`cpu${c}`, 4, y + ROW_H / 2);
      this.drawSegs(g, idx.cpuSegs[c]!, y, (s) => (s.v < 0 ? IDLE_COLOUR : lwpColour(s.v)), (s) => (s.v < 0 ? '' : idx.lwps[s.v]!.label));
    }
    idx.lwps.forEach((r, i) => {
      const y = this.rowY(i);
      if (!seen(y)) return;
      if (i === this.sel) { g.fillStyle = '#fff3c4'; g.fillRect(0, y, cv.width, ROW_H); }
      g.fillStyle = lwpColour(i);
      g.fillRect(2, y + 3, 8, ROW_H - 6);
      g.fillStyle = '#333';
      g.fillText(r.label.slice(0, 22), 14, y + ROW_H / 2);
      this.drawSegs(g, r.segs, y, (s) => STATE_COLOURS[STATES[s.v] ?? 'IDL']!, (s) => STATES[s.v] === 'SLEEP' && s.w ? `SLEEP ${s.w}` : STATES[s.v] ?? '');
    });
    this.drawArrows(g);
    this.drawMarkers(g);
    const x = this.cursorX();
    g.strokeStyle = '#d00';
    g.lineWidth = 1.5;
    g.beginPath();
    g.moveTo(x, 0);
    g.lineTo(x, cv.height);
    g.stroke();
    g.lineWidth = 1;
  }

  private drawRuler(g: CanvasRenderingContext2D): void {
    const w = this.canvas.width;
    g.fillStyle = '#f0f0f0';
    g.fillRect(0, 0, w, RULER_H - 2);
    g.fillStyle = '#555';
    g.fillText(this.ticks ? 'ticks' : 'events', 4, RULER_H / 2);
    const span = this.v1 - this.v0;
    const step = Math.pow(10, Math.floor(Math.log10(Math.max(1, span / 8))));
    const k = span / step > 40 ? 5 * step : span / step > 16 ? 2 * step : step;
    for (let u = Math.ceil(this.v0 / k) * k; u <= this.v1; u += k) {
      const x = this.px(u);
      g.fillRect(x, RULER_H - 8, 1, 6);
      g.fillText(String(u), x + 2, RULER_H / 2 - 2);
    }
  }

  /** Draw the segments overlapping the view; at most one per pixel column. */
  private drawSegs(g: CanvasRenderingContext2D, segs: readonly Seg[], y: number, colour: (s: Seg) => string, label: (s: Seg) => string): void {
    const t = this.ticks;
    let lastPx = -1;
    for (let i = RunIndex.firstAfter(segs, this.v0, t); i < segs.length; i++) {
      const s = segs[i]!;
      const a = t ? s.ta : s.a;
      const b = t ? s.tb : s.b;
      if (a > this.v1) break;
      const x0 = Math.max(LABEL_W, this.px(a));
      const x1 = Math.min(this.canvas.width, this.px(b));
      if (x1 <= lastPx && x1 - x0 < 1) continue;
      const w = Math.max(1, x1 - x0);
      g.fillStyle = colour(s);
      g.fillRect(x0, y + 1, w, ROW_H - 2);
      lastPx = x0 + w;
      if (w > 50) {
        const text = label(s);
        if (text) {
          g.fillStyle = '#fff';
          g.save();
          g.beginPath();
          g.rect(x0, y, w, ROW_H);
          g.clip();
          g.fillText(text, x0 + 3, y + ROW_H / 2);
          g.restore();
        }
      }
    }
  }

  private inView(at: number): boolean {
    const u = this.ux(at);
    return u >= this.v0 && u <= this.v1;
  }

  private drawArrows(g: CanvasRenderingContext2D): void {
    const idx = this.idx;
    const vis = idx.arrows.filter((a) => this.inView(a.at));
    if (vis.length > 2000) return;
    g.strokeStyle = 'rgba(200,30,30,0.8)';
    g.fillStyle = 'rgba(200,30,30,0.8)';
    for (const a of vis) {
      const x = this.px(this.ux(a.at + 1));
      const to = idx.byKey.get(a.to);
      if (to === undefined) continue;
      const from = idx.byKey.get(a.from);
      const y0 = from === undefined ? RULER_H : this.rowY(from) + ROW_H / 2;
      const y1 = this.rowY(to) + ROW_H / 2;
      g.beginPath();
      g.moveTo(x, y0);
      g.lineTo(x, y1);
      g.stroke();
      const d = y1 > y0 ? -1 : 1;
      g.beginPath();
      g.moveTo(x, y1);
      g.lineTo(x - 3, y1 + 5 * d);
      g.lineTo(x + 3, y1 + 5 * d);
      g.fill();
    }
  }

  private drawMarkers(g: CanvasRenderingContext2D): void {
    const idx = this.idx;
    for (const mk of idx.markers) {
      if (!this.inView(Math.min(mk.at, idx.n))) continue;
      const x = this.px(this.ux(Math.min(mk.at + 1, idx.n)));
      const r = idx.byKey.get(mk.row);
      const y = r === undefined ? RULER_H : this.rowY(r);
      if (mk.kind === 'panic') {
        g.fillStyle = '#d00';
        g.fillRect(x - 1, 0, 3, this.canvas.height);
        continue;
      }
      g.fillStyle = mk.kind === 'errno' ? '#c00' : mk.kind === 'signal' ? '#e08000' : '#000';
      g.beginPath();
      if (mk.kind === 'deadlock') {
        // A black bar with a white cross at the end of the row: stuck for good.
        g.fillRect(x - 12, y + 1, 12, ROW_H - 2);
        g.strokeStyle = '#fff';
        g.beginPath();
        g.moveTo(x - 10, y + 3); g.lineTo(x - 2, y + ROW_H - 3);
        g.moveTo(x - 2, y + 3); g.lineTo(x - 10, y + ROW_H - 3);
        g.stroke();
      } else {
        g.moveTo(x - 4, y);
        g.lineTo(x + 4, y);
        g.lineTo(x, y + 7);
        g.fill();
      }
    }
  }

  // --- cursor and panels ------------------------------------------------------

  setCursor(c: number): void {
    this.cursor = Math.max(0, Math.min(this.idx.n, Math.round(c)));
    const u = this.ux(this.cursor);
    if (u < this.v0 || u > this.v1) {
      const span = this.v1 - this.v0;
      this.v0 = Math.max(0, u - span / 2);
      this.v1 = this.v0 + span;
    }
    this.update();
  }

  update(): void {
    (this.els.slider as HTMLInputElement).value = String(this.cursor);
    this.draw();
    this.showPs();
    this.showLog();
    this.showDiagram();
    this.showLocks();
    this.showWaitFor();
    this.showSchedule();
    this.showPlay();
    const c = this.cursor;
    const f = this.idx.frame(this.idx.frameAt(c));
    document.body.dataset.cursor = String(c);
    this.els.status!.textContent = `${this.idx.ncpu} CPUs · event ${c}/${this.idx.n} · tick ${this.idx.tickAt[c]} · ps after step ${f.s}`;
  }

  /** Which LWP each CPU runs at the cursor, from the lanes ('idle' for its idle LWP). */
  lanesAt(c = this.cursor): string[] {
    const out: string[] = [];
    for (const segs of this.idx.cpuSegs) {
      const i = RunIndex.firstAfter(segs, c, false);
      const s = segs[Math.min(i, segs.length - 1)]!;
      out.push(s.v < 0 ? 'idle' : this.idx.lwps[s.v]!.key);
    }
    return out;
  }

  /** The colour the lanes give an LWP on a CPU. */
  laneColour(key: string): string {
    const i = this.idx.byKey.get(key);
    return i === undefined ? IDLE_COLOUR : lwpColour(i);
  }

  psRows(): PsRow[] { return this.idx.psAt(this.cursor); }

  private showPs(): void {
    const c = this.cursor;
    const fi = this.idx.frameAt(c);
    const f = this.idx.frame(fi);
    const rows = this.idx.psAt(c);
    const t = h('table', { id: 'ps-table' }, h('tr', {}, ...['PID', 'LID', 'STATE', 'STAT', 'CPU', 'PRI', 'WCHAN', 'LNAME', 'FLAGS'].map((x) => h('th', {}, x))));
    const selKey = this.idx.lwps[this.sel]?.key;
    const now = f.t;
    for (const r of rows) {
      const key = `${r.pid}.${r.lid}`;
      const since = this.idx.sleepSince(key, f.e);
      const letters = lstateOf(r, since === undefined ? undefined : now - since, MAXSLP_TICKS);
      const tr = h('tr', { 'data-key': key, class: key === selKey ? 'sel' : '' },
        ...[String(r.pid), String(r.lid), r.stat, letters, String(r.cpu), String(r.pri), r.wchan || '-', r.name || '-', r.flags.join(' ')].map((x) => h('td', {}, x)));
      tr.onclick = () => { const i = this.idx.byKey.get(key); if (i !== undefined) { this.sel = i; this.update(); } };
      t.append(tr);
    }
    const lanes = this.lanesAt(c).map((k, i) => `cpu${i} ${k === 'idle' ? 'idle' : this.idx.name(k)}`);
    const note = f.e === c ? `after engine step ${f.s} (tick ${f.t})` : `after engine step ${f.s} (tick ${f.t}), ${c - f.e} event(s) into the next step`;
    this.els.ps!.replaceChildren(h('div', { class: 'muted' }, note), t,
      h('div', { id: 'oncpu' }, 'on the CPUs: ', lanes.join(' · ')));
  }

  private showLog(): void {
    const ev = this.idx.rec.events;
    const c = this.cursor;
    const out: HTMLElement[] = [];
    for (let i = Math.max(0, c - 10); i < Math.min(ev.length, c + 10); i++) {
      const d = h('div', { class: i === c - 1 ? 'cur' : '' }, `${String(i).padStart(6)} ${describe(ev[i]!)}`);
      d.onclick = () => this.setCursor(i + 1);
      out.push(d);
    }
    if (c === 0) out.unshift(h('div', { class: 'cur' }, '       (start: no event yet)'));
    this.els.log!.replaceChildren(...out);
  }

  private showDiagram(): void {
    const r: LwpRow | undefined = this.idx.lwps[this.sel];
    if (r === undefined) { this.els.diagram!.replaceChildren('no LWP'); return; }
    const st = this.idx.stateAt(r, this.cursor);
    const state = STATES[st.v] ?? '?';
    let edge: [string, string] | null = null;
    if (st.edge >= 0) {
      const e = this.idx.rec.events[st.edge]!;
      if (e.type === 'state') edge = [e.from, e.to];
    }
    this.els.diagram!.replaceChildren(
      h('div', { id: 'diagram-lwp' }, `${r.label}: ${state}${st.w ? ` on ${st.w}` : ''}`),
      diagramSvg(state, edge),
      h('div', { id: 'diagram-edge', class: 'muted' }, edge === null ? 'no transition yet'
        : `last edge ${edge[0]} -> ${edge[1]} (event ${st.edge}${ev1172(edge) ? '' : '; not an edge of the 1.172 diagram'})`),
    );
  }

  private showLocks(): void {
    const locks = this.idx.locksAt(this.cursor);
    if (locks.length === 0) { this.els.locks!.replaceChildren(h('span', { class: 'muted' }, 'no kernel mutex held')); return; }
    const t = h('table', { id: 'locks-table' }, h('tr', {}, h('th', {}, 'LOCK'), h('th', {}, 'OWNER'), h('th', {}, 'SPINNING')));
    for (const l of locks) t.append(h('tr', {}, h('td', {}, l.name), h('td', {}, l.owner), h('td', {}, l.spinners.map((c) => `cpu${c}`).join(' ') || '-')));
    this.els.locks!.replaceChildren(t);
  }

  private showWaitFor(): void {
    const g = this.play?.waitFor ?? this.idx.rec.waitFor;
    const atEnd = this.cursor === this.idx.n;
    if (g === undefined) { this.els.waitfor!.replaceChildren(h('span', { class: 'muted' }, 'the run does not deadlock')); return; }
    if (!atEnd) { this.els.waitfor!.replaceChildren(h('span', { class: 'muted' }, `at the end of the run (End): ${g.entries.length} blocked LWPs, ${g.cycles.length} cycles`)); return; }
    const title = this.play !== null && this.play.options !== null ? 'now (the run goes on):' : this.idx.rec.meta.outcome === 'deadlock' ? 'the run deadlocked:' : 'at the end:';
    this.els.waitfor!.replaceChildren(h('div', {}, title), waitForSvg(g), h('pre', { id: 'waitfor-text' }, formatWaitFor(g)));
  }

  private showSchedule(): void {
    const sch = this.idx.rec.schedule;
    const box = this.els.schedule!;
    box.parentElement!.style.display = sch === undefined ? 'none' : '';
    if (sch === undefined) return;
    const ncpu = this.idx.ncpu;
    const cols = Math.min(ncpu, 16);
    const t = h('table', { id: 'schedule-table' }, h('tr', {}, h('th', {}, '#'), h('th', {}, 'answer'),
      ...Array.from({ length: cols }, (_, c) => h('th', {}, `cpu${c}`)), h('th', {}, 'label')));
    for (const r of scheduleRows(this.idx.rec, (e) => formatEvent(e).slice(9).trim())) {
      const cells = Array.from({ length: cols }, (_, c) => h('td', {}, c === r.cpu ? r.text : ''));
      const tr = h('tr', { class: r.at >= 0 && r.at === this.cursor ? 'cur' : '' }, h('td', {}, String(r.i)), h('td', {}, String(r.answer)), ...cells, h('td', {}, r.label));
      if (r.at >= 0) tr.onclick = () => this.setCursor(r.at);
      t.append(tr);
    }
    box.replaceChildren(h('div', { class: 'muted' }, `from ${sch.source}: one row per answer, the first events after it in the column of their CPU; click a row to go there`), t);
  }

  // --- play ------------------------------------------------------------------

  setMode(mode: 'view' | 'play'): void {
    if (mode === this.mode && (mode === 'view' || this.game !== null)) return;
    this.mode = mode;
    if (mode === 'play') this.startGame(this.scenarioIndex);
    else if (this.viewRec !== null) { this.game = null; this.play = null; this.load(this.viewRec, false); }
    else this.update();
  }

  startGame(i: number): void {
    const sc = this.cfg.scenarios[i];
    if (sc === undefined) return;
    this.scenarioIndex = i;
    this.mode = 'play';
    this.game = new Game(sc);
    this.refreshGame();
  }

  private refreshGame(): void {
    this.play = this.game!.state();
    this.load(this.play.rec, true);
  }

  choose(answer: number): void {
    if (this.game === null || this.play?.options == null || answer >= this.play.options.length) return;
    this.game.choose(answer);
    this.refreshGame();
  }

  undo(): void { if (this.game !== null) { this.game.undo(); this.refreshGame(); } }
  auto(): void { if (this.game !== null) { this.game.auto(); this.refreshGame(); } }
  restart(): void { if (this.game !== null) { this.game.reset(); this.refreshGame(); } }
  /** Also answer delays and preemptions (the engine's exploration decisions), or only CPUs; restarts the game. */
  toggleDecide(): void { if (this.game !== null) { this.game.setDecide(!this.game.decide); this.refreshGame(); } }

  private showPlay(): void {
    const box = this.els.play!;
    box.parentElement!.style.display = this.mode === 'play' ? '' : 'none';
    if (this.mode !== 'play' || this.game === null || this.play === null) return;
    const sc = this.game.scenario;
    const st = this.play;
    const pick = h('select', { id: 'challenge' });
    this.cfg.scenarios.forEach((s, i) => {
      const o = h('option', { value: String(i) }, s.title);
      if (i === this.scenarioIndex) o.setAttribute('selected', '');
      pick.append(o);
    });
    pick.onchange = () => this.startGame(Number(pick.value));
    const kids: (Node | string)[] = [pick, h('div', { class: 'goal' }, sc.goal), h('div', { class: 'muted', id: 'play-count' }, `from ${sc.from} · ${sc.ncpu} CPUs · ${this.game.answers.length} choices made${this.game.decide ? ` · delays and preemptions on (${this.game.kinds.filter((k) => k !== 'cpu').length} answered)` : ''}`)];
    if (st.options !== null) {
      const q = st.kind === 'cpu' ? 'which ready CPU moves next'
        : st.kind === 'delay' ? `whether cpu${st.cpu} (${st.about}) goes on at this choice point or is delayed`
        : `whether a clock interrupt preempts the user burst starting on cpu${st.cpu}`;
      kids.push(h('div', { id: 'play-question', 'data-kind': st.kind }, `The engine must pick ${q} (tick ${st.rec.meta.ticks}):`));
      st.options.forEach((o, i) => {
        const b = h('button', { class: 'opt', 'data-answer': String(i) }, `${i < 9 ? `${i + 1}: ` : ''}${st.kind === 'cpu' ? `cpu${o.cpu} — ` : ''}${o.what}`);
        b.onclick = () => this.choose(i);
        kids.push(b);
      });
      kids.push(h('div', { class: 'muted' }, `u undo · a let the machine choose · r restart · c next challenge · d ${this.game.decide ? 'ask only CPUs' : 'also ask delays and preemptions'}`));
    } else {
      const r = st.result;
      kids.push(h('div', { id: 'play-outcome', class: st.won ? 'won' : '' },
        `The run ended: ${st.rec.meta.outcome}${r.panic ? ` (${r.panic.message})` : ''}. ${sc.won === undefined ? '' : st.won ? 'Challenge met!' : 'Not this time: undo (u) and try another order.'}`));
    }
    if (sc.hint && st.options !== null && this.game.answers.length > 3 && !st.won) kids.push(h('div', { class: 'muted' }, `hint: ${sc.hint}`));
    const why = h('div', { id: 'why' }, h('b', {}, 'Why each blocked LWP is blocked:'));
    if (st.why.length === 0) why.append(h('div', { class: 'muted' }, 'nothing is blocked'));
    for (const w of st.why) why.append(h('div', {}, w.text));
    kids.push(why);
    box.replaceChildren(...kids);
  }

  // --- input -----------------------------------------------------------------

  private toggleAxis(): void {
    this.ticks = !this.ticks;
    this.els.axisBtn!.textContent = `Axis: ${this.ticks ? 'ticks' : 'events'} (t)`;
    this.zoomAll();
    this.update();
  }

  private zoom(f: number, around: number): void {
    const end = this.axisEnd();
    let span = (this.v1 - this.v0) * f;
    span = Math.max(4, Math.min(end, span));
    const k = (around - this.v0) / (this.v1 - this.v0);
    this.v0 = Math.max(0, around - k * span);
    this.v1 = Math.min(end, this.v0 + span);
    this.v0 = Math.max(0, this.v1 - span);
    this.draw();
  }

  private click(e: MouseEvent): void {
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    const row = Math.floor((y - this.rowY(0)) / ROW_H);
    if (row >= 0 && row < this.idx.lwps.length) this.sel = row;
    if (x >= LABEL_W) {
      const u = this.unpx(x);
      this.setCursor(this.ticks ? this.cursorAtTick(u) : u);
    } else this.update();
  }

  /** What is under the mouse, as a tooltip: a marker, else the segment. */
  private hover(e: MouseEvent): string {
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    if (x < LABEL_W) return '';
    const idx = this.idx;
    const row = Math.floor((y - this.rowY(0)) / ROW_H);
    const cpu = Math.floor((y - RULER_H) / ROW_H);
    const u = this.unpx(x);
    const span = (s: Seg) => this.ticks ? `ticks ${s.ta}..${s.tb}` : `events ${s.a}..${s.b} (ticks ${s.ta}..${s.tb})`;
    if (row >= 0 && row < idx.lwps.length) {
      const r = idx.lwps[row]!;
      const near = idx.markers.find((m) => m.row === r.key && Math.abs(this.px(this.ux(Math.min(m.at + 1, idx.n))) - x) < 5);
      if (near !== undefined) return `${r.label}: ${near.text}`;
      const s = r.segs[RunIndex.firstAfter(r.segs, u, this.ticks)];
      if (s === undefined || (this.ticks ? s.ta : s.a) > u) return r.label;
      return `${r.label}: ${STATES[s.v]}${s.w ? ` on ${s.w}` : ''}, ${span(s)}`;
    }
    if (cpu >= 0 && cpu < idx.ncpu) {
      const segs = idx.cpuSegs[cpu]!;
      const s = segs[RunIndex.firstAfter(segs, u, this.ticks)];
      if (s === undefined) return `cpu${cpu}`;
      return `cpu${cpu}: ${s.v < 0 ? 'idle' : idx.lwps[s.v]!.label}, ${span(s)}`;
    }
    return '';
  }

  private cursorAtTick(t: number): number {
    let lo = 0;
    let hi = this.idx.n;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.idx.tickAt[mid]! <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private wheel(e: WheelEvent): void {
    e.preventDefault();
    const rect = this.canvas.getBoundingClientRect();
    if (e.shiftKey) {
      const d = (this.v1 - this.v0) * 0.1 * Math.sign(e.deltaY);
      const span = this.v1 - this.v0;
      this.v0 = Math.max(0, Math.min(this.axisEnd() - span, this.v0 + d));
      this.v1 = this.v0 + span;
      this.draw();
    } else this.zoom(e.deltaY > 0 ? 1.25 : 0.8, this.unpx(e.clientX - rect.left));
  }

  private key(e: KeyboardEvent): void {
    if ((e.target as HTMLElement).tagName === 'SELECT') return;
    const c = this.cursor;
    let handled = true;
    switch (e.key) {
      case 'ArrowRight': this.setCursor(e.shiftKey ? this.idx.tickStep(c, 1) : c + 1); break;
      case 'ArrowLeft': this.setCursor(e.shiftKey ? this.idx.tickStep(c, -1) : c - 1); break;
      case 'PageDown': this.setCursor(c + 50); break;
      case 'PageUp': this.setCursor(c - 50); break;
      case 'Home': this.setCursor(0); break;
      case 'End': this.setCursor(this.idx.n); break;
      case 'ArrowDown': this.sel = Math.min(this.idx.lwps.length - 1, this.sel + 1); this.update(); break;
      case 'ArrowUp': this.sel = Math.max(0, this.sel - 1); this.update(); break;
      case '+': case '=': this.zoom(0.5, this.ux(c)); break;
      case '-': this.zoom(2, this.ux(c)); break;
      case '0': this.zoomAll(); this.draw(); break;
      case 't': this.toggleAxis(); break;
      case 'p': this.setMode('play'); break;
      case 'v': this.setMode('view'); break;
      default:
        handled = this.mode === 'play' && this.playKey(e.key);
    }
    if (handled) e.preventDefault();
  }

  private playKey(k: string): boolean {
    if (/^[1-9]$/.test(k)) { this.choose(Number(k) - 1); return true; }
    if (k === 'u' || k === 'Backspace') { this.undo(); return true; }
    if (k === 'a') { this.auto(); return true; }
    if (k === 'd') { this.toggleDecide(); return true; }
    if (k === 'r') { this.restart(); return true; }
    if (k === 'c') { this.startGame((this.scenarioIndex + 1) % this.cfg.scenarios.length); return true; }
    return false;
  }
}

function describe(e: KEvent): string {
  const s = formatEvent(e);
  return e.type === 'sysret' && e.errno > 0 ? `${s} (${errnoName(e.errno)})` : s;
}

function ev1172(edge: [string, string]): boolean {
  return EDGES_1172.some(([a, b]) => a === edge[0] && b === edge[1]);
}

const NODE_POS: Record<string, [number, number]> = {
  RUN: [200, 28], ONPROC: [200, 112], IDL: [55, 112], SUSPENDED: [345, 28], ZOMB: [345, 112], SLEEP: [290, 197], STOP: [110, 197],
};
const SVGNS = 'http://www.w3.org/2000/svg';

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function arrowDefs(svg: SVGSVGElement): void {
  const defs = s('defs', {});
  for (const [id, col] of [['ah', '#999'], ['ahr', '#d00']] as const) {
    const m = s('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' });
    m.append(s('path', { d: 'M0,0 L10,5 L0,10 z', fill: col }));
    defs.append(m);
  }
  svg.append(defs);
}

/**
 * An edge between two boxes of half-size (hw, hh): a curve from box edge to
 * box edge, bent to its left, so that a -> b and b -> a do not overlap.
 */
function edgePath(a: [number, number], b: [number, number], hw: number, hh: number): string {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len = Math.hypot(dx, dy) || 1;
  const f = Math.min(hw / Math.max(1e-9, Math.abs(dx)), hh / Math.max(1e-9, Math.abs(dy))) + 4 / len;
  const bend = 14;
  const cx = (a[0] + b[0]) / 2 + (-dy / len) * bend;
  const cy = (a[1] + b[1]) / 2 + (dx / len) * bend;
  const x1 = a[0] + dx * f + (-dy / len) * 4;
  const y1 = a[1] + dy * f + (dx / len) * 4;
  const x2 = b[0] - dx * f + (-dy / len) * 4;
  const y2 = b[1] - dy * f + (dx / len) * 4;
  return `M${x1.toFixed(1)},${y1.toFixed(1)} Q${cx.toFixed(1)},${cy.toFixed(1)} ${x2.toFixed(1)},${y2.toFixed(1)}`;
}

function diagramSvg(state: string, edge: [string, string] | null): SVGSVGElement {
  const svg = s('svg', { width: 400, height: 225, id: 'diagram-svg' });
  arrowDefs(svg);
  const edges = [...EDGES_1172.map(([a, b]) => [a, b] as [string, string])];
  if (edge !== null && !ev1172(edge)) edges.push(edge);
  for (const [a, b] of edges) {
    const hot = edge !== null && edge[0] === a && edge[1] === b;
    svg.append(s('path', { d: edgePath(NODE_POS[a]!, NODE_POS[b]!, 40, 12), fill: 'none', stroke: hot ? '#d00' : '#bbb', 'stroke-width': hot ? 3 : 1.2, 'marker-end': `url(#${hot ? 'ahr' : 'ah'})`, 'data-edge': `${a}>${b}`, class: hot ? 'hot' : '' }));
  }
  for (const st of STATES) {
    const [x, y] = NODE_POS[st]!;
    const on = st === state;
    const g = s('g', { 'data-state': st, class: on ? 'on' : '' });
    g.append(s('rect', { x: x - 40, y: y - 12, width: 80, height: 24, rx: 5, fill: on ? STATE_COLOURS[st]! : '#fff', stroke: STATE_COLOURS[st]!, 'stroke-width': on ? 3 : 1.5 }));
    g.append(s('text', { x, y: y + 4, 'text-anchor': 'middle', fill: on ? '#fff' : '#333' }, st));
    svg.append(g);
  }
  return svg;
}

/** The wait-for graph: blocked LWPs on a circle, an arrow to each LWP it waits for, cycles in red. */
function waitForSvg(g: WaitForGraph): SVGSVGElement {
  const n = g.entries.length;
  const svg = s('svg', { width: 420, height: n === 0 ? 10 : 220, id: 'waitfor-svg' });
  if (n === 0) return svg;
  arrowDefs(svg);
  const pos = new Map<string, [number, number]>();
  g.entries.forEach((e, i) => {
    const a = (2 * Math.PI * i) / n - Math.PI / 2;
    pos.set(`${e.pid}.${e.lid}`, [210 + 150 * Math.cos(a), 110 + 80 * Math.sin(a)]);
  });
  const inCycle = new Set<string>();
  for (const c of g.cycles) for (let i = 0; i < c.length; i++) inCycle.add(`${c[i]!.pid}.${c[i]!.lid}>${c[(i + 1) % c.length]!.pid}.${c[(i + 1) % c.length]!.lid}`);
  for (const e of g.entries) {
    const from = `${e.pid}.${e.lid}`;
    for (const t of e.targets) {
      if (t.kind !== 'lwp') continue;
      const to = `${t.pid}.${t.lid}`;
      const p1 = pos.get(from)!;
      const p2 = pos.get(to) ?? [p1[0], p1[1] + 60];
      const hot = inCycle.has(`${from}>${to}`);
      svg.append(s('path', { d: edgePath(p1, p2, 44, 14), fill: 'none', stroke: hot ? '#d00' : '#888', 'stroke-width': hot ? 2.5 : 1.2, 'marker-end': `url(#${hot ? 'ahr' : 'ah'})`, 'data-edge': `${from}>${to}` }));
    }
  }
  for (const e of g.entries) {
    const [x, y] = pos.get(`${e.pid}.${e.lid}`)!;
    const grp = s('g', { 'data-lwp': `${e.pid}.${e.lid}` });
    grp.append(s('rect', { x: x - 44, y: y - 14, width: 88, height: 28, rx: 6, fill: '#fff', stroke: e.cycle >= 0 ? '#d00' : e.stuck ? '#333' : '#aaa', 'stroke-width': 1.5 }));
    grp.append(s('text', { x, y: y - 2, 'text-anchor': 'middle' }, `${e.pid}.${e.lid} ${e.name}`.trim()));
    grp.append(s('text', { x, y: y + 10, 'text-anchor': 'middle', fill: '#666' }, `${e.stat} ${e.on}`.slice(0, 18)));
    svg.append(grp);
  }
  if (g.cycles.length > 0) svg.append(s('text', { x: 4, y: 214, fill: '#d00' }, `cycle: ${cycleLabel(g.cycles[0]!)}`));
  return svg;
}

/** Start the page (the bundle's entry calls this). */
export function startPage(cfg: PageConfig): Promise<void> {
  return new Page(cfg).start();
}
