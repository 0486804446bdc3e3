import { PROVIDER_DEFAULTS, usableCores, type BatcherSettings } from '../runtime/index.js';
import type { Manifest } from './manifest.js';
import type { RepositoryOptions } from './types.js';

const DEFAULT_BATCHING: BatcherSettings = { requestTimeoutMs: 30_000 };

/**
 * ONNX Runtime's intra-op threads per session: as configured, else the usable cores (a
 * container's CPU limit included) less the reserved ones, divided among the instances (at
 * least one each), so that they never oversubscribe.
 */
export function intraOpThreads(o: Pick<RepositoryOptions, 'threads' | 'reservedCores'>, instances: number, cores?: number): number {
  return o.threads ?? Math.max(1, Math.floor(((cores ?? usableCores()) - (o.reservedCores ?? 0)) / instances));
}

/** One version's thread plan: its batcher settings, and the threads of its main and bulk sessions. */
export interface ThreadPlan {
  settings: BatcherSettings;
  threads: number;
  /** Threads a bulk session would get (bulkReservedCores less); it opens only where this differs. */
  bulkThreads: number;
}

/** Plans a version's threads from the options and the manifest's planned instances. */
export function planThreads(options: RepositoryOptions, manifest: Manifest): ThreadPlan {
  const settings = options.batching ?? DEFAULT_BATCHING;
  const plannedInstances = manifest.serving?.instances ?? (settings.instances ?? PROVIDER_DEFAULTS.cpu.instances);
  // The cgroup is read once per version, and not at all when the threads are set.
  const cores = options.threads === undefined ? usableCores() : undefined;
  const threads = intraOpThreads(options, plannedInstances, cores);
  const bulkThreads = intraOpThreads({ threads: options.threads, reservedCores: options.bulkReservedCores }, plannedInstances, cores);
  return { settings, threads, bulkThreads };
}
