import type { ModelInput } from '../../preprocessing/index.js';
import { FramewatchError } from '../errors/index.js';
import { runBatch, type NumericTensor } from './infer.js';
import type { ModelSession, PlainTensor } from './session.js';

export type Priority = 'interactive' | 'bulk';

export interface BatcherOptions {
  /** Largest batch sent to one session.run. */
  maxBatchSize: number;
  /**
   * Largest batch a bulk (video) item leads, at most maxBatchSize. On the 2-core CPU a video
   * runs faster with frames one by one (bench/RESULTS.md), while HTTP requests gain from batches.
   */
  bulkMaxBatchSize: number;
  /** How long a partial batch waits for company (Triton's max_queue_delay). */
  maxQueueDelayMs: number;
  /** Queued interactive items above this are rejected at once with QUEUE_FULL. */
  maxQueueSize: number;
  /** Deadline for interactive items; an item not started by then is dropped with TIMEOUT. 0 = none. */
  timeoutMs: number;
  /** Concurrent session.run calls. */
  instances: number;
  /** Of those, how many may be batches led by bulk (video) items; default `instances`. */
  bulkInstances?: number;
}

/** A second session for bulk batches, opened in the background on first use. */
export interface BulkSession {
  /** Starts opening it (once; later calls do nothing). */
  open(): void;
  /** The session once open; undefined before (and after a failed open). */
  current(): ModelSession | undefined;
}

/** Observations the batcher reports; metrics/ records them. */
export interface BatcherEvents {
  onBatch?(size: number, seconds: number): void;
  onQueued?(seconds: number): void;
  onDepth?(depth: number): void;
  onReject?(reason: 'queue_full' | 'timeout'): void;
}

interface Item {
  /** A preprocessed image or frame, batched with others of its shape ... */
  input?: ModelInput;
  /** ... or raw feeds (KServe v2), which carry their own batch dimension and run alone. */
  feeds?: Record<string, PlainTensor>;
  key: string;
  priority: Priority;
  enqueuedAt: number;
  resolve(out: Record<string, NumericTensor> & Record<string, PlainTensor>): void;
  reject(err: unknown): void;
  timer?: NodeJS.Timeout;
}

const shapeKey = (i: ModelInput) => `${i.dtype}:${i.dims.join('x')}`;

/**
 * Dynamic batcher with Triton's semantics: items of one input shape are grouped (PP-OCR's
 * dynamic sizes are grouped by shape, never padded), interactive items go before bulk (video)
 * ones, a full queue rejects at once, and an item past its deadline is dropped unrun. Batches
 * led by a bulk item run on `bulkSession` once it is open (the same model on fewer threads,
 * leaving ffmpeg a core): the first bulk item starts opening it, and bulk batches run on the
 * main session until it is ready, so nothing waits for the open. `instances` bounds the runs
 * in flight on both together.
 */
