import type { Config } from '../../config/index.js';
import type { Logger } from '../../logging/logger.js';
import type { ModelRepository } from '../../registry/index.js';
import { createEmbeddedQueue } from './embedded-queue.js';
import type { JobQueue } from './queue.js';
import { createSharedQueue } from './shared-queue.js';
import type { JobStore } from './store.js';

/** The job queue the config asks for: BullMQ on FRAMEWATCH_REDIS_URL, else the embedded one. */
export function openJobQueue(config: Config, store: JobStore, repository: ModelRepository, logger: Logger, modelsReady: Promise<unknown>): Promise<JobQueue> {
  const backlog = { maxJobs: config.maxQueuedVideoJobs, maxBytes: config.maxQueuedVideoBytes };
  if (!config.redisUrl) {
    return createEmbeddedQueue({
      store, repository, logger, backlog,
      maxConcurrent: config.maxVideoJobs,
      chunkConcurrency: config.chunkConcurrency,
      chunkSeconds: config.chunkSeconds,
      keepVideos: config.keepVideos,
    });
  }
  return createSharedQueue({
    redisUrl: config.redisUrl,
    store, repository, logger, backlog,
    work: config.role !== 'api',
    keepVideos: config.keepVideos,
    chunkSeconds: config.chunkSeconds,
    chunkConcurrency: config.chunkConcurrency,
    lockMs: config.queueLockMs,
    stalledIntervalMs: config.queueStalledIntervalMs,
    maxStalled: config.queueMaxStalled,
    ttlHours: config.jobTtlHours,
    drainTimeoutMs: config.drainTimeoutMs,
    modelsReady,
  });
}
