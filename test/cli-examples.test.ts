/*
 * Every bundled example runs to its documented end through the command line
 * (in-process, main() with captured output), on 1, 2 and 4 CPUs.  The
 * examples check their own results and throw when one is wrong, so a
 * broken feature shows as exit status 4 (a fault) here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listExamples, main, type Io } from '../src/cli/main.ts';

/** Examples whose end is not a clean exit, and how they end (by CPU count where it matters). */
const EXPECTED: Record<string, number | Record<string, number>> = {
  cycle: 1, deadlock: 1, forever: 3, exits: 4, 'core-dump': 4,
  migration: { 1: 4, 2: 4, 4: 0 },   // it pins LWPs to CPUs 2 and 3: EINVAL on a smaller machine
};

function expected(name: string, ncpu: string): number {
  const e = EXPECTED[name] ?? 0;
  return typeof e === 'number' ? e : e[ncpu] ?? 0;
}
/** The examples issue 13 added; they must exist, and exit 0 everywhere. */
const SERVICES = ['park', 'pthread', 'lwpctl', 'signals', 'wakeup', 'limits'];

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (s) => out.push(s), err: (s) => err.push(s) };
  // Some examples narrate with console.log; keep it out of the test report.
  const log = console.log;
  console.log = (...a: unknown[]) => { out.push(a.join(' ')); };
  let code: number;
  try {
    code = await main(args, io);
  } finally {
    console.log = log;
  }
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('the examples of park, pthread, lwpctl, signals, _lwp_wakeup and limits are listed', () => {
  const names = listExamples().map((e) => e.name);
  for (const n of SERVICES) assert.ok(names.includes(n), n);
});

test('every example ends as documented on 1, 2 and 4 CPUs', async () => {
  for (const { name } of listExamples()) {
    for (const ncpu of ['1', '2', '4']) {
      const r = await run(['run', `example:${name}`, '--ncpu', ncpu, '--ticks', '20000']);
      assert.equal(r.code, expected(name, ncpu), `${name} on ${ncpu} CPUs:\n${r.out}\n${r.err}`);
    }
  }
});
