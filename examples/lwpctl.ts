/*
 * lwpctl: each LWP's shared block tells the CPU it is on and counts its switches, without a system call.
 * Run with: lwpkit run example:lwpctl --ncpu 2 --ps
 *
 * Watch for: _lwp_ctl gives an LWP a block that the kernel keeps current:
 * curcpu is the CPU index while the LWP runs and LWPCTL_CPU_NONE while it
 * is off CPU; pctr counts its switches onto a CPU; after it exits, the
 * block says LWPCTL_CPU_EXITED.  Thread libraries read a lock owner's
 * block to decide whether to spin (owner running) or sleep.
 */
import { LWPCTL_CPU_EXITED, LWPCTL_CPU_NONE, LWPCTL_FEATURE_CURCPU, LWPCTL_FEATURE_PCTR, type LwpCtl, type Sys } from '../src/index.ts';

export function* main(sys: Sys) {
  const me = yield* sys.lwpCtl(LWPCTL_FEATURE_CURCPU | LWPCTL_FEATURE_PCTR);
  if (me.curcpu < 0) throw new Error('main is running, so its block names a CPU');
  const before = me.pctr;
  yield* sys.sleep(10);                 // off CPU and back: one more switch in
  if (me.pctr <= before) throw new Error('pctr counts switches in');

  const shared: { ctl: LwpCtl | null } = { ctl: null };
  const worker = yield* sys.lwpCreate(function* (s: Sys) {
    shared.ctl = yield* s.lwpCtl(LWPCTL_FEATURE_CURCPU);   // publish the block, as libpthread does
    yield* s.sleep(20);
    yield* s.compute(30);
  }, undefined, { name: 'worker' });

  // Look at the worker's block from outside: where is it now?
  const seen = new Set<string>();
  while (shared.ctl === null || shared.ctl.curcpu !== LWPCTL_CPU_EXITED) {
    const c = shared.ctl?.curcpu;
    seen.add(c === undefined ? 'not yet' : c === LWPCTL_CPU_NONE ? 'off CPU' : 'on a CPU');
    yield* sys.sleep(5);
  }
  if (!seen.has('off CPU')) throw new Error('the worker slept, so it was seen off CPU');
  yield* sys.lwpWait(worker);
}
