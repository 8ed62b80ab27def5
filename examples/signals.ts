/*
 * Signals with handlers: a handler runs on the LWP that takes the signal, and the sleep it cut short returns EINTR.
 * Run with: lwpkit run example:signals --ktrace signals.txt
 *
 * Watch for: sigaction installs a handler, a generator run on the LWP the
 * signal is delivered to, with the signal blocked meanwhile.  _lwp_kill
 * aims a signal at one LWP: it is woken from its interruptible sleep, runs
 * the handler at the user boundary, and its nanosleep returns EINTR.  A
 * signal blocked with sigprocmask stays pending until it is unblocked,
 * then the handler runs at once.  kill(getpid(), SIGTERM) with the default
 * action would end the process; 'ignore' makes it harmless.
 */
import { SIGTERM, SIGUSR1, SIGUSR2, SyscallError, type Sys } from '../src/index.ts';

export function* main(sys: Sys) {
  const log: string[] = [];
  yield* sys.sigaction(SIGUSR1, function* (s: Sys, sig: number) {
    log.push(`lwp ${yield* s.lwpSelf()} handled signal ${sig}`);
  });

  const sleeper = yield* sys.lwpCreate(function* (s: Sys) {
    try {
      yield* s.sleep(1_000);
      log.push('slept it out');
    } catch (e) {
      if (!(e instanceof SyscallError && e.code === 'EINTR')) throw e;
      log.push('sleep interrupted');  // after the handler has run
    }
  }, undefined, { name: 'sleeper' });
  yield* sys.sleep(20);               // let it fall asleep
  yield* sys.lwpKill(sleeper, SIGUSR1);
  yield* sys.lwpWait(sleeper);

  // Blocked: pending until unblocked, then handled by main itself.
  yield* sys.sigaction(SIGUSR2, function* () { log.push('SIGUSR2 handled'); });
  yield* sys.sigprocmask('block', [SIGUSR2]);
  yield* sys.kill(yield* sys.getpid(), SIGUSR2);
  log.push('SIGUSR2 sent while blocked');
  yield* sys.sigprocmask('unblock', [SIGUSR2]);

  yield* sys.sigaction(SIGTERM, 'ignore');
  yield* sys.kill(yield* sys.getpid(), SIGTERM);   // ignored: we live on

  const want = [`lwp ${sleeper} handled signal ${SIGUSR1}`, 'sleep interrupted', 'SIGUSR2 sent while blocked', 'SIGUSR2 handled'];
  if (log.join('; ') !== want.join('; ')) throw new Error(`unexpected order: ${log.join('; ')}`);
}
