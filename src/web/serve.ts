/*
 * Serving the viewer: bundle the page with esbuild and serve it, with the
 * recording, from 127.0.0.1 on a free port.
 *
 * Contract (Node only; the page itself never imports this file):
 *  - bundlePage(opts) builds one ES module for the browser from a small
 *    entry: page.ts with the challenges, and the user's program (if any)
 *    added to the scenarios of play mode.  'lwpkit' in
 *    the program's imports resolves to src/index.ts.  Nothing reachable
 *    from the bundle may import node:*: esbuild fails the build if so.
 *  - servePage(page) answers GET / (the HTML), /app.js (the bundle) and
 *    /recording.json (when there is one); anything else is 404.  It binds
 *    127.0.0.1 only, port 0 unless one is given, and loads nothing from
 *    anywhere else.
 */
import { createServer, type Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const WEB_DIR = dirname(fileURLToPath(import.meta.url));
const SRC_DIR = resolve(WEB_DIR, '..');

export interface BundleOptions {
  /** A program to play: its absolute path, the name to show, the CPUs to give it. */
  user?: { path: string; name: string; ncpu: number };
  mode: 'view' | 'play';
  /** Scenario to start play mode with. */
  play?: string;
}

/** The page's JavaScript, as one ES module. */
export async function bundlePage(opts: BundleOptions): Promise<string> {
  const page = JSON.stringify(join(WEB_DIR, 'page.ts'));
  const challenges = JSON.stringify(join(WEB_DIR, 'challenges.ts'));
  const cfg = { mode: opts.mode, play: opts.play ?? (opts.user ? 'user' : undefined) };
  const lines = [
    `import { startPage } from ${page};`,
    `import { CHALLENGES } from ${challenges};`,
    'const scenarios = [...CHALLENGES];',
  ];
  if (opts.user !== undefined) {
    const u = opts.user;
    lines.push(
      `import * as user from ${JSON.stringify(u.path)};`,
      'const program = typeof user.default === "function" ? user.default : user.main;',
      `scenarios.unshift({ id: 'user', title: ${JSON.stringify(`${u.name} (your program)`)}, goal: ${JSON.stringify(`Free play: you decide which CPU moves at every choice of ${u.name}.`)}, from: ${JSON.stringify(u.path)}, ncpu: ${u.ncpu}, program });`,
    );
  }
  lines.push(`void startPage({ ...${JSON.stringify(cfg)}, scenarios });`);
  const r = await build({
    stdin: { contents: lines.join('\n'), resolveDir: WEB_DIR, sourcefile: 'lwpkit-view-entry.ts', loader: 'ts' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    alias: { lwpkit: join(SRC_DIR, 'index.ts') },
    logLevel: 'silent',
    legalComments: 'none',
  });
  return r.outputFiles[0]!.text;
}

export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lwpkit view</title><link rel="icon" href="data:,">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:">
</head><body><script type="module" src="app.js"></script></body></html>
`;

export interface ServedPage {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Serve the page (and the recording's JSON text, if any) on 127.0.0.1. */
export function servePage(js: string, recordingJson: string | null, port = 0): Promise<ServedPage> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (type: string, body: string) => {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET') { res.writeHead(405); res.end(); return; }
    if (path === '/' || path === '/index.html') send('text/html; charset=utf-8', PAGE_HTML);
    else if (path === '/app.js') send('text/javascript; charset=utf-8', js);
    else if (path === '/recording.json' && recordingJson !== null) send('application/json', recordingJson);
    else { res.writeHead(404, { 'content-type': 'text/plain' }); res.end('not found\n'); }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      const p = typeof a === 'object' && a !== null ? a.port : port;
      ok({
        url: `http://127.0.0.1:${p}/`,
        server,
        close: () => new Promise<void>((done) => { server.closeAllConnections(); server.close(() => done()); }),
      });
    });
  });
}
