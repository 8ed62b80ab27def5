/*
 * Deadlock: a detached LWP suspends main and exits; nobody continues main.
 * lwpkit run example:deadlock exits with status 1.
 */
import { LWP_DETACHED, type Sys } from '../src/index.ts';

export function* main(sys: Sys) {
  yield* sys.lwpCreate(function* (s: Sys) {
    yield* s.lwpSuspend(1);
  }, undefined, { flags: LWP_DETACHED, name: 'suspender' });
  yield* sys.compute(500);
}
