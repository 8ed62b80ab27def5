/* FreeBSD single-threading state of a process (p_singlethread, p_suspcount); single.ts acts on it. */
import type { Lwp } from './lwp.ts';

export const ST_EXIT = 1;
export const ST_BOUNDARY = 2;
export const ST_NO_EXIT = 3;
export type StMode = typeof ST_EXIT | typeof ST_BOUNDARY | typeof ST_NO_EXIT;

/** A process's single-threading state. */
export class SingleState {
  thread: Lwp | null = null;
  mode: StMode | 0 = 0;
  /** LWPs parked by single-threading (p_suspcount). */
  suspcount = 0;
  /** thread_single has returned: the others are out of user mode. */
  proceeded = false;
}
