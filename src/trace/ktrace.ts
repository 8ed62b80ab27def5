/*
 * kdump-style text export: the system calls and context switches of a
 * recorded event stream, the way NetBSD's `kdump -T` prints a ktrace file.
 *
 * Contract:
 *  - One record a line, in stream order:
 *      "  PID  LID COMMAND  TIMESTAMP CALL  name(args)"
 *      "  PID  LID COMMAND  TIMESTAMP RET   name value"
 *      "  PID  LID COMMAND  TIMESTAMP RET   name -1 errno N ERRNAME"
 *      "  PID  LID COMMAND  TIMESTAMP CSW   stop|resume user|kernel"
 *    PID and LID right-aligned in 6 columns, COMMAND (the process name, at
 *    most 16 characters) left-aligned in 8, TIMESTAMP "secs.nanosecs"
 *    (tick t = t µs).
 *  - CALL/RET come from 'syscall'/'sysret'.  A value is printed as a
 *    number (with /0xhex when above 9, as kdump does), a function by name,
 *    anything else as compact JSON; a void return is 0.  ERESTART and
 *    EJUSTRETURN print as RESTART and JUSTRETURN.
 *  - CSW comes from 'switch': the LWP switched away gets "stop", kernel
 *    when it gave up the CPU itself (voluntary), user when preempted at the
 *    end of its slice; the LWP switched to gets "resume" in the mode it
 *    stopped in (kernel the first time).  Idle LWPs get no records.
 *  - opts.pids restricts the output to those processes (ktrace -p).
 */
import type { KEvent } from '../kern/events.ts';
import { EJUSTRETURN, ERESTART, errnoName } from '../kern/errno.ts';
import { cpusIn, idleCpuOf, lwpKey, Namer, type TraceNames } from './common.ts';

export interface KtraceOptions {
  /** Only these processes; default all but proc0. */
  pids?: readonly number[];
  /** Number of CPUs (to recognise idle LWPs); default: inferred. */
  ncpu?: number;
  /** Names the stream does not carry (see namesFromMachine). */
  names?: TraceNames;
}

/** "secs.nanosecs" of tick t (1 tick = 1 µs). */
export function ktraceTime(t: number): string {
  return `${Math.floor(t / 1e6)}.${String((t % 1e6) * 1000).padStart(9, '0')}`;
}

/** A system call argument or return value, kdump-like. */
export function ktraceValue(v: unknown): string {
  if (v === undefined || v === null) return '0';
  if (typeof v === 'number') return Number.isInteger(v) && v > 9 ? `${v}/0x${v.toString(16)}` : String(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'function') return v.name || '<fn>';
  try { return JSON.stringify(v) ?? String(v); } catch { return String(v); }
}

function argList(args: readonly unknown[]): string {
  let n = args.length;
  while (n > 0 && args[n - 1] === undefined) n--;
  return args.slice(0, n).map((a) => (typeof a === 'number' ? String(a) : ktraceValue(a))).join(',');
}

export function toKtrace(events: readonly KEvent[], opts: KtraceOptions = {}): string {
  const ncpu = opts.ncpu ?? cpusIn(events);
  const namer = new Namer(events, opts.names);
  const only = opts.pids === undefined ? null : new Set(opts.pids);
  const stoppedIn = new Map<string, 'user' | 'kernel'>();
  const lines: string[] = [];

  const wanted = (pid: number, lid: number) =>
    pid > 0 && idleCpuOf(pid, lid, ncpu) < 0 && (only === null || only.has(pid));
  const rec = (pid: number, lid: number, t: number, kind: string, text: string) => {
    const comm = namer.proc(pid).slice(0, 16);
    lines.push(`${String(pid).padStart(6)} ${String(lid).padStart(6)} ${comm.padEnd(8)} ${ktraceTime(t)} ${kind.padEnd(5)} ${text}`);
  };

  for (const e of events) {
    switch (e.type) {
      case 'syscall':
        if (wanted(e.pid, e.lid)) rec(e.pid, e.lid, e.t, 'CALL', `${e.name}(${argList(e.args)})`);
        break;
      case 'sysret': {
        if (!wanted(e.pid, e.lid)) break;
        let v: string;
        if (e.errno === 0) v = ktraceValue(e.ret);
        else if (e.errno === ERESTART) v = 'RESTART';
        else if (e.errno === EJUSTRETURN) v = 'JUSTRETURN';
        else v = `-1 errno ${e.errno} ${errnoName(e.errno)}`;
        rec(e.pid, e.lid, e.t, 'RET', `${e.name} ${v}`);
        break;
      }
      case 'switch': {
        if (e.pid === e.toPid && e.lid === e.toLid) break;
        const mode = e.voluntary ? 'kernel' : 'user';
        stoppedIn.set(lwpKey(e.pid, e.lid), mode);
        if (wanted(e.pid, e.lid)) rec(e.pid, e.lid, e.t, 'CSW', `stop ${mode}`);
        if (wanted(e.toPid, e.toLid)) rec(e.toPid, e.toLid, e.t, 'CSW', `resume ${stoppedIn.get(lwpKey(e.toPid, e.toLid)) ?? 'kernel'}`);
        break;
      }
      default:
        break;
    }
  }
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}
