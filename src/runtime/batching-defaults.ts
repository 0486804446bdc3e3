import type { BatcherOptions } from './batcher.js';
import type { Provider } from './session.js';

/**
 * Measured defaults per provider. On the 2-core CPU, batching loses (object-detector: 49 ms
 * per frame at batch 1, 70 at batch 4; text-detector 61 vs 99), so CPU runs single items
 * with one instance using every core. CUDA gains from batches (see README).
 */
export const PROVIDER_DEFAULTS: Record<Provider, BatcherOptions> = {
  cpu: { maxBatchSize: 1, maxQueueDelayMs: 0, maxQueueSize: 8, timeoutMs: 30_000, instances: 1 },
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
