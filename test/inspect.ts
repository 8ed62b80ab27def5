/*
 * The one way tests look inside the kernel from outside a program: the
 * LWP behind a program's sys object, a partial structure for tests of one
 * data structure, and arguments of a deliberately wrong type for bad-input
 * tests.  Programs themselves cannot see kernel state; only tests may.
 */
import type { Sys } from '../src/index.ts';
import type { Lwp } from '../src/kern/h/lwp.ts';
import type { Proc } from '../src/kern/h/proc.ts';

/** The LWP a program's sys object belongs to (Sys keeps it private). */
export function lwpOf(sys: Sys): Lwp {
  return sys['l'];
}

/** The process of the LWP behind sys. */
export function procOf(sys: Sys): Proc {
  return lwpOf(sys).proc;
}

/** A stand-in LWP with only the fields a structure under test reads (a run queue, ps's state letters). */
export function fakeLwp(fields: Record<string, unknown>): Lwp {
  return fields as unknown as Lwp;
}

/** A value passed where the API's type forbids it, as a careless or hostile caller would (bad-input tests). */
export function untyped<T>(v: unknown): T {
  return v as T;
}
