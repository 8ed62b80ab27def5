/*
 * The stop that never finished: examples/stop-continue.ts under a schedule
 * the explorer found (ncpu 4, shrunk).  SIGSTOP finds the sleeper LWP in a
 * sleep proc_stop does not stop; the other two stop at their boundaries;
 * then the sleeper wakes and exits.  Its lwp_exit takes p_nrlwps to 0 while
 * the process is stopping, and before the fix nobody ran proc_stop_done:
 * the parent's waitpid(untraced) slept forever (a deadlock).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guidedPolicy, runScenario, scenarioOf } from '../src/explore/run.ts';
import { parseSchedule } from '../src/explore/schedule.ts';
import { SIGSTOP } from '../src/index.ts';
import type { KEvent } from '../src/kern/events.ts';
import * as stopContinue from '../examples/stop-continue.ts';

// lwpkit explore examples/stop-continue.ts --ncpu 4 --strategy portfolio (seed 1), shrunk.
const SCHEDULE = {"lwpkit":"0.1.0","strategy":"shrink","seed":1,"run":12,"ncpu":4,"machine":{},"maxTicks":200000,"kinds":"cdccdccjdjdddddjpddjddddjdcdcdcdcdcjpcdcddcjpjddcjdcjdcpcpdcpcpdcdcdcdcdcdcdcdcddcdcjcdccdcdcdcdccdcdcdcdcddddd","options":[4,4,4,3,4,3,2,3,4,3,4,4,4,4,4,3,3,4,4,3,4,4,4,4,3,4,2,4,2,4,2,4,2,4,2,3,3,2,4,2,4,4,2,3,3,3,4,4,2,3,4,2,3,4,3,3,2,3,4,3,3,2,3,4,2,4,2,4,2,4,2,4,2,4,2,4,2,4,2,4,4,2,4,2,3,3,4,3,2,4,3,4,3,4,3,4,3,2,4,2,4,2,4,2,4,2,4,4,4,4,4],"answers":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,0,1,0,1,0,1,0,1,0,0,1,0,0,1,0,0,0,0,0,0,1,0,0,0,0,0,1,1,0,1,0,1,1,0,1,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]};

test('an LWP that exits last while its process is stopping finishes the stop: the parent sees it stopped', () => {
  const scenario = scenarioOf(stopContinue as Record<string, unknown>)!;
  const sched = parseSchedule(SCHEDULE);
  let stopPosted = false;
  let stopped = false;
  let exitsWhileStopping = 0; // LWPs of the child that exit between SIGSTOP and the stop
  // The schedule, decision for decision, then the default answers: with the
  // fix the run goes on past where it used to deadlock.
  const { failure, log } = runScenario({ ...scenario(), ncpu: sched.ncpu, maxTicks: sched.maxTicks }, () => guidedPolicy(sched), (mm) => {
    mm.on((e: KEvent) => {
      if (e.type === 'signal' && e.what === 'post' && e.sig === SIGSTOP) stopPosted = true;
      if (e.type === 'state' && e.to === 'ZOMB' && e.pid === 2 && stopPosted && !stopped) exitsWhileStopping++;
      if (e.type === 'proc' && e.what === 'stop' && e.pid === 2) stopped = true;
    });
  });
  // The window: an LWP of the child exited after the SIGSTOP and before the stop was done.
  assert.equal(exitsWhileStopping, 1, 'the schedule no longer exits an LWP mid-stop');
  assert.ok(stopped, 'the child never became SSTOP');
  assert.equal(failure, null, failure ?? '');
  assert.ok(log.length >= sched.answers.length);
});
