/*
 * Linux ftrace text export: the recorded event stream as the 'nop'
 * tracer's trace file, which Perfetto's systrace/ftrace text importer and
 * other sched viewers read.
 *
 * Contract:
 *  - Output: the `# tracer: nop` header, then one line per scheduling
 *    event, in stream order (so timestamps never decrease):
 *      <comm>-<tid> (<tgid>) [<cpu:03d>] d..3 <secs>.<usecs:06d>: <event>: <args>
 *    matching Perfetto's SystraceLineTokenizer grammar
 *      -(\d+)\s+\(?\s*(\d+|-+)?\)?\s?\[(\d+)\]\s*[a-zA-Z0-9.]{0,4}\s+(\d+\.\d+):\s+(\S+):
 *    (the "(tgid)" column is left out with { tgid: false }).  Arguments are
 *    space-separated key=value pairs, so a comm never holds a space or
 *    '=': those become '_', and it is cut to 15 characters (TASK_COMM_LEN).
 *  - Events: sched_switch (from 'switch'), sched_waking (from 'wakeup'),
 *    sched_wakeup_new (from IDL->RUN), sched_process_exit (from ->ZOMB).
 *  - Ids: an LWP is tid pid*1000+lid (TidMap), tgid its pid; CPU i's idle
 *    LWP is tid 0 named swapper/i with tgid '-------'.  Tick t is t µs.
 *  - prev_state of a switch: the LWP's state when it switched: RUN is R
 *    (R+ when preempted), SLEEP S, STOP and SUSPENDED T, ZOMB Z.  Every
 *    prio is 120: the stream carries no priorities.
 *  - A line is written on the CPU the event happened on; interrupt-context
 *    wakeups (cpu -1) on the CPU the wakee last ran on, as the task current
 *    there.
 */
import type { KEvent, StatName } from '../kern/events.ts';
import { cpusIn, idleCpuOf, lwpKey, Namer, TidMap, type TraceNames } from './common.ts';

export interface FtraceOptions {
  /** Number of CPUs; default: inferred from the events. */
  ncpu?: number;
  /** Names the stream does not carry (see namesFromMachine). */
  names?: TraceNames;
  /** Write the "(tgid)" column (record-tgid).  Default true. */
  tgid?: boolean;
}

const PRIO = 120;

/** A comm as ftrace prints it: no spaces or '=', at most 15 characters. */
export function ftraceComm(name: string): string {
  const c = name.replace(/[\s=]/g, '_').slice(0, 15);
  return c === '' ? '<...>' : c;
}

/** "secs.usecs" of tick t (1 tick = 1 µs). */
export function ftraceTime(t: number): string {
  return `${Math.floor(t / 1e6)}.${String(t % 1e6).padStart(6, '0')}`;
}

export function toFtrace(events: readonly KEvent[], opts: FtraceOptions = {}): string {
  const w = new FtraceWriter(events, opts);
  for (const e of events) w.event(e);
  return [...w.header(), ...w.lines].join('\n') + '\n';
}

interface Task { tid: number; tgid: string; comm: string }

/** One export: what each CPU runs, each LWP's last state and CPU, and the lines written so far. */
class FtraceWriter {
  readonly ncpu: number;
  readonly lines: string[] = [];
  private readonly namer: Namer;
  private readonly tids = new TidMap();
  private readonly withTgid: boolean;
  private readonly cur: { pid: number; lid: number }[] = [];
  private readonly stat = new Map<string, StatName>();
  private readonly lastCpu = new Map<string, number>();

  constructor(events: readonly KEvent[], opts: FtraceOptions) {
    this.ncpu = opts.ncpu ?? cpusIn(events);
    this.namer = new Namer(events, opts.names);
    this.withTgid = opts.tgid ?? true;
    for (let c = 0; c < this.ncpu; c++) this.cur.push({ pid: 0, lid: c + 1 });
  }

  private task(pid: number, lid: number): Task {
    const idle = idleCpuOf(pid, lid, this.ncpu);
    if (idle >= 0) return { tid: 0, tgid: '-------', comm: `swapper/${idle}` };
    return { tid: this.tids.tid(pid, lid), tgid: String(pid), comm: ftraceComm(this.namer.lwp(pid, lid) ?? this.namer.proc(pid)) };
  }

  private running(cpu: number): Task {
    return this.task(this.cur[cpu]!.pid, this.cur[cpu]!.lid);
  }

