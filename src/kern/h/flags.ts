/*
 * The names of the flag bits (l.flag, l.pflag, l.prflag, p.sflag), derived
 * from param.ts's own constants so that a new flag is named the moment it
 * is declared.  ps, show and the traces decode flag words with these.
 */
import * as param from '../param.ts';

/** A flag table: [bit, name], lowest bit first. */
export type FlagTable = readonly (readonly [number, string])[];

/** Single-bit constants of param.ts whose names start with `prefix`. */
function bits(prefix: string): FlagTable {
  return Object.entries(param)
    .filter(([n, v]) => n.startsWith(prefix) && typeof v === 'number' && v > 0 && (v & (v - 1)) === 0)
    .map(([n, v]) => [v as number, n] as const)
    .sort((a, b) => a[0] - b[0]);
}

export const LW_BITS = bits('LW_');
export const LP_BITS = bits('LP_');
export const LPR_BITS = bits('LPR_');
export const PS_BITS = bits('PS_');

/** The names of the bits of v that `table` knows, lowest bit first. */
export function flagNames(v: number, table: FlagTable): string[] {
  const names: string[] = [];
  for (const [bit, name] of table) if ((v & bit) !== 0) names.push(name);
  return names;
}
