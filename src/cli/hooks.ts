/*
 * Module hooks of the lwpkit command line (node:module register), so that a
 * user's program always gets the CLI's own copy of lwpkit.
 *
 * Contract:
 *  - A bare `lwpkit` or `lwpkit/<subpath>` import, from any folder, resolves
 *    to the files of the package this CLI runs from, through its
 *    package.json `exports`; whatever the user's folder has (no
 *    package.json, another lwpkit in its node_modules) does not matter.
 *  - Running from the compiled package (dist/), an import of one of the
 *    package's own sources (src/X.ts, as the bundled examples do) is sent
 *    to dist/X.js: one copy, so `e instanceof SyscallError` holds.
 *    Running from a checkout, `exports`' dist/X.js targets are sent to
 *    src/X.ts instead: there is no build step there.
 *  - .ts and .mts files outside node_modules load as ES modules, whatever
 *    the nearest package.json's "type" says (the CommonJS path would give
 *    the program a second copy of lwpkit).  tsx, registered before these
 *    hooks, strips the types.
 */
import { readFileSync } from 'node:fs';

export interface HookData {
  /** file: URL of the package root, ending in '/'. */
  root: string;
  /** True when the CLI runs from src/*.ts (a checkout) rather than dist/. */
  fromSource: boolean;
}

type Resolved = { url: string; format?: string | null; shortCircuit?: boolean };
type NextResolve = (specifier: string, context: ResolveContext) => Promise<Resolved>;
interface ResolveContext { parentURL?: string; conditions: string[]; importAttributes?: Record<string, string> }
type Loaded = { format: string | null | undefined; source?: unknown; shortCircuit?: boolean };
type NextLoad = (url: string, context: LoadContext) => Promise<Loaded>;
interface LoadContext { format?: string | null; conditions: string[]; importAttributes?: Record<string, string> }

let root = '';
let fromSource = false;
/** `exports` subpath ('.', './report', ...) -> its import target, a URL. */
const targets = new Map<string, string>();

type ExportEntry = string | { import?: string; default?: string };

export function initialize(data: HookData): void {
  root = data.root;
  fromSource = data.fromSource;
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { exports?: Record<string, ExportEntry> };
  for (const [sub, entry] of Object.entries(pkg.exports ?? {})) {
    const target = typeof entry === 'string' ? entry : entry.import ?? entry.default;
    if (target !== undefined) targets.set(sub, canonical(new URL(target, root).href));
  }
}

/** The one URL the CLI itself uses for a file of its own package. */
function canonical(url: string): string {
  const src = root + 'src/';
  const dist = root + 'dist/';
  if (fromSource && url.startsWith(dist) && url.endsWith('.js')) return src + url.slice(dist.length, -3) + '.ts';
  if (!fromSource && url.startsWith(src) && url.endsWith('.ts')) return dist + url.slice(src.length, -3) + '.js';
  return url;
}

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<Resolved> {
  if (specifier === 'lwpkit' || specifier.startsWith('lwpkit/')) {
    const sub = specifier === 'lwpkit' ? '.' : '.' + specifier.slice('lwpkit'.length);
    const url = targets.get(sub);
    if (url !== undefined) return { url, format: 'module', shortCircuit: true };
  }
  const r = await next(specifier, context);
  const url = canonical(r.url);
  return url === r.url ? r : { url, format: 'module', shortCircuit: true };
}

export async function load(url: string, context: LoadContext, next: NextLoad): Promise<Loaded> {
  if (url.startsWith('file:') && /\.m?ts$/.test(new URL(url).pathname) && !url.includes('/node_modules/')) {
    const r = await next(url, { ...context, format: 'module' });
    return { ...r, format: 'module' };
  }
  return next(url, context);
}
