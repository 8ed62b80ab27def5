/* Credentials, resource limits and the per-uid LWP counts (sys/kauth.h, sys/resource.h); resource.ts acts on them. */

/** kauth_cred_t, reduced to what the model needs: the uid (0 is root). */
export interface Cred {
  readonly uid: number;
}

/** struct rlimit: soft (cur) and hard (max) limits; RLIM_INFINITY is Infinity. */
export interface Rlimit {
  readonly cur: number;
  readonly max: number;
}

/** The tunables and tables of one kernel. */
export interface ResourceState {
  /** kern.maxlwp. */
  maxlwp: number;
  /** cpu_maxlwp(): the most the machine supports; kern.maxlwp may not exceed it. */
  cpuMaxlwp: number;
  /** kern.threads.max_per_proc (FreeBSD); 0 = no cap. */
  maxThreadsPerProc: number;
  /** uidinfo's ui_lwpcnt: LWPs charged to each uid. */
  readonly lwpcnt: Map<number, number>;
  /** limit0: the limits of processes the machine spawns (set at boot from maxlwp). */
  limit0: readonly Rlimit[];
}
