/*
 * The reports and commands of lwpkit, run as a real subprocess: --ps, --top,
 * the wait-for graph on a deadlock, the panic report, sysctl, and progress
 * on a terminal.  Plus the sysctl settings path in-process (hooks add a
 * writable node, which the machine does not have yet).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkTrace } from '../src/trace/checkTrace.ts';
import { main as cliMain, type Io } from '../src/cli/main.ts';
import type { Machine } from '../src/index.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'lwpkit');
const tmp = mkdtempSync(join(tmpdir(), 'lwpkit-cli-report-'));

interface Out { code: number | null; out: string; err: string }

/** Run bin/lwpkit from a scratch directory; resolves with exit status and output. */
function lwpkit(...args: string[]): Promise<Out> {
  return new Promise((res) => {
    execFile(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      res({ code, out: stdout, err: stderr });
    });
  });
}

/** A usage error: exit 64, one line on stderr, no stack trace. */
function assertUsage(r: Out, pattern: RegExp) {
  assert.equal(r.code, 64, `stdout: ${r.out} stderr: ${r.err}`);
  const lines = r.err.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.err);
  assert.match(lines[0]!, /^lwpkit: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.err, /\n\s+at /);
}

test('run --ps --top: the ps -s table and the top -H view', async () => {
  const r = await lwpkit('run', 'example:workers', '--ncpu', '2', '--ps', '--top');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  assert.match(r.out, /^PID LID NLWP STAT CPU PRI WCHAN LNAME$/m);
  assert.match(r.out, /^ {2}0 {3}1 {4}2 [OR]K {5}0 {2}-1 - +idle\/0$/m);
  assert.match(r.out, /^ {2}1 {3}1 {4}1 Z {6}\d {2}63 - +-$/m);
  assert.match(r.out, /^top -H: 2 CPUs, \d+ ticks; 1 process, 1 LWP not yet freed$/m);
  assert.match(r.out, /^CPU +UTIL BUSY SWITCHES RUNQ CURRENT\n +0 +\d+\.\d% +\d+ +\d+ +0 idle\n +1 /m);
  assert.match(r.out, /^preemptions \(lwkt\.preempt_\*\): hit 0, miss 0, weird 0$/m);
  assert.match(r.out, /^ +1 +7 worker6 +freed /m);
  // --quiet keeps only the outcome line.
  const q = await lwpkit('run', 'example:workers', '--ps', '--top', '--quiet');
  assert.match(q.out, /^outcome: idle at tick \d+\n$/);
});

test('run example:cycle: deadlock, exit 1, the wait-for graph with the cycle, in the trace too', async () => {
  const r = await lwpkit('run', 'example:cycle', '--trace', 'cycle.json');
  assert.equal(r.code, 1, r.err);
  assert.match(r.out, /^outcome: deadlock at tick \d+$/m);
  assert.match(r.out, /^wait-for graph at tick \d+: 3 blocked LWPs, 1 cycle$/m);
  assert.match(r.out, /^ {2}1\.3 t2 +SLEEP +lwpwait +_lwp_wait\(4\) +-> 1\.4 t3 +\[cycle 1\]$/m);
  assert.match(r.out, /^cycle 1: 1\.2 t1 -> 1\.3 t2 -> 1\.4 t3 -> 1\.2 t1$/m);
  const trace = JSON.parse(readFileSync(join(tmp, 'cycle.json'), 'utf8'));
  assert.deepEqual(checkTrace(trace), []);
  const ev = trace.traceEvents as { name: string; ph: string; cat?: string; args?: Record<string, unknown> }[];
  assert.ok(ev.some((e) => e.name === 'wait-for cycle' && e.args!.lwps === '1.2 t1 -> 1.3 t2 -> 1.4 t3 -> 1.2 t1'));
  assert.equal(ev.filter((e) => e.cat === 'waitfor' && e.ph === 's').length, 3);
});

test('run: a kernel panic exits 2 with the panic report (message, invariant, events, ps)', async () => {
  writeFileSync(join(tmp, 'corrupt.ts'), [
    '// Breaks the kernel on purpose: the checker must catch it.',
    'export function* main(sys: any) {',
    '  yield* sys.compute(5);',
    '  sys.l.proc.nlwps += 1;',
    '  yield* sys.compute(5);',
    '}',
  ].join('\n'));
  const r = await lwpkit('run', 'corrupt.ts', '--ps');
  assert.equal(r.code, 2, r.err);
  assert.match(r.out, /^outcome: panic at tick 5: invariant violated: proc 1 counters disagree/);
  assert.match(r.out, /^panic: invariant violated: proc 1 counters disagree with its LWP list: nlwps 2 != 1$/m);
  assert.match(r.out, /^broken invariant \(checked after every step\): proc 1 counters disagree/m);
  assert.match(r.out, /^last \d+ events, oldest first:\n +0 cpu/m);
  assert.match(r.out, /^ps at the panic:\nPID LID NLWP STAT CPU PRI WCHAN LNAME\n/m);
  assert.match(r.out, /^ {2}1 {3}1 {4}2 O /m);
  assert.equal(r.out.match(/^PID LID NLWP/gm)!.length, 1, 'the ps table is printed once');
});

