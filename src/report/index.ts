/*
 * lwpkit/report: the reports the README and the command line show, as
 * functions of a machine.  Each returns a value (or text) and changes nothing.
 */
export { psTable, psLines, formatPs } from './ps.ts';
export type { PsLine, PsOptions } from './ps.ts';
export { topReport, formatTop } from './top.ts';
export type { TopReport, TopCpu, TopLwp, TopOptions } from './top.ts';
export { waitForGraph, formatWaitFor } from './waitfor.ts';
export type { WaitForGraph, WaitForEntry, WaitTarget, LwpId } from './waitfor.ts';
export { panicReport, formatPanic } from './panic.ts';
export type { PanicReport, PanicKind } from './panic.ts';
export { RunObserver } from './observe.ts';
export { showLwp, showProc, showCpu, whatis } from './show.ts';
