/*
 * Shrinking: from a failing schedule, a smaller one that fails the same
 * way (the same failure signature).  Candidates zero out non-default
 * decisions, first in large chunks and then one at a time (delta
 * debugging), then lower what is left; each candidate is run as a guided
 * replay, and an accepted one is re-recorded, so the result is an exact
 * schedule that replays strictly.  The order of preference is fewer
 * delays, fewer preemptions and jitters, then fewer other non-default
 * decisions; the tail past the failure is dropped by the re-recording.
 */
import { failureSignature, guidedPolicy, runScenario, type ScenarioFn } from './run.ts';
import type { Schedule } from './schedule.ts';

export interface ShrinkResult {
  schedule: Schedule;
  /** Guided replays tried. */
  tries: number;
}

/** Kind order in which non-default decisions are removed first. */
const ORDER = ['d', 'p', 'j', 'c'];

export function shrinkSchedule(scenario: ScenarioFn, start: Schedule, message: string, maxTries = 400): ShrinkResult {
  const sig = failureSignature(message);
  let cur = start;
  let tries = 0;
  const attempt = (answers: number[]): boolean => {
    if (tries >= maxTries) return false;
    tries++;
    const out = runScenario(scenario(), () => guidedPolicy({ kinds: cur.kinds, answers }));
    if (out.failure === null || failureSignature(out.failure) !== sig) return false;
    const log = out.log;
    cur = { ...cur, strategy: 'shrink', kinds: log.kinds.join(''), options: log.options, answers: log.answers };
    return true;
  };
  const nondefault = (kind: string): number[] => {
    const xs: number[] = [];
    for (let i = 0; i < cur.answers.length; i++) if (cur.answers[i] !== 0 && (kind === '' || cur.kinds[i] === kind)) xs.push(i);
    return xs;
  };
  // Zero chunks of one kind at a time, halving the chunk until single decisions.
  for (const kind of ORDER) {
    let xs = nondefault(kind);
    for (let size = Math.max(1, xs.length >> 1); size >= 1 && tries < maxTries; size = size === 1 ? 0 : size >> 1) {
      for (let at = 0; at < xs.length && tries < maxTries; ) {
        const chunk = new Set(xs.slice(at, at + size));
        const answers = cur.answers.map((a, i) => (chunk.has(i) ? 0 : a));
        if (attempt(answers)) xs = nondefault(kind);
        else at += size;
      }
    }
  }
  // Lower what is left: a smaller option is closer to the default.
  for (const i of nondefault('')) {
    if (i >= cur.answers.length) break;
    for (let a = 1; a < cur.answers[i]!; a++) {
      const answers = [...cur.answers];
      answers[i] = a;
      if (attempt(answers)) break;
    }
  }
  return { schedule: cur, tries };
}