test('sysctl: list, read by name, run a program and print the counters after it', async () => {
  const [all, named, ran, dead, help] = await Promise.all([
    lwpkit('sysctl'),
    lwpkit('sysctl', 'hw.ncpu', '--ncpu', '8'),
    lwpkit('sysctl', 'kern.nswtch', 'example:workers', '--quiet'),
    lwpkit('sysctl', 'example:deadlock', '--quiet'),
    lwpkit('sysctl', '--help'),
  ]);
  assert.equal(all.code, 0, all.err);
  assert.match(all.out, /^hw\.ncpu += 4 +Number of CPUs \(read-only\)$/m);
  assert.match(all.out, /^kern\.nswtch += 0 +Context switches on all CPUs \(read-only\)$/m);
  assert.equal(named.code, 0);
  assert.equal(named.out, 'hw.ncpu = 8  Number of CPUs (read-only)\n');
  assert.equal(ran.code, 0, ran.err);
  assert.match(ran.out, /^outcome: idle at tick \d+\n\nsysctl after the run \(tick \d+\):\n/);
  const nswtch = Number(/^ {2}kern\.nswtch += (\d+)/m.exec(ran.out)![1]);
  assert.ok(nswtch > 0, ran.out);
  assert.equal(dead.code, 1);
  assert.match(dead.out, /sysctl after the run/);
  assert.equal(help.code, 0);
  assert.match(help.out, /^usage: lwpkit sysctl/);
});

test('sysctl usage errors: one line, exit 64', async () => {
  const rs = await Promise.all([
    lwpkit('sysctl', 'kern.nosuch'),
    lwpkit('sysctl', 'kern.nosuch=3', 'example:workers'),
    lwpkit('sysctl', 'hw.ncpu=8'),
    lwpkit('sysctl', 'hw.ncpu=8', 'example:workers'),
    lwpkit('sysctl', 'kern.nswtch=lots'),
    lwpkit('sysctl', 'kern nswtch'),
    lwpkit('sysctl', 'example:workers', 'hw.ncpu'),
    lwpkit('sysctl', '--bogus'),
  ]);
  assertUsage(rs[0]!, /sysctl: unknown node 'kern\.nosuch'/);
  assertUsage(rs[1]!, /sysctl: unknown node 'kern\.nosuch'/);
  assertUsage(rs[2]!, /sysctl: hw\.ncpu is read-only/);
  assertUsage(rs[3]!, /sysctl: hw\.ncpu is read-only/);
  assert.equal(rs[3]!.out, '', 'nothing runs after a refused setting');
  assertUsage(rs[4]!, /sysctl: kern\.nswtch: expected an integer value, got 'lots'/);
  assertUsage(rs[5]!, /'kern nswtch' is not a sysctl name/);
  assertUsage(rs[6]!, /the program must come last/);
  assertUsage(rs[7]!, /sysctl: Unknown option '--bogus'/);
});

test('examples lists cycle; run --help documents --top', async () => {
  const [ex, help] = await Promise.all([lwpkit('examples'), lwpkit('run', '--help')]);
  assert.match(ex.out, /^cycle +Cycle: t1 waits for t2, t2 for t3, t3 for t1/m);
  assert.match(help.out, /--top/);
});

// --- progress -------------------------------------------------------------

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
let hasBar = true;
try { createRequire(import.meta.url).resolve('cli-progress'); } catch { hasBar = false; }

test('progress: a bar on a terminal (ticks / limit, LWPs alive), nothing when piped, same run', {
  skip: !hasScript ? 'no script(1) to give the run a terminal' : !hasBar ? 'cli-progress is not installed' : false,
}, async () => {
  const args = ['run', 'example:forever', '--ticks', '1200000', '--ps'];
  const piped = await lwpkit(...args);
  assert.equal(piped.code, 3);
  assert.equal(piped.err, '', 'silent when piped');
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
  const tty = spawnSync('script', ['-qec', cmd, '/dev/null'], {
    cwd: tmp, encoding: 'utf8', timeout: 60_000, env: { ...process.env, LWPKIT_PROGRESS_DELAY_MS: '0' },
  });
  assert.equal(tty.status, 3, tty.stderr);
  assert.match(tty.stdout, /lwpkit \[?[=\-█░ ]*\]? ?\d+\/1200000 ticks \| 2 LWPs alive/);
  // Once the bar's control sequences are gone, the run printed the same thing.
  const text = tty.stdout.replace(/\x1b7|\x1b8|\x1b\[\d*[GKJ]/g, '').replace(/\r\n/g, '\n');
  const outcome = text.indexOf('outcome:');
  assert.equal(text.slice(outcome), piped.out);
});

// --- sysctl settings, in-process ---------------------------------------------

function capture(): Io & { outText: () => string; errText: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return { out: (s) => out.push(s), err: (s) => err.push(s), outText: () => out.join('\n'), errText: () => err.join('\n') };
}

/** A writable node, as the subsystems that have tunables add them. */
function knob(m: Machine) {
  let v = 5;
  m.kernel.sysctl.add({ name: 'test.knob', description: 'a test tunable', get: () => v, set: (x) => (x < 0 ? 22 : ((v = x), 0)) });
}

test('sysctl name=value: checked alone, applied before a run and listed after it, refused values are usage errors', async () => {
  const a = capture();
  assert.equal(await cliMain(['sysctl', 'test.knob=7'], a, { machine: knob }), 0, a.errText());
  assert.equal(a.outText(), 'test.knob: 5 -> 7');

  const b = capture();
  let seen = -1;
  const hook = (m: Machine) => { knob(m); m.on(() => { if (seen < 0) seen = m.sysctl('test.knob'); }); };
  assert.equal(await cliMain(['sysctl', 'test.knob=9', 'example:workers', '--ncpu', '2'], b, { machine: hook }), 0, b.errText());
  assert.equal(seen, 9, 'set before the program ran');
  assert.match(b.outText(), /^outcome: idle/);
  assert.match(b.outText(), /^ {2}test\.knob += 9 +a test tunable$/m);

  const c = capture();
  assert.equal(await cliMain(['sysctl', 'test.knob=-1', 'example:workers'], c, { machine: knob }), 64);
  assert.equal(c.errText(), 'lwpkit: sysctl: test.knob=-1: value refused (EINVAL)');
  assert.equal(c.outText(), '');
});
