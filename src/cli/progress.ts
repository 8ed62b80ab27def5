/*
 * Progress of a long run on a terminal: ticks done / limit and LWPs alive,
 * one line on stderr, redrawn in place and erased when the run ends.
 *
 *   const bar = await startProgress(limit);   // null: stay silent
 *   ... bar?.update(m.now, alive) after each slice of the run ...
 *   bar?.stop();
 *
 * Contract:
 *  - Silent (null) unless stderr is a TTY, so piped and redirected output
 *    never carries control characters.  LWPKIT_PROGRESS=0 silences it on a
 *    TTY too.
 *  - Nothing is drawn until the run has taken LWPKIT_PROGRESS_DELAY_MS of
 *    wall time (default 300): short runs never flash a bar.
 *  - The bar is cli-progress's SingleBar, loaded on first use.  It is an
 *    optional dependency: when it is not installed there is no bar, and the
 *    run is otherwise the same.  The terminal's modes (cursor, line
 *    wrapping) are left alone, so a run killed mid-bar leaves the terminal
 *    as it was.
 *  - The run loop is synchronous, so cli-progress's timers never fire
 *    during it; it redraws synchronously in update(), at most 10 times a
 *    second.
 */

/** The part of cli-progress's SingleBar used here. */
interface SingleBar {
  start(total: number, value: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}
type SingleBarCtor = new (opts: Record<string, unknown>) => SingleBar;

export interface Progress {
  update(ticks: number, lwps: number): void;
  stop(): void;
}

/** cli-progress's SingleBar, or null when the package is not installed. */
async function loadBar(): Promise<SingleBarCtor | null> {
  // A variable specifier: the type-check must not require the package.
  const spec = 'cli-progress';
  try {
    const mod = (await import(spec)) as { SingleBar?: SingleBarCtor; default?: { SingleBar?: SingleBarCtor } };
    return mod.SingleBar ?? mod.default?.SingleBar ?? null;
  } catch {
    return null;
  }
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}

export async function startProgress(limit: number, opts: ProgressOptions = {}): Promise<Progress | null> {
  const stream = opts.stream ?? process.stderr;
  const env = opts.env ?? process.env;
  if (!stream.isTTY || env.LWPKIT_PROGRESS === '0') return null;
  const Bar = await loadBar();
  if (Bar === null) return null;
  const delay = Number(env.LWPKIT_PROGRESS_DELAY_MS ?? 300);
  const t0 = Date.now();
  let bar: SingleBar | null = null;
  return {
    update(ticks, lwps) {
      if (bar === null) {
        if (Date.now() - t0 < (Number.isFinite(delay) ? delay : 300)) return;
        bar = new Bar({
          stream,
          format: 'lwpkit {bar} {value}/{total} ticks | {lwps} LWPs alive | {duration}s',
          clearOnComplete: true,
          hideCursor: false,
          linewrap: true,
          fps: 10,
          barsize: 20,
        });
        bar.start(limit, ticks, { lwps });
        return;
      }
      bar.update(ticks, { lwps });
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
