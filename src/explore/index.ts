/* lwpkit/explore: the schedule explorer (the same names the main entry exports). */
export { explore, replay, makeStrategy, STRATEGIES } from './explore.ts';
export type { ExploreOptions, ExploreReport, Found, StrategyName, StrategyStats } from './explore.ts';
export { exploreParallel } from './workers.ts';
export { defaultCheck, ReplayDivergence } from './run.ts';
export type { Scenario, ScenarioFn } from './run.ts';
export type { Schedule, ScheduleSize } from './schedule.ts';
export type { LockOrderReversal, OrderEdge } from './lockorder.ts';
