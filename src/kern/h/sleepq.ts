/* Sleep queues and the table wait channels hash into (sys/sleepq.h); sleepq.ts acts on them. */
import type { Lwp } from './lwp.ts';
import { KMutex } from './mutex.ts';

export const SLEEPTAB_HASH_SIZE = 32;

export class SleepQueue {
  readonly lock: KMutex;
  readonly waiters = new Map<object, Set<Lwp>>();
  constructor(i: number) { this.lock = new KMutex(`sleepq${i}`, true); }
}

/**
 * The hash table.  Each queue (its lock and waiter map) is made when a wait
 * channel first hashes to it, or when someone lists them all (`queues`, for
 * the reports): a short run touches a few of the 32.  An unmade queue is an
 * empty one with a lock nobody took, so nothing can tell the difference.
 */
export class SleepTab {
  private readonly qs: (SleepQueue | undefined)[] = new Array(SLEEPTAB_HASH_SIZE);
  private readonly ids = new WeakMap<object, number>();
  private nextId = 0;
  /** Every queue, in hash order (made now if not yet). */
  get queues(): readonly SleepQueue[] {
    for (let i = 0; i < SLEEPTAB_HASH_SIZE; i++) this.queue(i);
    return this.qs as SleepQueue[];
  }
  /** How many queues exist yet (for the test of laziness). */
  get made(): number {
    let n = 0;
    for (let i = 0; i < SLEEPTAB_HASH_SIZE; i++) if (this.qs[i] !== undefined) n++;
    return n;
  }
  private queue(i: number): SleepQueue {
    return (this.qs[i] ??= new SleepQueue(i));
  }
  /** The queue a wait channel hashes to.  Ids are handed out in first-use order: deterministic. */
  queueOf(wchan: object): SleepQueue {
    let id = this.ids.get(wchan);
    if (id === undefined) this.ids.set(wchan, (id = this.nextId++));
    return this.queue(id % SLEEPTAB_HASH_SIZE);
  }
}
