/*
 * Exec from a threaded process: the other LWPs park at the boundary, then exit; the caller starts the new image.
 * Run with: lwpkit run example:exec --trace exec.json
 *
 * Watch for: exec single-threads the process in BOUNDARY mode (the other
 * LWPs park LSSUSPENDED at their next user boundary; the sleeper's sleep
 * returns early), then, the new image being loaded, upgrades to EXIT mode
 * (they exit) and frees them.  The caller's old frames are dropped without
 * running their cleanup; caught signals go back to their defaults.
 */
import { SIGUSR1, type Sys } from '../src/index.ts';

function* newImage(sys: Sys, greeting: string) {
  yield* sys.compute(20);
  const old = yield* sys.sigaction(SIGUSR1); // reset to 'default' by exec
  if (old.handler !== 'default') throw new Error('exec should reset caught signals');
  yield* sys.exit(greeting.length);
}

export function* main(sys: Sys) {
  yield* sys.sigaction(SIGUSR1, function* () {});
  for (let i = 0; i < 3; i++) yield* sys.lwpCreate(function* (s: Sys) { yield* s.compute(1_000); }, undefined, { name: `worker${i}` });
  yield* sys.lwpCreate(function* (s: Sys) { yield* s.sleep(1_000); }, undefined, { name: 'sleeper' });
  yield* sys.compute(10);
  yield* sys.exec(newImage, 'hello, new image');
}
