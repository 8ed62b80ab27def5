/*
 * "Be the scheduler": a Machine run in the page, where the person answers
 * every choice the engine would ask its chooser (which ready CPU moves
 * next).
 *
 * How: the engine's Chooser.choose is synchronous, so a game keeps the
 * answers given so far and replays them on a fresh machine; at the first
 * choice beyond them the chooser throws a private sentinel, which stops
 * the run between two steps (Machine.run turns the throw into a panic
 * result whose cause is the sentinel; that machine is thrown away after
 * it has been read).  Undo drops the last answer and replays again.  The
 * run is deterministic, so a replay reaches exactly the same state.
 *
 * Contract: pure model code (no DOM, no Node).  Game.state() is the state
 * after the answers so far: the recording of the run up to the pending
 * choice, the options of that choice (null once the run has ended), why
 * each blocked LWP is blocked (from waitForGraph of that machine), and
 * whether the scenario's goal is met.
 */
import type { Chooser, DecisionKind } from '../engine/chooser.ts';
import { formatEvent, type KEvent } from '../kern/events.ts';
import { SeededChooser } from '../engine/chooser.ts';
import { DELAY_TICKS } from '../engine/engine.ts';
import { Machine, type RunResult } from '../machine.ts';
import type { ProgramFn } from '../sys/sys.ts';
import { Recorder, type Recording } from '../trace/record.ts';
import { waitForGraph, waitsFor, type WaitForEntry, type WaitForGraph } from '../report/waitfor.ts';

export interface Scenario {
  id: string;
  title: string;
  /** What the person is asked to make happen. */
  goal: string;
  /** Where the program comes from (an example, the user's file). */
  from: string;
  ncpu: number;
  program: ProgramFn;
  /** The goal, read off the recording of a finished run (none: free play). */
  won?: (rec: Recording) => boolean;
  hint?: string;
}

export interface Option {
  /** The chooser's answer for this option. */
  answer: number;
  cpu: number;
  /** What is on that CPU: "1.2 t1" or "idle". */
  what: string;
}

export interface Why { key: string; stat: string; text: string; stuck: boolean }

export interface PlayState {
  rec: Recording;
  /** What the pending decision is about: which CPU moves ('cpu'), or a delay or preemption on CPU `cpu`. */
  kind: AskedKind;
  cpu: number;
  /** What is on that CPU ('' for a 'cpu' decision). */
  about: string;
  /** The pending choice's options, in answer order; null when the run has ended. */
  options: Option[] | null;
  why: Why[];
  waitFor: WaitForGraph;
  result: RunResult;
  won: boolean;
}

/** One sentence: what the LWP is blocked in, and who could end it. */
export function whyText(e: WaitForEntry): string {
  const id = `${e.pid}.${e.lid}${e.name ? ` ${e.name}` : ''}`;
  const who = waitsFor(e);
  const what = e.stat === 'SLEEP' ? `${id} sleeps on ${e.on} in ${e.how}; only ${who} can end that`
    : e.stat === 'ONPROC' ? `${id} spins on ${e.on} in ${e.how}, held by ${who}`
    : `${id} is ${e.stat}${e.on && e.on !== '-' ? ` on ${e.on}` : ''}; it needs ${e.how} from ${who}`;
  return e.stuck ? `${what}, and that cannot move: stuck` : what;
}

const PAUSE = Symbol('lwpkit play: pause at the next choice');

/** The kinds the person answers in a deciding game; jitter is always answered 0 (as given). */
export type AskedKind = Exclude<DecisionKind, 'jitter'>;

/** The labels of a delay or preempt decision's options (engine.ts's decision space), in answer order. */
export const DECISION_LABELS: Record<'delay' | 'preempt', readonly string[]> = {
  delay: ['go on', 'hold back (until another CPU reaches a choice point)', ...DELAY_TICKS.map((t) => `stall ${t} ticks`)],
  preempt: ['no clock tick in this burst', 'clock tick after 1 tick', 'clock tick halfway'],
};

class AskChooser implements Chooser {
  protected i = 0;
  asked = false;
  /** The pending decision: its kind and the CPU it is about (-1 for 'cpu'). */
  kind: AskedKind = 'cpu';
  cpu = -1;
  n = 0;
  constructor(protected readonly answers: readonly number[]) {}
  choose(n: number): number { return this.ask('cpu', n, -1); }
  protected ask(kind: AskedKind, n: number, cpu: number): number {
    if (this.i < this.answers.length) {
      const c = this.answers[this.i++]!;
      if (c < 0 || c >= n) throw new Error(`answer ${c} does not fit a choice among ${n}`);
      return c;
    }
    this.asked = true;
    this.kind = kind;
    this.cpu = cpu;
    this.n = n;
    throw PAUSE;
  }
}

