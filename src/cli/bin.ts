#!/usr/bin/env node
/*
 * The lwpkit executable (package.json "bin": dist/cli/bin.js).
 *
 * Contract:
 *  - Registers tsx's ES module hook, only so that a user's .ts program can
 *    be loaded (from a checkout, bin/lwpkit has registered it already), and
 *    then this package's own hooks (cli/hooks.ts): every `lwpkit` import of
 *    the program is the CLI's own copy.  No CommonJS hook: a .ts program is
 *    an ES module wherever it lives.
 *  - Exit status as main() returns it (cli/main.ts).
 */
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

const fromSource = import.meta.url.endsWith('.ts');
if (!fromSource) registerTsx();
register(fromSource ? './hooks.ts' : './hooks.js', import.meta.url, {
  data: { root: new URL('../../', import.meta.url).href, fromSource },
});
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
