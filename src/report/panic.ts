/*
 * The panic report: what a kernel panic leaves for the person reading it.
 *
 *   const r = m.run();
 *   if (r.outcome === 'panic') console.log(formatPanic(panicReport(m, r.panic!)));
 *
 * It holds the panic message; what broke, classified by who panicked:
 *  - 'invariant': the checker (src/check/invariants.ts), whose messages
 *    start with "invariant violated:" — the invariant is the rest;
 *  - 'transition': the checker's transition test ("illegal state
 *    transition ..."): the 1.172 state diagram was left;
 *  - 'spin-deadlock': CPUs spinning on locks nobody will release (the
 *    report adds the wait-for graph of the spinning LWPs);
 *  - 'assertion': a KASSERT in the kernel code itself;
 *  - 'internal': the model threw something that is not a KernelPanic;
 * the last events before it (KernelPanic.events, the kernel keeps 50, as
 * formatEvent prints them) and the ps table as the machine stands, which,
 * since a panicked machine never moves again, is the table at the panic.
 *
 * Contract: reads only.  The events are there only if the kernel was
 * recording (checks on, the default, or a listener).
 */
import type { KernelView } from './view.ts';
import { formatEvent, type KEvent } from '../kern/events.ts';
import type { KernelPanic } from '../kern/panic.ts';
import { formatPs, psLines, type PsLine, type PsOptions } from './ps.ts';
import { formatWaitFor, waitForGraph, type WaitForGraph } from './waitfor.ts';

export type PanicKind = 'invariant' | 'transition' | 'spin-deadlock' | 'assertion' | 'internal';

export interface PanicReport {
  message: string;
  kind: PanicKind;
  /** The invariant, the transition rule or the assertion that broke, in words. */
  broke: string;
  events: KEvent[];
  ps: PsLine[];
  /** For a spin deadlock: who spins on what, and who holds it. */
  waitFor?: WaitForGraph;
}

const INVARIANT = 'invariant violated: ';

export function classifyPanic(message: string): { kind: PanicKind; broke: string } {
  if (message.startsWith(INVARIANT)) return { kind: 'invariant', broke: message.slice(INVARIANT.length) };
  if (message.startsWith('illegal state transition')) {
    return { kind: 'transition', broke: `every state change must be an edge of kern_lwp.c 1.172's diagram: ${message}` };
  }
  if (message.startsWith('spin deadlock')) return { kind: 'spin-deadlock', broke: 'a CPU spinning on a kernel lock must eventually get it; the graph below shows who holds what' };
  if (message.startsWith('internal error')) return { kind: 'internal', broke: message };
  return { kind: 'assertion', broke: `KASSERT: ${message}` };
}

export function panicReport(m: KernelView, panic: KernelPanic, opts: PsOptions = {}): PanicReport {
  const { kind, broke } = classifyPanic(panic.message);
  const r: PanicReport = { message: panic.message, kind, broke, events: [...panic.events], ps: psLines(m, opts) };
  if (kind === 'spin-deadlock') r.waitFor = waitForGraph(m);
  return r;
}

const WHO: Record<PanicKind, string> = {
  invariant: 'broken invariant (checked after every step)',
  transition: 'illegal transition (checked at every state change)',
  'spin-deadlock': 'spin deadlock',
  assertion: 'failed kernel assertion',
  internal: 'internal error of the model',
};

export function formatPanic(r: PanicReport): string {
  const out = [`panic: ${r.message}`, `${WHO[r.kind]}: ${r.broke}`, ''];
  if (r.waitFor !== undefined) out.push(formatWaitFor(r.waitFor), '');
  if (r.events.length === 0) out.push('no events recorded (run with checks on, or listen with m.on)');
  else {
    out.push(`last ${r.events.length} event${r.events.length === 1 ? '' : 's'}, oldest first:`);
    for (const e of r.events) out.push(formatEvent(e));
  }
  out.push('', 'ps at the panic:', formatPs(r.ps));
  return out.join('\n');
}
