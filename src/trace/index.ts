/*
 * lwpkit/trace: a run's kernel events as Chrome trace JSON (Perfetto),
 * Linux ftrace text and kdump-style text, and the Chrome trace's checker.
 */
export { toChromeTrace } from './chrome.ts';
export type { ChromeTrace, ChromeTraceOptions, TraceEvent } from './chrome.ts';
export { checkTrace } from './checkTrace.ts';
export { toFtrace } from './ftrace.ts';
export type { FtraceOptions } from './ftrace.ts';
export { toKtrace } from './ktrace.ts';
export type { KtraceOptions } from './ktrace.ts';
export { namesFromMachine } from './common.ts';
export type { TraceNames } from './common.ts';
