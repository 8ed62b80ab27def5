/* Printing helpers shared by the examples: an event summary and a ps table. */
import type { KEvent, Machine, RunResult } from '../src/index.ts';

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

export function psTable(m: Machine): string {
  const rows = m.ps();
  const head = ['PID', 'LID', 'STAT', 'CPU', 'PRI', 'WCHAN', 'NAME', 'FLAGS'];
  const cells = rows.map((r) => [r.pid, r.lid, r.stat, r.cpu, r.pri, r.wchan || '-', r.name || '-', r.flags.join(',') || '-'].map(String));
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const fmt = (c: string[]) => c.map((s, i) => s.padEnd(width[i]!)).join('  ').trimEnd();
  return [fmt(head), ...cells.map(fmt)].join('\n');
}
