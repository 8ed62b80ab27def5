/*
 * Personalities: the places where the 2007 kernel (kern_lwp.c 1.69.2.6)
 * behaves differently from the 2012 one (1.172).  Every difference the
 * model implements is one named knob here, read where the behaviour is.
 */
export interface Personality {
  readonly name: 'netbsd-6' | 'netbsd-4';
  /**
   * lwp_suspend's guard against a caller that is itself exiting or dumping
   * core.  1.172 tests l_flag and returns EDEADLK; 1.69.2.6 tests l_stat by
   * mistake, so the guard never fires.
   */
  readonly suspendExitGuard: boolean;
  /**
   * lwp_create counts the new LSIDL LWP in p_nrlwps (1.172); in 1.69.2.6 the
   * caller counts it when it makes the LWP runnable.  This shifts the sum
   * lwp_wait1's deadlock test uses while a creation is in progress.
   */
  readonly createCountsNrlwps: boolean;
  /**
   * lwp_userret's suspend path: 1.172 drops the LWP lock after setting
   * LSSUSPENDED and takes it again before mi_switch (a window where another
   * CPU can continue it); 1.69.2.6 holds it through to the switch.
   */
  readonly userretRelockOnSuspend: boolean;
  /**
   * lwp_ctl_alloc for an LWP that already has a block: 1.172 returns 0 and
   * hands back the same block; 1.69.2.6 returns EINVAL.
   */
  readonly lwpctlAllocAgainOk: boolean;
  /**
   * lwp_create's per-uid RLIMIT_NTHR check (chglwpcnt, EAGAIN past the soft
   * limit unless root) and lwp_free's uncharge: 1.172 only.  1.69.2.6 has no
   * per-uid LWP count, so a non-root process is not stopped at the limit.
   */
  readonly createChecksNthr: boolean;
  /**
   * lwp_create copies the creator's affinity mask to the new LWP (1.172,
   * under the creator's lock); 1.69.2.6 has no l_affinity, so a new LWP may
   * run on every CPU whatever its creator was pinned to.
   */
  readonly createInheritsAffinity: boolean;
  /**
   * lwp_exit renames a named LWP "(zombie)" as it becomes LSZOMB (1.172);
   * 1.69.2.6 has no l_name.  Seen by ps (m.ps), not by the program itself:
   * _lwp_getname cannot find a zombie.
   */
  readonly exitRenamesZombie: boolean;
}

export const NETBSD_6: Personality = Object.freeze({
  name: 'netbsd-6',
  suspendExitGuard: true,
  createCountsNrlwps: true,
  userretRelockOnSuspend: true,
  lwpctlAllocAgainOk: true,
  createChecksNthr: true,
  createInheritsAffinity: true,
  exitRenamesZombie: true,
});

export const NETBSD_4: Personality = Object.freeze({
  name: 'netbsd-4',
  suspendExitGuard: false,
  createCountsNrlwps: false,
  userretRelockOnSuspend: false,
  lwpctlAllocAgainOk: false,
  createChecksNthr: false,
  createInheritsAffinity: false,
  exitRenamesZombie: false,
});

export const PERSONALITIES: Readonly<Record<string, Personality>> = Object.freeze({
  'netbsd-6': NETBSD_6,
  'netbsd-4': NETBSD_4,
});
