import type { BulkSession, ModelSession } from '../runtime/index.js';

/** A session opened in the background on first use (BulkSession), and released with its version. */
export interface LazySession extends BulkSession {
  /** Releases the session once any open under way has ended; none opens after this. */
  release(): Promise<void>;
}

/** A LazySession over `openIt`; a failed open is reported to `onFailure` and leaves none open. */
export function lazySession(openIt: () => Promise<ModelSession>, onFailure: (err: unknown) => void): LazySession {
  let opening: Promise<ModelSession | undefined> | undefined;
  let opened: ModelSession | undefined;
  let released = false;
  return {
    open() {
      if (opening || released) return;
      opening = openIt().then(
        (session) => (opened = session),
        (err: unknown) => {
          onFailure(err);
          return undefined;
        },
      );
    },
    current: () => (released ? undefined : opened),
    async release() {
      released = true;
      await (await opening)?.release();
      opened = undefined;
    },
  };
}
