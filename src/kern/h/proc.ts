/* struct proc (sys/proc.h): a process's fields; exit.ts, sig.ts, single.ts and lwp.ts act on them. */
import { SACTIVE, type ProcStat } from '../param.ts';
import type { Kernel } from './kernel.ts';
import type { Lwp } from './lwp.ts';
import type { LcProc } from './lwpctl.ts';
import { CondVar, KMutex } from './mutex.ts';
import type { ParkChans } from './park.ts';
import type { Cred, Rlimit } from './resource.ts';
import { ProcSig } from './signal.ts';
import { SingleState } from './single.ts';
import type { KseProc } from './kse.ts';

export class Proc {
  stat: ProcStat = SACTIVE;
  sflag = 0;
  readonly lock: KMutex;
  /** LWPs, newest first (the seed inserts at the head of p_lwps). */
  lwps: Lwp | null = null;
  readonly lidMap = new Map<number, Lwp>();
  nlwps = 0;
  nrlwps = 0;
  nzlwps = 0;
  ndlwps = 0;
  nlwpwait = 0;
  nlwpid = 0;
  zomblwp: Lwp | null = null;
  readonly lwpcv = new CondVar('lwpwait');
  /** Children's exits are broadcast here (p_waitcv). */
  readonly waitcv = new CondVar('wait');
  readonly children = new Set<Proc>();
  /** Exit status (p_xstat) and how the process ended. */
  xstat = 0;
  termsig = 0;
  fault: string | null = null;
  /** What the faulting LWP threw, for the CLI to say where (its stack). */
  faultError: unknown = undefined;
  /** Run time and switch counts folded in from freed LWPs. */
  rtime = 0;
  nvcsw = 0;
  nivcsw = 0;
  /** The last LWP, kept for the parent to free at reap time. */
  lastlwp: Lwp | null = null;
  /** Collected by its parent (proc_free ran); only this record is left. */
  reaped = false;
  /** Signal dispositions, pending set, stop state (sig.ts); p.lock. */
  readonly sig = new ProcSig();
  /** Single-threading (single.ts); p.lock. */
  readonly st = new SingleState();
  /** p_cred: the credentials (p.lock); LWPs cache them in l.cred. */
  cred: Cred;
  /** p_limit: resource limits, shared with the parent until changed; null = limit0 (resource.ts). */
  rlimit: readonly Rlimit[] | null;
  /** p_lwpctl: the process's lwpctl area, once an LWP called _lwp_ctl (lwpctl.ts). */
  lwpctl: LcProc | null = null;
  /** _lwp_park wait channels, by hint; null until the first park or unpark (park.ts). */
  park: ParkChans | null = null;
  /** chglwpcnt charges this process carries, all on p.cred's uid (resource.ts). */
  lwpCharges = 0;
  /** p_lflag.  PL_PPWAIT (a vfork parent waits) is never set: there is no vfork here. */
  lflag = 0;
  /** P_KSES and the ksegrps (h/kse.ts); null until the first kse_create. */
  kse: KseProc | null = null;

  constructor(
    readonly k: Kernel,
    readonly pid: number,
    public name: string,
    public uid: number,
    public pptr: Proc | null,
    readonly system = false,
  ) {
    this.lock = new KMutex(`proc${pid}.p_lock`, false, this);
    this.cred = Object.freeze({ uid });
    this.rlimit = pptr === null ? null : pptr.rlimit;
  }

  /** LIST_INSERT_HEAD on p_lwps, and p_nlwps++: l joins the process (p.lock held, or boot). */
  lwpInsert(l: Lwp): void {
    l.sibPrev = null;
    l.sibNext = this.lwps;
    if (this.lwps !== null) this.lwps.sibPrev = l;
    this.lwps = l;
    this.lidMap.set(l.lid, l);
    this.nlwps++;
  }

  /** LIST_REMOVE from p_lwps, and p_nlwps--: l leaves the process (p.lock held). */
  lwpRemove(l: Lwp): void {
    if (l.sibPrev === null) this.lwps = l.sibNext;
    else l.sibPrev.sibNext = l.sibNext;
    if (l.sibNext !== null) l.sibNext.sibPrev = l.sibPrev;
    l.sibNext = l.sibPrev = null;
    if (this.lidMap.get(l.lid) === l) this.lidMap.delete(l.lid);
    this.nlwps--;
  }

  /** Iterate the LWP list in the seed's order (newest first). */
  *eachLwp(): IterableIterator<Lwp> {
    for (let l = this.lwps; l !== null; l = l.sibNext) yield l;
  }
}

/** What a core file holds here: the process and every LWP's state when it died. */
export interface CoreDump {
  pid: number;
  name: string;
  signal: number;
  t: number;
  lwps: { lid: number; stat: string; name: string; cpu: number; wchan: string; rtime: number; dumper: boolean }[];
}
