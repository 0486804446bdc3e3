import { isFramewatchError } from '../errors/index.js';
import type { Logger } from '../logging/logger.js';
import { metrics } from '../metrics/index.js';
import { closeVersion, retireVersion } from './load-version.js';
import type { ReadyModel, VersionEntry } from './types.js';

/**
 * One version's load and unload, one operation at a time. Requests are not queued: the
 * newest one not yet started replaces any other, so the last request wins.
 */
export interface VersionLifecycle {
  /** Asks for a (re)load; resolves once this version has no operation left to run. */
  load(): Promise<void>;
  /** Stops serving at once; resolves once the copy is released and no operation is left. */
  unload(): Promise<void>;
  /** Shutdown: releases what serves, waits for an operation under way, and starts none after. */
  close(): Promise<void>;
}

export interface LifecycleDeps {
  /** Opens a new copy of the version (loadVersion). */
  open(entry: VersionEntry): Promise<ReadyModel>;
  /** Called wherever the entry's state changes (pipelines follow their steps). */
  changed(): void;
  logger: Logger;
}

type Request = 'load' | 'unload';

/** A load failure as /v1/models shows it: the code first when it says more than 'not ready'. */
const loadFailureReason = (err: unknown): string =>
  isFramewatchError(err) && err.code !== 'MODEL_NOT_READY' ? `${err.code}: ${err.message}` : (err as Error).message;

/** The lifecycle of `entry`: the only code that sets its `ready` copy and its model state. */
export function createVersionLifecycle(entry: VersionEntry, { open, changed, logger: log }: LifecycleDeps): VersionLifecycle {
  let wanted: Request | undefined; // the newest request not yet started
  let running: Promise<void> | undefined; // the loop running the requests, while there is one
  let closed = false;
  // Copies taken out of service by an unload, released by the loop before the next operation.
  const stale: ReadyModel[] = [];
  const ids = { model: entry.name, version: entry.version };
  const gauge = (up: boolean) => metrics.modelReady.set({ model: entry.name, version: String(entry.version), provider: up ? entry.provider! : 'none' }, up ? 1 : 0);
  const retire = (ready: ReadyModel) => retireVersion(ready).catch((err: unknown) => log.error('releasing a model version failed', { ...ids, reason: (err as Error).message }));
  // An unload (or shutdown) asked for since the load under way began: its new copy must not serve.
  const unwanted = () => closed || wanted === 'unload';

  function kick(): Promise<void> {
    running ??= drain();
    return running;
  }

  async function drain(): Promise<void> {
    // One tick first, so that `running` is set before the loop can find nothing to do and end.
    await undefined;
    try {
      while (wanted || stale.length) {
        await Promise.all(stale.splice(0).map(retire));
        const request = wanted;
        wanted = undefined;
        if (request === 'load') await loadOnce();
        else if (request === 'unload') log.info('model version unloaded', ids);
      }
    } finally {
      running = undefined; // in the same tick as the empty check: no request slips between
    }
  }

  /** Opens a new copy and swaps it in; on failure whatever served before keeps serving. */
  async function loadOnce(): Promise<void> {
    entry.state = entry.ready ? 'READY' : 'LOADING';
    changed();
    let fresh: ReadyModel;
    try {
      fresh = await open(entry);
    } catch (err) {
      if (!unwanted()) failed(loadFailureReason(err));
      return;
    }
    if (unwanted()) return void (await retire(fresh));
    const previous = entry.ready;
    entry.ready = fresh;
    entry.provider = fresh.session.provider;
    entry.state = 'READY';
    entry.reason = undefined;
    gauge(true);
    changed();
    log.info('model version ready', { ...ids, provider: entry.provider, threads: fresh.threads, batching: fresh.batching });
    if (previous) await retire(previous); // after the swap: in-flight work on the old one finishes
  }

  function failed(reason: string): void {
    if (entry.ready) {
      entry.reason = `reload failed, still serving the loaded copy: ${reason}`;
      log.error('model version reload failed; the old session keeps serving', { ...ids, reason });
    } else {
      entry.state = 'FAILED';
      entry.reason = reason;
      gauge(false);
      log.error('model version failed', { ...ids, reason });
    }
    changed();
  }

  return {
    load() {
      if (closed) return Promise.resolve();
      wanted = 'load';
      if (!entry.ready) entry.state = 'LOADING';
      changed();
      return kick();
    },
    unload() {
      wanted = 'unload';
      if (entry.ready) stale.push(entry.ready);
      entry.ready = undefined;
      entry.state = 'UNLOADED';
      entry.reason = undefined;
      gauge(false);
      changed();
      return kick();
    },
    async close() {
      closed = true;
      wanted = undefined;
      const ready = entry.ready;
      entry.ready = undefined;
      await Promise.all([ready && closeVersion(ready), running]);
    },
  };
}

/**
 * Makes the requests for one key take effect in the order they were made: each `register`
 * starts once the one before it has returned (not once its operation has ended), so a load
 * that must read its manifest first cannot overtake an unload made after it.
 */
export function createRequestOrder(): <T>(key: string, register: () => Promise<T> | T) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return (key, register) => {
    const registered = (tails.get(key) ?? Promise.resolve()).then(register);
    const tail = registered.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => tails.get(key) === tail && tails.delete(key));
    return registered;
  };
}
