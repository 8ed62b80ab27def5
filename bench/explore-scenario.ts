/* The bench's 2-CPU exploration scenario: main and 3 workers that compute, yield and exit; main waits for each. */
import type { Sys } from '../src/index.ts';

function* worker(sys: Sys, n: number) {
  yield* sys.compute(2 + n);
  yield* sys.schedYield();
}

export function scenario() {
  return {
    ncpu: 2,
    main: function* (sys: Sys) {
      const lids: number[] = [];
      for (let i = 0; i < 3; i++) lids.push(yield* sys.lwpCreate(worker, i));
      for (const lid of lids) yield* sys.lwpWait(lid);
    },
  };
}
