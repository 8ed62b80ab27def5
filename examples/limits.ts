/*
 * Resource limits: RLIMIT_NTHR caps the LWPs of a user, and _lwp_create fails with EAGAIN past it.
 * Run with: lwpkit run example:limits --ps
 *
 * Watch for: the limit counts every LWP of the process's uid (chglwpcnt),
 * and root is exempt, so main first gives up root with setuid.  It lowers
 * its soft limit to 4 and creates LWPs until _lwp_create says EAGAIN.  A
 * dead LWP stops counting when it is freed (collected by _lwp_wait), not
 * when it exits.  The machine-wide kern.maxlwp is set from outside:
 * lwpkit sysctl kern.maxlwp=3 example:limits fails earlier.
 */
import { RLIMIT_NTHR, SyscallError, type Sys } from '../src/index.ts';

export function* main(sys: Sys) {
  yield* sys.setuid(1000);                                  // root would be exempt
  const { max } = yield* sys.getrlimit(RLIMIT_NTHR);
  yield* sys.setrlimit(RLIMIT_NTHR, { cur: 4, max });        // lowering needs no privilege

  const parked: number[] = [];
  let refused = '';
  while (refused === '') {
    try {
      parked.push(yield* sys.lwpCreate(function* (s: Sys) { yield* s.sleep(100); }, undefined, { name: `t${parked.length + 1}` }));
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      refused = e.code;                                     // EAGAIN: over the soft limit
    }
  }
  if (refused !== 'EAGAIN' || parked.length > 4) throw new Error(`created ${parked.length}, then ${refused}`);

  // Collect one: its slot is free again only now, and a new LWP fits.
  yield* sys.lwpWait(parked.shift()!);
  parked.push(yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(5); }, undefined, { name: 'late' }));
  for (const lid of parked) yield* sys.lwpWait(lid);
}
