import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { FramewatchError } from '../../errors/index.js';
import type { Logger } from '../../logging/logger.js';
import { metrics } from '../../metrics/index.js';
import type { ModelRepository } from '../../registry/index.js';
import { assertBacklogRoom, isFinal, toJobError, type BacklogLimits, type JobQueue } from './queue.js';
import { CANCELLED, CANCELLED_ERROR, createJobLifecycle, INTERRUPTED, throttled, type JobRecords } from './lifecycle.js';
import type { ChunkResult, VideoJobSpec } from './spec.js';
import type { JobRecord, JobStore } from './store.js';
import { mapPool } from '../map-pool.js';
import { chunkPayloads, newJobRecord, progressOf, runChunk } from './video-job.js';

export interface EmbeddedQueueOptions {
  store: JobStore;
  repository: ModelRepository;
  /** Video jobs running at once; the rest wait in order. */
  maxConcurrent: number;
  /** Chunks of one job decoded and inferred at once. */
  chunkConcurrency: number;
  chunkSeconds?: number;
  backlog?: BacklogLimits;
  logger: Logger;
  /** A succeeded job keeps its video (FRAMEWATCH_KEEP_VIDEOS). */
  keepVideos?: boolean;
}

interface ActiveJob {
  record: JobRecord;
  spec: VideoJobSpec;
  controller: AbortController;
  /** Resolves with the final record, once it is final (before the job's work has unwound). */
  finished: Promise<JobRecord>;
  resolve: (r: JobRecord) => void;
  /** Writes of this job's record, in order: a late progress write never lands after the final one. */
  saving: Promise<void>;
}

/**
 * The embedded default: video jobs queue and run in this process, records and results on
 * local disk (the JobStore). A restart ends queued and running jobs failed with INTERRUPTED.
 */
