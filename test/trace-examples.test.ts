/*
 * Every bundled example's exports pass the format checks: the Chrome trace
 * (with the wait-for graph when the run deadlocks) passes checkTrace, and
 * every ftrace line matches the systrace line grammar Perfetto reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { Machine, type KEvent, type ProgramFn } from '../src/index.ts';
import { listExamples } from '../src/cli/main.ts';
import { toChromeTrace } from '../src/trace/chrome.ts';
import { checkTrace } from '../src/trace/checkTrace.ts';
import { namesFromMachine } from '../src/trace/common.ts';
import { toFtrace } from '../src/trace/ftrace.ts';
import { waitForGraph } from '../src/report/waitfor.ts';

/** Perfetto's systrace line: task-pid (tgid) [cpu] flags ts: event: args. */
const LINE = /-(\d+)\s+\(?\s*(\d+|-+)?\)?\s?\[(\d+)\]\s*[a-zA-Z0-9.]{0,4}\s+(\d+\.\d+):\s+(\S+):/;

const examples = listExamples();

test('the examples are there, the cycle among them', () => {
  assert.ok(examples.length >= 5);
  assert.ok(examples.some((e) => e.name === 'cycle'));
});

for (const ex of examples) {
  test(`example ${ex.name}: Chrome trace and ftrace pass their format checks`, async () => {
    const mod = await import(pathToFileURL(ex.path).href) as { default?: ProgramFn; main?: ProgramFn };
    const program = (typeof mod.default === 'function' ? mod.default : mod.main)!;
    const m = new Machine({ ncpu: 2, seed: 1 });
    const events: KEvent[] = [];
    m.on((e) => events.push(e));
    m.spawn(program, { name: ex.name });
    const r = m.run({ maxTicks: 5000 });
    const waitFor = r.outcome === 'deadlock' ? waitForGraph(m) : undefined;
    const trace = JSON.parse(JSON.stringify(toChromeTrace(events, { endTicks: r.ticks, deadlock: r.blocked, ncpu: 2, names: namesFromMachine(m), waitFor })));
    assert.deepEqual(checkTrace(trace), []);
    if (waitFor !== undefined) assert.ok(trace.traceEvents.some((e: { name: string }) => e.name === 'blocked'));
    const lines = toFtrace(events, { ncpu: 2, names: namesFromMachine(m) }).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.ok(lines.length > 0);
    for (const l of lines) assert.match(l, LINE);
  });
}
