/* Printing helpers for the demo: the outcome, an event summary and the ps -s table. */
import type { KEvent, Machine, RunResult } from '../src/index.ts';
import { psTable } from '../src/report/ps.ts';

export function printSummary(m: Machine, r: RunResult, pid: number, counts?: Map<string, number>): void {
  console.log(`outcome: ${r.outcome} at tick ${r.ticks} after ${r.steps} steps`);
  if (r.panic) console.log(`panic: ${r.panic.message}`);
  if (r.blocked) for (const b of r.blocked) console.log(`  blocked: ${b.pid}.${b.lid} ${b.stat} ${b.wchan}`);
  const p = m.proc(pid)!;
  console.log(`process ${pid} (${p.name}): ${p.stat}, exit status ${p.exitStatus ?? '-'}${p.fault ? `, killed: ${p.fault}` : ''}, ran ${p.rtime} ticks`);
  if (counts) console.log(`events: ${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log('');
  console.log(psTable(m));
}

export function countEvents(m: Machine): Map<string, number> {
  const counts = new Map<string, number>();
  m.on((e: KEvent) => {
    const key = e.type === 'syscall' ? `${e.name}` : e.type;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  return counts;
}
