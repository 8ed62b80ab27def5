/* The specificdata domain of LWPs (sys/specificdata.h); specific.ts acts on it. */
import type { Lwp } from './lwp.ts';

/** A destructor: called with a value that was still set. */
export type SpecificDtor = (value: unknown) => void;

/** The specificdata domain of a kernel's LWPs. */
export interface SpecificDomain {
  /** Destructor of each key; null = free slot. */
  keys: (SpecificDtor | null)[];
  /** LWPs with a container (sd_list). */
  readonly containers: Set<Lwp>;
}
