/*
 * Kernel panics.  A broken kernel assertion is never a silent corruption:
 * it throws a KernelPanic carrying the message and the recent events, and
 * Machine.run() reports it as outcome 'panic'.
 */
import type { KEvent } from './events.ts';
import { FATAL } from '../engine/coroutine.ts';

export class KernelPanic extends Error {
  override readonly name = 'KernelPanic';
  /** Fatal to the engine: never unwound into program code (see FATAL). */
  readonly [FATAL] = true;
  /** The most recent kernel events before the panic (when recording was on). */
  events: KEvent[] = [];
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * KASSERT: panic with `msg` unless `cond` holds.  A message built from
 * values is a function, called only on failure; on hot paths it takes its
 * values as `arg` (a module-level function then makes no closure per call).
 */
export function kassert<A>(cond: boolean, msg: string | ((a: A) => string), arg?: A): asserts cond {
  if (!cond) throw new KernelPanic(typeof msg === 'string' ? msg : msg(arg as A));
}
