/* Sleep queues and the table wait channels hash into (sys/sleepq.h); sleepq.ts acts on them. */
import type { Lwp } from './lwp.ts';
import { KMutex } from './mutex.ts';

export const SLEEPTAB_HASH_SIZE = 32;

export class SleepQueue {
  readonly lock: KMutex;
  readonly waiters = new Map<object, Set<Lwp>>();
  constructor(i: number) { this.lock = new KMutex(`sleepq${i}`, true); }
}

export class SleepTab {
  readonly queues: SleepQueue[] = [];
  private readonly ids = new WeakMap<object, number>();
  private nextId = 0;
  constructor() {
    for (let i = 0; i < SLEEPTAB_HASH_SIZE; i++) this.queues.push(new SleepQueue(i));
  }
  /** The queue a wait channel hashes to.  Ids are handed out in first-use order: deterministic. */
  queueOf(wchan: object): SleepQueue {
    let id = this.ids.get(wchan);
    if (id === undefined) this.ids.set(wchan, (id = this.nextId++));
    return this.queues[id % SLEEPTAB_HASH_SIZE]!;
  }
}
