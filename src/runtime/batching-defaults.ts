import type { BatcherOptions } from './batcher.js';
import type { Provider } from './session.js';

/**
 * Measured defaults per provider. On the 2-core CPU a bare session.run is slower per frame
 * at batch 4 (object-detector 70 ms vs 49), but through the server batches of up to 4 served
 * more at concurrency 16 (1.04x the raw pipeline vs 0.59x unbatched, bench/RESULTS.md) at the
 * lowest CPU per request: the per-call cost of the worker hop and of session.run is shared.
 * One instance uses every core. CUDA gains from larger batches (not measured here).
 */
export const PROVIDER_DEFAULTS: Record<Provider, BatcherOptions> = {
  cpu: { maxBatchSize: 4, maxQueueDelayMs: 2, maxQueueSize: 8, timeoutMs: 30_000, instances: 1 },
  cuda: { maxBatchSize: 8, maxQueueDelayMs: 2, maxQueueSize: 64, timeoutMs: 30_000, instances: 2 },
};

export interface BatcherSettings {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  maxQueueSize: number;
  requestTimeoutMs: number;
  instances: number;
}

/** Manifest overrides, then server config (0 or -1 = unset), then the provider default. */
export function resolveBatcherOptions(provider: Provider, config: BatcherSettings, manifest: Partial<BatcherOptions> = {}): BatcherOptions {
  const d = PROVIDER_DEFAULTS[provider];
  return {
    maxBatchSize: manifest.maxBatchSize ?? (config.maxBatchSize || d.maxBatchSize),
    maxQueueDelayMs: manifest.maxQueueDelayMs ?? (config.maxQueueDelayMs >= 0 ? config.maxQueueDelayMs : d.maxQueueDelayMs),
    maxQueueSize: manifest.maxQueueSize ?? (config.maxQueueSize || d.maxQueueSize),
    timeoutMs: manifest.timeoutMs ?? config.requestTimeoutMs,
    instances: manifest.instances ?? (config.instances || d.instances),
  };
}
