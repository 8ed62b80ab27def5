/*
 * LWP-specific data: a value per (LWP, key) for kernel subsystems, with a
 * destructor per key (kern_lwp.c's lwp_*specific* over subr_specificdata.c).
 *
 * Models lwpinit_specificdata, lwp_specific_key_create,
 * lwp_specific_key_delete, lwp_initspecific, lwp_finispecific,
 * lwp_getspecific, _lwp_getspecific_by_lwp and lwp_setspecific, with the
 * specificdata(9) semantics under them:
 *  - keys are small integers; key_create takes the lowest free one;
 *  - an LWP's values live in a container made on its first set
 *    (l.specdata); an unset value reads as undefined (NULL);
 *  - when the LWP exits, lwp_finispecific (called early in lwp_exit, and
 *    by exit1 for a process's last LWP) runs the destructor of every key on the LWP's non-null values,
 *    key by key, in the exiting LWP;
 *  - deleting a key runs its destructor on every LWP's value still set,
 *    then frees the key.  This follows NetBSD 6's code
 *    (specificdata_key_delete calls specificdata_destroy_datum on every
 *    container); the POSIX pthread_key_delete(3) rule that no destructor
 *    runs belongs to the thread library, and src/lib/pthread.ts keeps it.
 *  - setting a value for a key that is not allocated is a kernel bug: it
 *    panics (the seed asserts it later, when the value is destroyed).
 *
 * Locking: specificdata has a domain lock and a per-container lock.  Every
 * function here runs without yielding, which in the model is atomic with
 * respect to every other CPU; destructors must not yield either.
 */
import type { Kernel } from './h/kernel.ts';
import type { Lwp } from './h/lwp.ts';
import { kassert } from './panic.ts';
import type { SpecificDomain, SpecificDtor } from './h/specific.ts';

function noopDtor(): void {}

/** lwpinit_specificdata: the kernel's LWP domain (made on first use). */
function domainOf(k: Kernel): SpecificDomain {
  let d = k.specific;
  if (d === null) k.specific = d = { keys: [], containers: new Set() };
  return d;
}

/** lwp_specific_key_create: a new key whose destructor is `dtor` (none: a no-op).  Returns the key. */
export function lwpSpecificKeyCreate(k: Kernel, dtor?: SpecificDtor | null): number {
  const d = domainOf(k);
  let key = d.keys.indexOf(null);
  if (key < 0) {
    key = d.keys.length;
    d.keys.push(null);
  }
  d.keys[key] = dtor ?? noopDtor;
  return key;
}

/**
 * lwp_specific_key_delete: destroy every LWP's value for `key` (running the
 * key's destructor on each one still set), then free the key for reuse.
 * An unknown key is ignored, as the seed does.
 */
export function lwpSpecificKeyDelete(k: Kernel, key: number): void {
  const d = domainOf(k);
  if (!Number.isInteger(key) || key < 0 || key >= d.keys.length) return;
  for (const l of d.containers) destroyDatum(d, l.specdata!, key);
  d.keys[key] = null;
}

/** specificdata_destroy_datum: run the destructor on one container's value for key. */
function destroyDatum(d: SpecificDomain, sc: unknown[], key: number): void {
  if (key >= sc.length) return;
  const dtor = d.keys[key];
  const v = sc[key];
  if (dtor === null || dtor === undefined) {
    kassert(v === undefined || v === null, `specificdata: value set for deleted key ${key}`);
    return;
  }
  if (v !== undefined && v !== null) {
    sc[key] = undefined;
    dtor(v);
  }
}

/** lwp_initspecific: a new LWP starts with no container. */
export function lwpInitspecific(l: Lwp): void {
  l.specdata = null;
}

/** lwp_finispecific: l is exiting; destroy all its values, key by key.  Called in l's own context. */
export function lwpFinispecific(l: Lwp): void {
  const sc = l.specdata;
  if (sc === null) return;
  const d = domainOf(l.k);
  l.specdata = null;
  d.containers.delete(l);
  for (let key = 0; key < sc.length; key++) destroyDatum(d, sc, key);
}

/** _lwp_getspecific_by_lwp: l's value for key (undefined if unset). */
export function lwpGetspecificByLwp(l: Lwp, key: number): unknown {
  const sc = l.specdata;
  return sc !== null && key < sc.length ? sc[key] : undefined;
}

/** lwp_getspecific: curlwp's value for key. */
export function lwpGetspecific(k: Kernel, key: number): unknown {
  const l = k.curlwp();
  kassert(l !== null, 'lwp_getspecific: no curlwp');
  return lwpGetspecificByLwp(l, key);
}

/** lwp_setspecific: set curlwp's value for key; grows its container as needed. */
export function lwpSetspecific(k: Kernel, key: number, value: unknown): void {
  const l = k.curlwp();
  kassert(l !== null, 'lwp_setspecific: no curlwp');
  lwpSetspecificByLwp(l, key, value);
}

/** The same for a given LWP.  Not a NetBSD function: NetBSD sets values only for curlwp. */
export function lwpSetspecificByLwp(l: Lwp, key: number, value: unknown): void {
  const d = domainOf(l.k);
  kassert(Number.isInteger(key) && key >= 0 && key < d.keys.length && d.keys[key] !== null,
    () => `lwp_setspecific: key ${String(key)} was never created or is deleted`);
  if (l.specdata === null) {
    l.specdata = [];
    d.containers.add(l);
  }
  l.specdata[key] = value;
}