export async function createEmbeddedQueue(options: EmbeddedQueueOptions): Promise<JobQueue> {
  const { store, repository, logger } = options;
  const backlog = options.backlog ?? { maxJobs: Infinity, maxBytes: Infinity };
  /** Jobs not yet final, by id. */
  const active = new Map<string, ActiveJob>();
  const waiting: ActiveJob[] = [];
  /** Runners whose work has not unwound yet (a final job's ffmpeg may still be stopping). */
  const runs = new Set<Promise<void>>();

  // After a restart: jobs that were queued or running are marked failed with INTERRUPTED.
  let interruptedCount = 0;
  for (const record of await store.list()) {
    if (isFinal(record.status)) continue;
    const failed: JobRecord = { ...record, ...INTERRUPTED, updatedAt: new Date().toISOString() };
    await store.save(failed).catch((err) => logger.error('marking an interrupted job failed could not be saved', { jobId: record.jobId, error: String(err) }));
    interruptedCount++;
  }
  if (interruptedCount > 0) logger.warn('jobs interrupted by the last shutdown were marked failed', { count: interruptedCount });

  const refreshGauge = () => {
    metrics.jobs.set({ queue: 'videos', state: 'waiting' }, waiting.length);
    metrics.jobs.set({ queue: 'videos', state: 'active' }, runs.size);
  };

  /** Queues a write of the job's record behind the ones before it. */
  const save = (job: ActiveJob): Promise<void> => {
    const record = job.record;
    job.saving = job.saving.catch(() => undefined).then(() => store.save(record));
    return job.saving;
  };

  // Final records whose write failed (a full disk): this process still answers with them.
  const unsaved = new Map<string, JobRecord>();
  /** The lifecycle's adapter: an active job's record is in memory (one process, so check-and-set is one step), and on disk. */
  const records: JobRecords = {
    read: async (jobId) => active.get(jobId)?.record ?? unsaved.get(jobId) ?? (await store.get(jobId)),
    async writeUnlessFinal(record) {
      const job = active.get(record.jobId);
      if (!job || isFinal(job.record.status)) return false;
      job.record = record;
      try {
        await save(job);
      } catch (err) {
        if (!isFinal(record.status)) throw err;
        unsaved.set(record.jobId, record);
        logger.error('saving a final job record failed; it is kept in memory', { jobId: record.jobId, error: String(err) });
      }
      return true;
    },
    async retire(record) {
      const job = active.get(record.jobId);
      active.delete(record.jobId);
      job?.resolve(record);
    },
  };
  const lifecycle = createJobLifecycle({ records, store, repository, keepVideos: options.keepVideos ?? false, logger });

  const pump = () => {
    while (runs.size < options.maxConcurrent && waiting.length > 0) {
      const job = waiting.shift()!;
      // run() settles every job itself; this catch is the last guard against an unhandled rejection.
      const running: Promise<void> = run(job)
        .catch((err) => logger.error('video job runner failed', { jobId: job.record.jobId, error: String(err) }))
        .finally(() => {
          runs.delete(running);
          refreshGauge();
          pump();
        });
      runs.add(running);
      refreshGauge();
    }
  };

  async function runChunks(job: ActiveJob): Promise<ChunkResult[]> {
    const chunks = chunkPayloads(job.spec, options.chunkSeconds);
    const saveProgress = throttled(async () => {
      if (!isFinal(job.record.status)) await save(job);
    }, (err) => logger.error('saving job progress failed', { jobId: job.record.jobId, error: err.message }));
    return mapPool(chunks, options.chunkConcurrency, async (payload) => {
      const entry = job.record.chunks![payload.index];
      const result = await runChunk(repository, payload, {
        signal: job.controller.signal,
        logger,
        onProgress: (framesDone) => {
          entry.framesDone = framesDone;
          job.record.progress = progressOf(job.record);
          saveProgress(framesDone);
        },
      });
      entry.worker = result.worker;
      return result;
    });
  }

  async function run(job: ActiveJob): Promise<void> {
    const { jobId } = job.record;
    const startedAt = performance.now();
    const log = logger.child({ jobId });
    try {
      // Inside the try: a write that fails here (a full disk) fails the job, not the process.
      if (!(await lifecycle.start(jobId))) return; // cancelled while queued: already final
      log.info('video job started', { model: job.record.model, frames: job.record.progress.framesTotal, chunks: job.record.chunks?.length });
      const chunks = await runChunks(job);
      if (job.controller.signal.aborted) throw new FramewatchError(CANCELLED_ERROR.code, CANCELLED_ERROR.message);
      await lifecycle.succeed(job.spec, chunks, startedAt);
    } catch (err) {
      if (job.controller.signal.aborted) return; // cancelled or interrupted: its final record is written already
      const error = toJobError(err);
      log.error('video job failed', { code: error.code, error: (err as Error)?.stack ?? String(err) });
      await lifecycle.end(jobId, job.spec.path, { status: 'failed', error });
    }
  }

  /** Ends a queued or running job at once (cancelled, or interrupted by a shutdown) and stops its work. */
  async function stop(job: ActiveJob, patch: Partial<JobRecord>): Promise<JobRecord> {
    const queuedAt = waiting.indexOf(job);
    if (queuedAt >= 0) waiting.splice(queuedAt, 1);
    refreshGauge();
    const final = await lifecycle.end(job.record.jobId, job.spec.path, patch);
    job.controller.abort();
    return final ?? job.record;
  }

  const queuedBytes = () => [...active.values()].reduce((sum, job) => sum + job.spec.bytes, 0);
  const checkBacklog = (bytes = 0) => {
    assertBacklogRoom(backlog, { jobs: active.size, bytes: queuedBytes() }, bytes);
    store.checkRoom(bytes);
  };

  return {
    mode: 'embedded',
    reviews: store.reviews,
    checkBacklog,
    async submit(request) {
      const spec: VideoJobSpec = { ...request, jobId: randomUUID() };
      try {
        checkBacklog(spec.bytes);
      } catch (err) {
        await rm(spec.path, { force: true });
        throw err;
      }
      let resolve!: (r: JobRecord) => void;
      const finished = new Promise<JobRecord>((r) => (resolve = r));
      const record = newJobRecord(spec, chunkPayloads(spec, options.chunkSeconds));
      const job: ActiveJob = { record, spec, controller: new AbortController(), finished, resolve, saving: Promise.resolve() };
      active.set(spec.jobId, job);
      try {
        await store.save(record);
      } catch (err) {
        active.delete(spec.jobId);
        await rm(spec.path, { force: true });
        throw err;
      }
      waiting.push(job);
      refreshGauge();
      pump();
      return record;
    },
    wait(jobId) {
      const job = active.get(jobId);
      if (unsaved.has(jobId)) return Promise.resolve(unsaved.get(jobId)!);
      return job ? job.finished : store.get(jobId).then((r) => r ?? Promise.reject(new FramewatchError('JOB_NOT_FOUND', `no job '${jobId}'`)));
    },
    async get(jobId) {
      return active.get(jobId)?.record ?? unsaved.get(jobId) ?? (await store.get(jobId));
    },
    async list() {
      const stored = await store.list();
      return stored.map((r) => active.get(r.jobId)?.record ?? unsaved.get(r.jobId) ?? r);
    },
    readResult: (jobId) => store.readResult(jobId),
    filesDir: (jobId) => store.filesDir(jobId),
    videoPath: (jobId) => store.videoPath(jobId),
    async cancel(jobId) {
      const job = active.get(jobId);
      if (job) return stop(job, CANCELLED);
      const stored = await store.get(jobId);
      if (!stored) throw new FramewatchError('JOB_NOT_FOUND', `no job '${jobId}'`);
      return stored; // already final
    },
    health: () => ({ ready: true }),
    /** Shutdown: every queued or running job ends failed with INTERRUPTED, its upload goes, and its work unwinds. */
    async close() {
      await Promise.all([...active.values()].map((job) => stop(job, INTERRUPTED)));
      await Promise.all([...runs]);
    },
  };
}
