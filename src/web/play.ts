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
import type { Chooser } from '../engine/chooser.ts';
import { formatEvent, type KEvent } from '../kern/events.ts';
import { SeededChooser } from '../engine/chooser.ts';
import type { Cpu } from '../engine/engine.ts';
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

class AskChooser implements Chooser {
  private i = 0;
  asked = false;
  constructor(private readonly answers: readonly number[]) {}
  choose(n: number): number {
    if (this.i < this.answers.length) {
      const c = this.answers[this.i++]!;
      if (c < 0 || c >= n) throw new Error(`answer ${c} does not fit a choice among ${n}`);
      return c;
    }
    this.asked = true;
    throw PAUSE;
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

/** The engine's ready CPUs, in the order its chooser indexes them. */
function readyCpus(m: Machine): readonly Cpu[] {
  // Engine keeps this private; reading it is the only way to name the options.
  return (m.engine as unknown as { ready: Cpu[] }).ready;
}

export class Game {
  answers: number[] = [];
  private cached: PlayState | null = null;
  constructor(readonly scenario: Scenario, readonly seed = 1) {}

  state(): PlayState {
    if (this.cached !== null) return this.cached;
    const sc = this.scenario;
    const ask = new AskChooser(this.answers);
    const m = new Machine({ ncpu: sc.ncpu, seed: this.seed, chooser: ask, record: true });
    const recorder = new Recorder(m);
    m.spawn(sc.program, { name: sc.id });
    const { rec, result } = recorder.run({ program: sc.id, seed: this.seed });
    let options: Option[] | null = null;
    if (ask.asked) {
      // Drop the pause's panic event and the frame it made.
      const ev = rec.events;
      if (ev.length > 0 && ev[ev.length - 1]!.type === 'panic') ev.pop();
      const fr = rec.frames;
      if (fr.length > 1 && fr[fr.length - 1]!.e > ev.length) fr.pop();
      rec.meta.outcome = 'limit';
      delete rec.meta.panic;
      options = readyCpus(m).map((cpu, answer) => {
        const l = m.kernel.cpus[cpu.index]!.curlwp;
        const idle = l.proc.pid === 0 && l.lid <= sc.ncpu;
        if (idle) return { answer, cpu: cpu.index, what: 'idle' };
        const d = doing(ev, l.proc.pid, l.lid);
        return { answer, cpu: cpu.index, what: `${l.proc.pid}.${l.lid}${l.name ? ` ${l.name}` : ''}${d ? `, ${d}` : ''}` };
      });
    }
    const waitFor = waitForGraph(m);
    const why: Why[] = waitFor.entries.map((e) => ({ key: `${e.pid}.${e.lid}`, stat: e.stat, stuck: e.stuck, text: whyText(e) }));
    const won = options === null && sc.won !== undefined && sc.won(rec);
    this.cached = { rec, options, why, waitFor, result, won };
    return this.cached;
  }

  /** Answer the pending choice. */
  choose(answer: number): void {
    const o = this.state().options;
    if (o === null) throw new Error('the run has ended: nothing to choose');
    if (!Number.isInteger(answer) || answer < 0 || answer >= o.length) throw new RangeError(`no option ${answer} (there are ${o.length})`);
    this.answers.push(answer);
    this.cached = null;
  }

  /** Let the seeded chooser answer the pending choice. */
  auto(): void {
    const o = this.state().options;
    if (o === null) return;
    const s = new SeededChooser(this.seed * 7919 + this.answers.length);
    this.choose(s.choose(o.length));
  }

  undo(): void {
    if (this.answers.length === 0) return;
    this.answers.pop();
    this.cached = null;
  }

  reset(): void {
    this.answers = [];
    this.cached = null;
  }
}
