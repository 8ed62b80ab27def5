/* DragonFly LWKT structures (sys/thread.h): IPI messages, wait queues, tokens; lwkt.ts acts on them. */
import type { Lwp } from './lwp.ts';

/** A request for another CPU: fn runs there, and returns false if it must try again (a lock was busy). */
export interface IpiMsg {
  readonly what: string;
  /** The run queue level it concerns, for gd_reqpri. */
  readonly level: number;
  readonly fn: () => boolean;
}

export class LwktToken {
  /** The exclusive owner (running), and how many of its references hold the token. */
  owner: Lwp | null = null;
  ocount = 0;
  /** Running threads holding it shared, with their reference counts. */
  readonly sharers = new Map<Lwp, number>();
  /** Someone waits for it: its release kicks idle CPUs. */
  contended = false;
  constructor(readonly name: string) {}
}

export interface TokRef {
  readonly tok: LwktToken;
  readonly shared: boolean;
}

/** lwkt_wait: threads blocked on an event, a generation number, and the token covering them. */
export class LwktWait {
  readonly token: LwktToken;
  readonly waitq: Lwp[] = [];
  gen = 0;
  constructor(readonly name: string) { this.token = new LwktToken(`${name}.wa_token`); }
}

/** lwkt_token_pool: POOL_SIZE tokens that objects hash to, in first-use order. */
export interface TokenPool {
  readonly toks: LwktToken[];
  readonly ids: WeakMap<object, number>;
  next: number;
}