/** Also answers the exploration decisions: the engine asks it delays and preemptions too. */
class AskDecider extends AskChooser {
  decide(kind: DecisionKind, n: number, cpu: number): number {
    return kind === 'jitter' ? 0 : this.ask(kind, n, cpu);
  }
}

/** What an LWP is doing, from its last system call events: "in _lwp_wait(2)", "in user code", or ''. */
export function doing(ev: readonly KEvent[], pid: number, lid: number): string {
  for (let i = ev.length - 1; i >= 0; i--) {
    const e = ev[i]!;
    if (e.pid !== pid || e.lid !== lid) continue;
    if (e.type === 'sysret') return 'in user code';
    if (e.type === 'syscall') return `in ${formatEvent(e).replace(/^.*? CALL /, '')}`;
  }
  return '';
}

export class Game {
  answers: number[] = [];
  /** The kind of each answer, in order. */
  kinds: AskedKind[] = [];
  /** True: the person also answers delays and preemptions (a deciding chooser); change it with setDecide. */
  decide = false;
  private cached: PlayState | null = null;
  constructor(readonly scenario: Scenario, readonly seed = 1) {}

  state(): PlayState {
    if (this.cached !== null) return this.cached;
    const sc = this.scenario;
    const ask = this.decide ? new AskDecider(this.answers) : new AskChooser(this.answers);
    const m = new Machine({ ncpu: sc.ncpu, seed: this.seed, chooser: ask, record: true });
    const recorder = new Recorder(m);
    m.spawn(sc.program, { name: sc.id });
    const { rec, result } = recorder.run({ program: sc.id, seed: this.seed });
    let options: Option[] | null = null;
    let about = '';
    if (ask.asked) {
      // Drop the pause's panic event and the frame it made.
      const ev = rec.events;
      if (ev.length > 0 && ev[ev.length - 1]!.type === 'panic') ev.pop();
      const fr = rec.frames;
      if (fr.length > 1 && fr[fr.length - 1]!.e > ev.length) fr.pop();
      rec.meta.outcome = 'limit';
      delete rec.meta.panic;
      options = ask.kind === 'cpu' ? m.engine.readyCpus().map((cpu, answer) => ({ answer, cpu: cpu.index, what: this.onCpu(m, ev, cpu.index) }))
        : DECISION_LABELS[ask.kind].slice(0, ask.n).map((what, answer) => ({ answer, cpu: ask.cpu, what }));
      if (ask.kind !== 'cpu') about = this.onCpu(m, ev, ask.cpu);
    }
    const waitFor = waitForGraph(m);
    const why: Why[] = waitFor.entries.map((e) => ({ key: `${e.pid}.${e.lid}`, stat: e.stat, stuck: e.stuck, text: whyText(e) }));
    const won = options === null && sc.won !== undefined && sc.won(rec);
    this.cached = { rec, kind: ask.kind, cpu: ask.cpu, about, options, why, waitFor, result, won };
    return this.cached;
  }

  /** What is on a CPU: "1.2 t1, in _lwp_wait(2)" or "idle". */
  onCpu(m: Machine, ev: readonly KEvent[], cpu: number): string {
    const l = m.kernel.cpus[cpu]!.curlwp;
    if (l.proc.pid === 0 && l.lid <= this.scenario.ncpu) return 'idle';
    const d = doing(ev, l.proc.pid, l.lid);
    return `${l.proc.pid}.${l.lid}${l.name ? ` ${l.name}` : ''}${d ? `, ${d}` : ''}`;
  }

  /** Turn delays and preemptions on or off: the engine then asks other decisions, so the game restarts. */
  setDecide(on: boolean): void {
    if (on === this.decide) return;
    this.decide = on;
    this.reset();
  }

  /** Answer the pending choice. */
  choose(answer: number): void {
    const o = this.state().options;
    if (o === null) throw new Error('the run has ended: nothing to choose');
    if (!Number.isInteger(answer) || answer < 0 || answer >= o.length) throw new RangeError(`no option ${answer} (there are ${o.length})`);
    this.kinds.push(this.state().kind);
    this.answers.push(answer);
    this.cached = null;
  }

  /** Let the seeded chooser answer the pending choice. */
  auto(): void {
    const o = this.state().options;
    if (o === null) return;
    // A delay or preemption: what the default hardware does (option 0).
    if (this.state().kind !== 'cpu') { this.choose(0); return; }
    const s = new SeededChooser(this.seed * 7919 + this.answers.length);
    this.choose(s.choose(o.length));
  }

  undo(): void {
    if (this.answers.length === 0) return;
    this.answers.pop();
    this.kinds.pop();
    this.cached = null;
  }

  reset(): void {
    this.answers = [];
    this.kinds = [];
    this.cached = null;
  }
}
