/* _lwp_park wait channels (the process XOR the hint, in the seed); park.ts acts on them. */
import type { Proc } from './proc.ts';

/** A park wait channel: the process XOR the hint, in the seed. */
export class ParkChan {
  constructor(readonly proc: Proc, readonly hint: unknown) {}
}

/** A process's park channels: by object hint (held weakly, so a program's objects can go), and by plain value. */
export interface ParkChans {
  readonly objs: WeakMap<object, ParkChan>;
  readonly vals: Map<unknown, ParkChan>;
}