export function createBatcher(session: ModelSession, options: BatcherOptions, events: BatcherEvents = {}, bulkSession?: BulkSession) {
  const queue: Item[] = [];
  let busy = 0;
  let bulkBusy = 0;
  let admitted = 0;
  let delayTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let draining = false;
  let nextFeedsKey = 0;

  const depth = () => events.onDepth?.(queue.length);

  const remove = (item: Item) => {
    const at = queue.indexOf(item);
    if (at >= 0) queue.splice(at, 1);
    if (item.timer) clearTimeout(item.timer);
    depth();
  };

  /** Largest batch the item may lead: raw feeds carry their own batch and never get company, so they never wait for it. */
  const limitFor = (head: Item) => (head.feeds ? 1 : head.priority === 'bulk' ? Math.min(options.bulkMaxBatchSize, options.maxBatchSize) : options.maxBatchSize);

  /** The next batch: the first item by priority then age, plus up to limit-1 of its shape. */
  const nextBatch = (): Item[] => {
    const bulkRoom = bulkBusy < (options.bulkInstances ?? options.instances);
    const head = queue.find((i) => i.priority === 'interactive') ?? (bulkRoom ? queue[0] : undefined);
    if (!head) return [];
    const sameShape = queue.filter((i) => i.key === head.key);
    sameShape.sort((a, b) => (a.priority === b.priority ? a.enqueuedAt - b.enqueuedAt : a.priority === 'interactive' ? -1 : 1));
    return sameShape.slice(0, limitFor(head));
  };

  const schedule = () => {
    while (!closed && busy < options.instances && queue.length > 0) {
      let batch = nextBatch();
      if (batch.length === 0) return;
      const waitedMs = Date.now() - Math.min(...batch.map((i) => i.enqueuedAt));
      if (batch.length < limitFor(batch[0]) && waitedMs < options.maxQueueDelayMs) {
        // Wait for company, but no longer than the oldest item's remaining delay.
        if (!delayTimer) {
          delayTimer = setTimeout(() => {
            delayTimer = undefined;
            schedule();
          }, options.maxQueueDelayMs - waitedMs);
        }
        return;
      }
      batch = batch.filter((i) => queue.includes(i));
      batch.forEach(remove);
      void execute(batch);
    }
  };

  async function execute(batch: Item[]) {
    const bulk = batch[0].priority === 'bulk';
    busy++;
    if (bulk) bulkBusy++;
    const started = Date.now();
    for (const item of batch) events.onQueued?.((started - item.enqueuedAt) / 1000);
    try {
      const target = (bulk && bulkSession?.current()) || session;
      const outputs = batch[0].feeds ? [await target.run(batch[0].feeds)] : await runBatch(target, batch.map((i) => i.input!));
      events.onBatch?.(batch.length, (Date.now() - started) / 1000);
      batch.forEach((item, i) => item.resolve(outputs[i] as never));
    } catch (err) {
      const wrapped = new FramewatchError('INFERENCE_FAILED', `inference failed: ${(err as Error).message}`, undefined, { cause: err });
      batch.forEach((item) => item.reject(wrapped));
    } finally {
      busy--;
      if (bulk) bulkBusy--;
      schedule();
    }
  }

  const queueFull = () => {
    events.onReject?.('queue_full');
    return new FramewatchError('QUEUE_FULL', `the queue holds ${options.maxQueueSize} requests; retry shortly`, { retryAfterS: 1 });
  };

  function assertRoom(): void {
    if (closed || draining) throw new FramewatchError('MODEL_NOT_READY', 'the model is unloading');
    if (admitted >= options.maxQueueSize + options.instances * options.maxBatchSize) throw queueFull();
  }

  return {
    /**
     * Admission control for interactive requests, taken once the input is here and before
     * decode or preprocessing: a request beyond what the queue and the running instances can
     * hold is rejected at once, so shedding load costs almost nothing. Release when done.
     */
    admit(): () => void {
      assertRoom();
      admitted++;
      let released = false;
      return () => {
        if (!released) admitted--;
        released = true;
      };
    },
    /**
     * Throws QUEUE_FULL (or MODEL_NOT_READY) when admit() would, without taking a slot: the
     * check made before an upload is read, so a slot is held only once the body is here.
     */
    assertRoom,
    /** Queues one input; resolves with its outputs. */
    run(input: ModelInput, priority: Priority = 'interactive'): Promise<Record<string, NumericTensor>> {
      return enqueue({ input, key: shapeKey(input) }, priority);
    },
    /** Queues raw feeds (their own batch); they share the queue, limits and priorities. */
    runFeeds(feeds: Record<string, PlainTensor>, priority: Priority = 'interactive'): Promise<Record<string, PlainTensor>> {
      return enqueue({ feeds, key: `feeds:${nextFeedsKey++}` }, priority);
    },
    depth: () => queue.length,
    /** Stops taking work and resolves once everything queued or running has finished. */
    async drain(): Promise<void> {
      draining = true;
      while (queue.length > 0 || busy > 0) await new Promise((r) => setTimeout(r, 10));
    },
    close,
  };

  function enqueue<T>(what: Pick<Item, 'input' | 'feeds' | 'key'>, priority: Priority): Promise<T> {
    if (closed || draining) return Promise.reject(new FramewatchError('MODEL_NOT_READY', 'the model is unloading'));
    if (priority === 'interactive' && queue.filter((i) => i.priority === 'interactive').length >= options.maxQueueSize) {
      return Promise.reject(queueFull());
    }
    return new Promise((resolve, reject) => {
      const item: Item = { ...what, priority, enqueuedAt: Date.now(), resolve: resolve as Item['resolve'], reject };
      if (priority === 'interactive' && options.timeoutMs > 0) {
        item.timer = setTimeout(() => {
          if (!queue.includes(item)) return; // already running: let it finish
          remove(item);
          events.onReject?.('timeout');
          reject(new FramewatchError('TIMEOUT', `not started within ${options.timeoutMs} ms`, { timeoutMs: options.timeoutMs }));
        }, options.timeoutMs);
        item.timer.unref();
      }
      if (priority === 'bulk') bulkSession?.open();
      queue.push(item);
      depth();
      schedule();
    });
  }

  /** Rejects everything queued; running batches finish. */
  function close(): void {
    closed = true;
    if (delayTimer) clearTimeout(delayTimer);
    for (const item of [...queue]) {
      remove(item);
      item.reject(new FramewatchError('MODEL_NOT_READY', 'the model is unloading'));
    }
  }
}

export type Batcher = ReturnType<typeof createBatcher>;
