/*
 * Node built-ins, loaded when first used rather than imported: src/index.ts
 * (which exports explore) is also bundled for the browser by the viewer,
 * where checkpoints and worker threads do not exist.
 */
interface Builtins { 'node:fs': typeof import('node:fs'); 'node:worker_threads': typeof import('node:worker_threads'); 'node:url': typeof import('node:url') }

export function nodeModule<K extends keyof Builtins>(name: K): Builtins[K] {
  const get = (globalThis as { process?: { getBuiltinModule?: (n: string) => unknown } }).process?.getBuiltinModule;
  if (get === undefined) throw new Error(`${name} is not available here (checkpoints and workers need Node >= 20.16)`);
  return get(name) as Builtins[K];
}