  private line(who: Task, cpu: number, t: number, event: string, args: string): void {
    const tg = this.withTgid ? ` (${who.tgid.padStart(7)})` : '';
    this.lines.push(`${who.comm.padStart(16)}-${String(who.tid).padEnd(7)}${tg} [${String(cpu).padStart(3, '0')}] d..3 ${ftraceTime(t)}: ${event}: ${args}`);
  }

  /** A switch's prev_state: the state the LWP switched away in. */
  private prevState(pid: number, lid: number, voluntary: boolean): string {
    if (idleCpuOf(pid, lid, this.ncpu) >= 0) return 'R';
    switch (this.stat.get(lwpKey(pid, lid))) {
      case 'SLEEP': return 'S';
      case 'STOP': case 'SUSPENDED': return 'T';
      case 'ZOMB': return 'Z';
      default: return voluntary ? 'R' : 'R+';
    }
  }

  event(e: KEvent): void {
    switch (e.type) {
      case 'state': this.onState(e); break;
      case 'wakeup': this.onWakeup(e); break;
      case 'switch': this.onSwitch(e); break;
      default: break;
    }
  }

  /** IDL -> RUN is sched_wakeup_new, -> ZOMB sched_process_exit. */
  private onState(e: KEvent & { type: 'state' }): void {
    const key = lwpKey(e.pid, e.lid);
    this.stat.set(key, e.to);
    if (e.to === 'ONPROC' && e.cpu >= 0) this.lastCpu.set(key, e.cpu);
    if (e.from === 'IDL' && e.to === 'RUN') {
      const cpu = e.cpu >= 0 ? e.cpu : 0;
      const w = this.task(e.pid, e.lid);
      this.line(this.running(cpu), cpu, e.t, 'sched_wakeup_new', `comm=${w.comm} pid=${w.tid} prio=${PRIO} target_cpu=${String(cpu).padStart(3, '0')}`);
      this.lastCpu.set(key, cpu);
    } else if (e.to === 'ZOMB') {
      const cpu = e.cpu >= 0 ? e.cpu : this.lastCpu.get(key) ?? 0;
      const w = this.task(e.pid, e.lid);
      this.line(w, cpu, e.t, 'sched_process_exit', `comm=${w.comm} pid=${w.tid} prio=${PRIO}`);
    }
  }

  private onWakeup(e: KEvent & { type: 'wakeup' }): void {
    const target = this.lastCpu.get(lwpKey(e.pid, e.lid)) ?? (e.cpu >= 0 ? e.cpu : 0);
    const cpu = e.cpu >= 0 ? e.cpu : target;
    const w = this.task(e.pid, e.lid);
    this.line(this.running(cpu), cpu, e.t, 'sched_waking', `comm=${w.comm} pid=${w.tid} prio=${PRIO} target_cpu=${String(target).padStart(3, '0')}`);
  }

  private onSwitch(e: KEvent & { type: 'switch' }): void {
    if (e.cpu < 0 || e.cpu >= this.ncpu) return;
    const prev = this.task(e.pid, e.lid);
    const next = this.task(e.toPid, e.toLid);
    this.line(prev, e.cpu, e.t, 'sched_switch',
      `prev_comm=${prev.comm} prev_pid=${prev.tid} prev_prio=${PRIO} prev_state=${this.prevState(e.pid, e.lid, e.voluntary)} ==> ` +
      `next_comm=${next.comm} next_pid=${next.tid} next_prio=${PRIO}`);
    this.cur[e.cpu] = { pid: e.toPid, lid: e.toLid };
    this.lastCpu.set(lwpKey(e.toPid, e.toLid), e.cpu);
  }

  /** The nop tracer's header. */
  header(): string[] {
    const n = this.lines.length;
    return [
      '# tracer: nop',
      '#',
      `# entries-in-buffer/entries-written: ${n}/${n}   #P:${this.ncpu}`,
      '#',
      '#                                _-----=> irqs-off',
      '#                               / _----=> need-resched',
      '#                              | / _---=> hardirq/softirq',
      '#                              || / _--=> preempt-depth',
      '#                              ||| /     delay',
      this.withTgid
        ? '#           TASK-PID    TGID   CPU#  ||||    TIMESTAMP  FUNCTION'
        : '#           TASK-PID   CPU#  ||||    TIMESTAMP  FUNCTION',
      this.withTgid
        ? '#              | |        |      |   ||||       |         |'
        : '#              | |       |   ||||       |         |',
    ];
  }
}
