/*
 * Golden event streams: the semantics every performance or structural
 * change must keep.  Each entry is the sha256 of a run's whole event stream
 * (plus its outcome, ticks and steps) for one bundled example, seed and
 * CPU count, and for a fixed sample of fuzz programs.
 *
 *   npm run golden            compare against test/golden/hashes.json
 *   npm run golden -- --update   rewrite it (name the bug fix in the commit)
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { Machine, type KEvent, type RunResult } from '../../src/index.ts';
import { FULL, programArb, runProgram } from '../fuzzprog.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const HASHES_FILE = join(here, 'hashes.json');
const EXAMPLES = resolve(here, '../../examples');

export const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);
export const NCPUS = [1, 2, 4];
const MAX_TICKS = 50_000;
const FUZZ_SEED = 20261201;
const FUZZ_SAMPLE = 40;

function serialize(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'function' ? `fn:${x.name}` : x));
}

export function streamHash(events: readonly KEvent[] | readonly string[], r: RunResult): string {
  const h = createHash('sha256');
  for (const e of events) h.update(typeof e === 'string' ? e : serialize(e)).update('\n');
  h.update(`${r.outcome} ${r.ticks} ${r.steps} ${r.panic?.message ?? ''}`);
  return h.digest('hex').slice(0, 16);
}

/** The bundled examples that export a program (default or main), by name. */
export async function examplePrograms(): Promise<Map<string, (...a: any[]) => Generator>> {
  const out = new Map<string, (...a: any[]) => Generator>();
  for (const f of readdirSync(EXAMPLES).filter((x) => x.endsWith('.ts')).sort()) {
    const text = readFileSync(join(EXAMPLES, f), 'utf8');
    if (!/export (default )?function\*/.test(text)) continue;
    const mod = await import(pathToFileURL(join(EXAMPLES, f)).href) as Record<string, unknown>;
    const fn = (typeof mod.default === 'function' ? mod.default : mod.main) as (...a: any[]) => Generator;
    out.set(f.replace(/\.ts$/, ''), fn);
  }
  return out;
}

export function runExample(fn: (...a: any[]) => Generator, ncpu: number, seed: number): string {
  const m = new Machine({ ncpu, seed });
  const events: KEvent[] = [];
  m.on((e) => events.push(e));
  m.spawn(fn as never, { name: 'golden' });
  const r = m.run({ maxTicks: MAX_TICKS });
  return streamHash(events, r);
}

/** Every golden key with its hash, computed now. */
export async function computeGolden(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const programs = await examplePrograms();
  const log = console.log;
  console.log = () => {};   // some examples print what they saw at the end
  try {
    for (const [name, fn] of programs) {
      for (const ncpu of NCPUS) for (const seed of SEEDS) out[`example:${name} ncpu=${ncpu} seed=${seed}`] = runExample(fn, ncpu, seed);
    }
  } finally {
    console.log = log;
  }
  const progs = fc.sample(programArb(FULL), { seed: FUZZ_SEED, numRuns: FUZZ_SAMPLE });
  progs.forEach((prog, i) => {
    const ran = runProgram(prog, { trace: true });
    out[`fuzz:${FUZZ_SEED}#${i}`] = streamHash(ran.events ?? [], ran.r);
  });
  return out;
}

export function loadGolden(): Record<string, string> {
  return JSON.parse(readFileSync(HASHES_FILE, 'utf8')) as Record<string, string>;
}
