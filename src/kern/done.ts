/*
 * DONE: a generator that has already finished.  A kernel path that usually
 * never blocks is a plain function that does its work and returns DONE, and
 * returns a real generator only on the way that may wait; callers keep
 * writing `yield* f(...)`, which returns at once on DONE.  No generator is
 * made for the common case.
 */
import type { Gen } from '../engine/coroutine.ts';

const DONE_RESULT: IteratorResult<never, void> = Object.freeze({ done: true, value: undefined });

export const DONE = Object.freeze({
  next: () => DONE_RESULT,
  return: () => DONE_RESULT,
  throw: (e: unknown) => { throw e; },
  [Symbol.iterator]() { return this; },
}) as unknown as Gen<void>;

/** A finished generator that returns v: for a plain path that ends early (an errno). */
export function doneWith<T>(v: T): Gen<T> {
  const r: IteratorResult<never, T> = { done: true, value: v };
  return {
    next: () => r,
    return: () => r,
    throw: (e: unknown) => { throw e; },
    [Symbol.iterator]() { return this; },
  } as unknown as Gen<T>;
}
