/*
 * The kernel's event stream: one typed event per kernel action.
 *
 * Every event carries the virtual time `t`, the CPU it happened on (-1 for
 * interrupt context between steps), and the pid/lid of the LWP it is about.
 * Events are only built when someone listens (Kernel.tracing), so recording
 * costs nothing otherwise.
 */
/** State names, as ps and the events use them. */
export type StatName = 'IDL' | 'RUN' | 'ONPROC' | 'SLEEP' | 'STOP' | 'SUSPENDED' | 'ZOMB';

interface Base { t: number; cpu: number; pid: number; lid: number }

export type KEvent =
  | (Base & { type: 'state'; from: StatName; to: StatName; why: string; wchan?: string; /** for to === 'RUN': the CPU whose run queue it joins */ runqCpu?: number })
  | (Base & { type: 'switch'; toPid: number; toLid: number; voluntary: boolean })
  | (Base & { type: 'wakeup'; wakerPid: number; wakerLid: number })
  | (Base & { type: 'create'; newPid: number; newLid: number; flags: number; name: string | null })
  | (Base & { type: 'exit' })
  | (Base & { type: 'free'; freedPid: number; freedLid: number })
  | (Base & { type: 'contention'; lock: string })
  | (Base & { type: 'ipi'; target: number; why: string })
  | (Base & { type: 'syscall'; name: string; args: unknown[] })
  | (Base & { type: 'sysret'; name: string; errno: number; ret?: unknown })
  | (Base & { type: 'proc'; what: 'spawn' | 'exit' | 'zombie' | 'reap' | 'fault' | 'stop' | 'continue' | 'core' | 'exec'; detail: string })
  | (Base & { type: 'signal'; what: 'post' | 'deliver'; sig: number; targetPid: number; targetLid: number })
  | (Base & { type: 'panic'; message: string })
  | (Base & { type: 'kse'; what: 'upcall' | 'loan' | 'assign' | 'steal' | 'idle' | 'return' | 'create' | 'exit' | 'export' | 'mode'; kse: number; kg: number; detail: string });

export type KEventType = KEvent['type'];
/** An event without its header (t, cpu, pid, lid): what Kernel.emitFor and emitAt complete. */
export type KEventBody = KEvent extends infer E ? (E extends KEvent ? Omit<E, keyof Base> : never) : never;
export type Listener = (e: KEvent) => void;

/** Fixed-size ring of the most recent events, for panic reports. */
export class EventRing {
  /** Made at the first push: a machine that never traces never needs it. */
  private buf: (KEvent | undefined)[] | null = null;
  private i = 0;
  constructor(readonly size: number) {}
  push(e: KEvent): void {
    const buf = (this.buf ??= new Array<KEvent | undefined>(this.size));
    buf[this.i] = e;
    this.i = (this.i + 1) % this.size;
  }
  last(n = this.size): KEvent[] {
    const out: KEvent[] = [];
    const buf = this.buf;
    if (buf === null) return out;
    for (let k = 0; k < this.size; k++) {
      const e = buf[(this.i + k) % this.size];
      if (e !== undefined) out.push(e);
    }
    return out.slice(-n);
  }
}

/** One line per event, the way a trace viewer's text mode shows it. */
export function formatEvent(e: KEvent): string {
  const head = `${String(e.t).padStart(8)} cpu${e.cpu < 0 ? '-' : e.cpu} ${e.pid}.${e.lid}`;
  switch (e.type) {
    case 'state': return `${head} state ${e.from}->${e.to} (${e.why}${e.wchan ? ` on ${e.wchan}` : ''})`;
    case 'switch': return `${head} switch to ${e.toPid}.${e.toLid}${e.voluntary ? '' : ' (preempted)'}`;
    case 'wakeup': return `${head} woken by ${e.wakerPid}.${e.wakerLid}`;
    case 'create': return `${head} created lwp ${e.newPid}.${e.newLid}${e.name ? ` (${e.name})` : ''} flags=${e.flags.toString(16)}`;
    case 'exit': return `${head} lwp exit`;
    case 'free': return `${head} freed lwp ${e.freedPid}.${e.freedLid}`;
    case 'contention': return `${head} contention on ${e.lock}`;
    case 'ipi': return `${head} ipi to cpu${e.target} (${e.why})`;
    case 'syscall': return `${head} CALL ${e.name}(${trimArgs(e.args).map(fmtArg).join(', ')})`;
    case 'sysret': return `${head} RET ${e.name} ${e.errno === 0 ? fmtArg(e.ret) : `errno ${e.errno}`}`;
    case 'proc': return `${head} proc ${e.what} ${e.detail}`;
    case 'panic': return `${head} PANIC ${e.message}`;
    case 'kse': return `${head} kse ${e.what} kse ${e.kg}.${e.kse}${e.detail ? ` (${e.detail})` : ''}`;
    case 'signal': return `${head} signal ${e.sig} ${e.what === 'post' ? `posted to ${e.targetPid}${e.targetLid ? `.${e.targetLid}` : ''}` : 'delivered'}`;
  }
}

function trimArgs(a: unknown[]): unknown[] {
  let n = a.length;
  while (n > 0 && a[n - 1] === undefined) n--;
  return a.slice(0, n);
}

function fmtArg(a: unknown): string {
  if (typeof a === 'function') return a.name || '<fn>';
  if (a === undefined) return '';
  try { return JSON.stringify(a) ?? String(a); } catch { return String(a); }
}
