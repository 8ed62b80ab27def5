/*
 * KSE, as a report: a snapshot of a process's ksegrps and KSEs (m.kse,
 * show proc, show lwp, ps).  Reads only.
 */
import type { Lwp } from '../kern/h/lwp.ts';
import type { Proc } from '../kern/h/proc.ts';
import {
  KEF_ASTPENDING, KEF_EXIT, KES_NAMES, TDF_INMSLEEP, TDF_UNBOUND, TDF_UPCALLING, TDI_LOAN,
  type Kse, type KseMailbox, type KseThread,
} from '../kern/h/kse.ts';

export interface KseInfo {
  id: number;
  state: (typeof KES_NAMES)[number];
  /** ke_mailbox: the user's kse_mailbox object. */
  mailbox: KseMailbox | null;
  /** ke_thread: the thread using it, "pid.lid". */
  thread: string | null;
  /** ke_bound: the owner that lent it out. */
  bound: string | null;
  flags: string[];
}

export interface KsegrpInfo {
  id: number;
  numthreads: number;
  kses: number;
  idleKses: number;
  runnable: number;
  loanKses: number;
  runqKses: number;
  threads: string[];
  /** kg_runq, best first; those up to lastAssigned hold a KSE. */
  runq: string[];
  lastAssigned: string | null;
  /** Mailboxes on kg_completed, not yet handed to an upcall. */
  completed: number;
  kseq: KseInfo[];
}

export interface KseSnapshot {
  pid: number;
  /** P_KSES. */
  kses: boolean;
  ksegrps: KsegrpInfo[];
}

const label = (l: Lwp | null): string | null => (l === null ? null : `${l.proc.pid}.${l.lid}`);

function kseFlags(ke: Kse): string[] {
  const f: string[] = [];
  if ((ke.flags & KEF_EXIT) !== 0) f.push('KEF_EXIT');
  if ((ke.flags & KEF_ASTPENDING) !== 0) f.push('KEF_ASTPENDING');
  return f;
}

/** The td_flags of a KSE thread, by name. */
export function kseThreadFlags(kt: KseThread): string[] {
  const f: string[] = [];
  if ((kt.flags & TDF_UNBOUND) !== 0) f.push('TDF_UNBOUND');
  if ((kt.flags & TDF_UPCALLING) !== 0) f.push('TDF_UPCALLING');
  if ((kt.flags & TDF_INMSLEEP) !== 0) f.push('TDF_INMSLEEP');
  if ((kt.flags & TDI_LOAN) !== 0) f.push('LOAN');
  return f;
}

/** p's KSE state, or null when p is not in KSE mode. */
export function kseSnapshot(p: Proc): KseSnapshot | null {
  const kp = p.kse;
  if (kp === null) return null;
  return {
    pid: p.pid,
    kses: kp.kses,
    ksegrps: kp.ksegrps.map((kg) => {
      let completed = 0;
      for (let m = kg.completed; m !== null; m = m.next) completed++;
      return {
        id: kg.id, numthreads: kg.numthreads, kses: kg.kses, idleKses: kg.idleKses, runnable: kg.runnable,
        loanKses: kg.loanKses, runqKses: kg.runqKses,
        threads: kg.threads.map((l) => label(l)!), runq: kg.runq.map((l) => label(l)!),
        lastAssigned: label(kg.lastAssigned), completed,
        kseq: kg.kseq.map((ke) => ({
          id: ke.id, state: KES_NAMES[ke.state], mailbox: ke.mailbox, thread: label(ke.thread), bound: label(ke.bound), flags: kseFlags(ke),
        })),
      };
    }),
  };
}

/** One line per ksegrp and KSE, for show proc. */
export function kseText(p: Proc): string {
  const s = kseSnapshot(p);
  if (s === null) return '- (not in KSE mode)';
  const out: string[] = [`P_KSES ${s.kses ? 'set' : 'clear'}, ${s.ksegrps.length} ksegrp(s)`];
  for (const g of s.ksegrps) {
    out.push(`ksegrp ${g.id}: threads ${g.numthreads} [${g.threads.join(' ')}], kses ${g.kses}, idle ${g.idleKses}, loaned ${g.loanKses}, ` +
      `runnable ${g.runnable}, on runq ${g.runqKses}, kg_runq [${g.runq.join(' ')}] last assigned ${g.lastAssigned ?? '-'}, completed ${g.completed}`);
    for (const k of g.kseq) {
      out.push(`  kse ${g.id}.${k.id}: ${k.state}, thread ${k.thread ?? '-'}, owner ${k.bound ?? '-'}, mailbox ${k.mailbox === null ? 'none' : 'set'}${k.flags.length ? `, ${k.flags.join('|')}` : ''}`);
    }
  }
  return out.join('\n      ');
}

/** The KSE part of show lwp. */
export function kseThreadText(kt: KseThread | null): string {
  if (kt === null) return '-';
  const ke = kt.kse;
  return `ksegrp ${kt.ksegrp.id}, kse ${ke === null ? '-' : `${ke.ksegrp.id}.${ke.id}`}, ${kseThreadFlags(kt).join('|') || 'bound'}, ` +
    `mailbox ${kt.mailbox === null ? 'none' : 'set'}, standin ${kt.standin === null ? 'none' : 'ready'}`;
}
