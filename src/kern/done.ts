/*
 * DONE: a generator that has already finished.  A kernel path that usually
 * never blocks is a plain function that does its work and returns DONE, and
 * returns a real generator only on the way that may wait; callers keep
 * writing `yield* f(...)`, which returns at once on DONE.  No generator is
 * made for the common case.
 *
 * A Done is its own iterator result ({ done: true, value }), so a finished
 * path with a value (doneWith) costs one small object, and `yield*` on it
 * one call of next().
 */
import type { Gen } from '../engine/coroutine.ts';

export class Done<T> {
  readonly done = true;
  constructor(readonly value: T) {}
  next(): this { return this; }
  return(): this { return this; }
  throw(e: unknown): never { throw e; }
  [Symbol.iterator](): this { return this; }
}

export const DONE = Object.freeze(new Done(undefined)) as unknown as Gen<void>;

/** A finished generator that returns v: for a plain path that ends early (an errno). */
export function doneWith<T>(v: T): Gen<T> {
  return new Done(v) as unknown as Gen<T>;
}

/** Is g a finished path (DONE or doneWith)?  Its result is then (g as Done).value, with nothing to run. */
export function isDone<T>(g: Gen<T>): boolean {
  return g instanceof Done;
}

/** The result of a finished path (isDone(g) must hold). */
export function doneValue<T>(g: Gen<T>): T {
  return (g as unknown as Done<T>).value;
}
