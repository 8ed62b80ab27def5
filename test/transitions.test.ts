/* The transition check's lookup table says exactly what the TRANSITIONS list says, for every kind of LWP. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TRANSITIONS, legalTransition, type EdgeFor } from '../src/check/transitions.ts';
import type { Lwp } from '../src/kern/h/lwp.ts';
import { LP_RUNNING, LW_IDLE, LW_SYSTEM, STAT_NAMES, type LwpStat } from '../src/kern/param.ts';

const STATS = Object.keys(STAT_NAMES).map(Number) as LwpStat[];

function holds(f: EdgeFor, flag: number, pflag: number): boolean {
  switch (f) {
    case 'any': return true;
    case 'idle': return (flag & LW_IDLE) !== 0;
    case 'system': return (flag & LW_SYSTEM) !== 0;
    case 'running': return (pflag & LP_RUNNING) !== 0;
  }
}

test('legalTransition agrees with the TRANSITIONS list for every state pair and LWP kind', () => {
  let legal = 0, illegal = 0;
  for (const flag of [0, LW_IDLE, LW_SYSTEM, LW_IDLE | LW_SYSTEM]) {
    for (const pflag of [0, LP_RUNNING]) {
      const l = { flag, pflag } as Lwp;
      for (const from of STATS) {
        for (const to of STATS) {
          const want = from === to || TRANSITIONS.some((t) => t.from === from && t.to === to && holds(t.for, flag, pflag));
          assert.equal(legalTransition(l, from, to), want, `${STAT_NAMES[from]} -> ${STAT_NAMES[to]} flag ${flag} pflag ${pflag}`);
          if (want) legal++; else illegal++;
        }
      }
    }
  }
  // Both answers occur, and the kind-gated edges change the answer.
  assert.ok(legal > 0 && illegal > 0);
  const plain = { flag: 0, pflag: 0 } as Lwp;
  const idle = { flag: LW_IDLE, pflag: 0 } as Lwp;
  const onproc = TRANSITIONS.find((t) => t.for === 'idle')!;
  assert.equal(legalTransition(idle, onproc.from, onproc.to), true);
  assert.equal(legalTransition(plain, onproc.from, onproc.to), false);
});
