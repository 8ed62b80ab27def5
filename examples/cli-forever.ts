/*
 * Forever: two LWPs that never stop; the run ends at the tick limit.
 * lwpkit run example:forever --ticks 5000 exits with status 3.
 */
import type { Sys } from '../src/index.ts';

function* spin(sys: Sys) {
  for (;;) {
    yield* sys.compute(50);
    yield* sys.schedYield();
  }
}

export default function* forever(sys: Sys) {
  yield* sys.lwpCreate(spin, undefined, { name: 'spinner' });
  yield* spin(sys);
}
