import { PROVIDER_DEFAULTS, usableCores, type BatcherSettings } from '../runtime/index.js';
import type { Manifest } from './manifest.js';
import type { RepositoryOptions, ThreadSource } from './types.js';

const DEFAULT_BATCHING: BatcherSettings = { requestTimeoutMs: 30_000 };

/**
 * ONNX Runtime's intra-op threads per session: as configured, else the usable cores (a
 * container's CPU limit included) less the reserved ones, divided among the instances (at
 * least one each), so that they never oversubscribe.
 */
export function intraOpThreads(o: Pick<RepositoryOptions, 'threads' | 'reservedCores'>, instances: number, cores?: number): number {
  return o.threads ?? Math.max(1, Math.floor(((cores ?? usableCores()) - (o.reservedCores ?? 0)) / instances));
}

/** One version's thread plan: its batcher settings, and the threads of its sessions. */
export interface ThreadPlan {
  settings: BatcherSettings;
  /** The first session's: by the rule every core, so that a request alone runs as fast as it can. */
  threads: number;
  /** Each further instance's (CPU, one session each, opened when requests overlap). */
  instanceThreads: number;
  /** Threads a bulk session would get (bulkReservedCores less); it opens only where this differs. */
  bulkThreads: number;
  from: ThreadSource;
}

/**
 * Plans a version's threads: FRAMEWATCH_THREADS when set; else the version's tuned counts
 * when it was tuned on a machine with this many usable cores (images on the first session
 * and the further instances, video on the bulk one, and on a worker, which runs only video,
 * on its first); else the rule: the first session every core (less the reserved ones), each
 * further instance the cores divided among the instances.
 */
export function planThreads(options: RepositoryOptions, manifest: Manifest): ThreadPlan {
  const settings = options.batching ?? DEFAULT_BATCHING;
  const plannedInstances = manifest.serving?.instances ?? (settings.instances ?? PROVIDER_DEFAULTS.cpu.instances);
  const t = options.threads;
  if (t !== undefined) return { settings, threads: t, instanceThreads: t, bulkThreads: t, from: 'config' };
  const cores = usableCores();
  const threads = intraOpThreads(options, 1, cores);
  const instanceThreads = intraOpThreads(options, plannedInstances, cores);
  const bulkThreads = intraOpThreads({ reservedCores: options.bulkReservedCores }, 1, cores);
  const tuned = manifest.runtime?.tunedCores === cores ? manifest.runtime : undefined;
  if (!tuned?.intraOpThreads && !tuned?.bulkIntraOpThreads) return { settings, threads, instanceThreads, bulkThreads, from: 'rule' };
  const videoOnly = (options.reservedCores ?? 0) > 0;
  const tunedBulk = tuned.bulkIntraOpThreads ?? bulkThreads;
  return {
    settings,
    threads: (videoOnly ? tuned.bulkIntraOpThreads : tuned.intraOpThreads) ?? threads,
    instanceThreads: tuned.instanceIntraOpThreads ?? tuned.intraOpThreads ?? instanceThreads,
    bulkThreads: tunedBulk,
    from: 'tuning',
  };
}
