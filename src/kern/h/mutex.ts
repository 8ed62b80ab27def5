/* Kernel mutexes and condition variables (sys/mutex.h, sys/condvar.h); mutex.ts and sleepq.ts act on them. */
/** A kernel mutex: spin (spc locks, sleep queue locks) or adaptive (p.lock). */
export class KMutex {
  owner: object | null = null;
  /** How many times an acquirer found it held (lock contention). */
  contended = 0;
  /**
   * @param of  the structure the lock covers (a process's p.lock, a CPU's
   *            spc locks), so the checker can tell what a step touched.
   */
  constructor(readonly name: string, readonly spin: boolean, readonly of: object | null = null) {}
}

/** The owner recorded for locks taken in interrupt context (timer callbacks). */
export const INTR_OWNER = Object.freeze({ name: 'interrupt' });

/** A condition variable is just a named wait channel. */
export class CondVar {
  constructor(readonly wmesg: string) {}
}
