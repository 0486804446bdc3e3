import type { BatcherOptions } from './batcher.js';
import type { Provider } from './session.js';

/**
 * Measured defaults per provider (2-core CPU, object-detector v2, bench/RESULTS.md):
 * - HTTP images gain from batches of up to 4: 1.12-1.19x the req/s of batch 1 at
 *   concurrency 4, at less CPU per request (the worker hop and session.run are shared).
 * - Video frames lose: a 60 s clip ran 1.06x faster with batch 1, at 0.88x the process CPU
 *   (batch 4 while ffmpeg and sharp run beside ORT costs ORT more CPU per frame). So bulk
 *   items lead batches of 1 on CPU.
 * - Two instances, each a session in its own worker (registry/session-pool.ts): a two-thread
 *   session.run waits at every operator for the slower thread, on two cores often the one
 *   sharing its core with decoding, so overlapping requests gain from a second session on
 *   one thread (ORT alone: 1.33x the images/s in two one-thread workers; the server at
 *   concurrency 4 about 1.1x, bench/RESULTS.md, issue 27). Video frames stay one batch at
 *   a time (bulkInstances), so ffmpeg keeps its core as before.
 * CUDA gains from larger batches (not measured here).
 */
export const PROVIDER_DEFAULTS: Record<Provider, BatcherOptions> = {
  cpu: { maxBatchSize: 4, bulkMaxBatchSize: 1, maxQueueDelayMs: 2, maxQueueSize: 8, timeoutMs: 30_000, instances: 2, bulkInstances: 1 },
  cuda: { maxBatchSize: 8, bulkMaxBatchSize: 8, maxQueueDelayMs: 2, maxQueueSize: 64, timeoutMs: 30_000, instances: 2 },
};

/** Server-wide batcher settings; an unset one falls back to the provider default. */
export interface BatcherSettings {
  maxBatchSize?: number;
  /** Video frames per batch. */
  videoBatchSize?: number;
  maxQueueDelayMs?: number;
  maxQueueSize?: number;
  requestTimeoutMs: number;
  instances?: number;
}

/** Manifest overrides, then server config, then the provider default. */
export function resolveBatcherOptions(provider: Provider, config: BatcherSettings, manifest: Partial<BatcherOptions> = {}): BatcherOptions {
  const d = PROVIDER_DEFAULTS[provider];
  const maxBatchSize = manifest.maxBatchSize ?? (config.maxBatchSize ?? d.maxBatchSize);
  return {
    maxBatchSize,
    bulkMaxBatchSize: Math.min(maxBatchSize, manifest.bulkMaxBatchSize ?? (config.videoBatchSize ?? d.bulkMaxBatchSize)),
    maxQueueDelayMs: manifest.maxQueueDelayMs ?? config.maxQueueDelayMs ?? d.maxQueueDelayMs,
    maxQueueSize: manifest.maxQueueSize ?? (config.maxQueueSize ?? d.maxQueueSize),
    timeoutMs: manifest.timeoutMs ?? config.requestTimeoutMs,
    instances: manifest.instances ?? (config.instances ?? d.instances),
    ...(d.bulkInstances === undefined ? {} : { bulkInstances: d.bulkInstances }),
  };
}
