import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { FramewatchError } from '../../errors/index.js';
import type { Logger } from '../../logging/logger.js';
import { metrics } from '../../metrics/index.js';
import type { ModelRepository } from '../../registry/index.js';
import { assertBacklogRoom, isFinal, toJobError, type BacklogLimits, type JobQueue } from './queue.js';
import type { ChunkResult, VideoJobSpec } from './spec.js';
import type { JobRecord, JobStore } from './store.js';
import { mapPool } from '../map-pool.js';
import { chunkPayloads, finishJob, newJobRecord, progressOf, runChunk } from './video-job.js';

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
  finished: Promise<JobRecord>;
  resolve: (r: JobRecord) => void;
  lastSaved: number;
  /** Writes of this job's record, in order: a late progress write never lands after the final one. */
  saving: Promise<void>;
  /** Stopped by a shutdown rather than by a user. */
  interrupted?: boolean;
}

const INTERRUPTED_ERROR = { code: 'INTERRUPTED' as const, message: 'the server stopped while this job was running; submit it again' };

/** How a stopped job ends: failed INTERRUPTED by a shutdown, or cancelled by a user. */
const stoppedOutcome = (job: ActiveJob) =>
  job.interrupted
    ? { status: 'failed' as const, error: INTERRUPTED_ERROR }
    : { status: 'cancelled' as const, error: { code: 'CANCELLED' as const, message: 'the job was cancelled' } };

/**
 * The embedded default: video jobs queue and run in this process, records and results on
 * local disk (the JobStore). A restart ends queued and running jobs failed with INTERRUPTED.
 */
export async function createEmbeddedQueue(options: EmbeddedQueueOptions): Promise<JobQueue> {
  const { store, repository, logger } = options;
  const backlog = options.backlog ?? { maxJobs: Infinity, maxBytes: Infinity };
  const active = new Map<string, ActiveJob>();
  const waiting: ActiveJob[] = [];
  let runningCount = 0;

  // After a restart: jobs that were queued or running are marked failed with INTERRUPTED.
  let interruptedCount = 0;
  for (const record of await store.list()) {
    if (isFinal(record.status)) continue;
    const failed: JobRecord = { ...record, status: 'failed', updatedAt: new Date().toISOString(), error: INTERRUPTED_ERROR };
    await store.save(failed).catch((err) => logger.error('marking an interrupted job failed could not be saved', { jobId: record.jobId, error: String(err) }));
    interruptedCount++;
  }
  if (interruptedCount > 0) logger.warn('jobs interrupted by the last shutdown were marked failed', { count: interruptedCount });

  const refreshGauge = () => {
    metrics.jobs.set({ queue: 'videos', state: 'waiting' }, waiting.length);
    metrics.jobs.set({ queue: 'videos', state: 'active' }, runningCount);
  };

  const save = (job: ActiveJob, patch: Partial<JobRecord>): Promise<void> => {
    job.record = { ...job.record, ...patch, updatedAt: new Date().toISOString() };
    job.lastSaved = Date.now();
    const record = job.record;
    job.saving = job.saving.catch(() => undefined).then(() => store.save(record));
    return job.saving;
  };

  // Final records whose write failed (a full disk): this process still answers with them.
  const unsaved = new Map<string, JobRecord>();
  const finish = async (job: ActiveJob, patch: Partial<JobRecord>) => {
    const keep = patch.status === 'succeeded' && options.keepVideos === true;
    await store.settleUpload(job.record.jobId, job.spec.path, keep).catch((err) => logger.error('upload removal failed', { jobId: job.record.jobId, error: String(err) }));
    try {
      await save(job, patch);
    } catch (err) {
      unsaved.set(job.record.jobId, job.record);
      logger.error('saving a final job record failed; it is kept in memory', { jobId: job.record.jobId, error: String(err) });
    }
    active.delete(job.record.jobId);
    job.resolve(job.record);
  };

  const pump = () => {
    while (runningCount < options.maxConcurrent && waiting.length > 0) {
      const job = waiting.shift()!;
      runningCount++;
      refreshGauge();
      // run() settles every job itself; this catch is the last guard against an unhandled rejection.
      void run(job).catch((err) => logger.error('video job runner failed', { jobId: job.record.jobId, error: String(err) })).finally(() => {
        runningCount--;
        refreshGauge();
        pump();
      });
    }
  };

  async function runChunks(job: ActiveJob): Promise<ChunkResult[]> {
    const chunks = chunkPayloads(job.spec, options.chunkSeconds);
    return mapPool(chunks, options.chunkConcurrency, async (payload) => {
      const entry = job.record.chunks![payload.index];
      const result = await runChunk(repository, payload, {
        signal: job.controller.signal,
        logger,
        onProgress: (framesDone) => {
          entry.framesDone = framesDone;
          job.record.progress = progressOf(job.record);
          if (Date.now() - job.lastSaved > 1000) save(job, {}).catch((err: Error) => logger.error('saving job progress failed', { jobId: job.record.jobId, error: err.message }));
        },
      });
      entry.worker = result.worker;
      return result;
    });
  }

  async function run(job: ActiveJob): Promise<void> {
    const { jobId } = job.record;
    if (job.controller.signal.aborted) return; // cancelled while queued: already finished
    const startedAt = performance.now();
    const log = logger.child({ jobId });
    try {
      // Inside the try: a write that fails here (a full disk) fails the job, not the process.
      await save(job, { status: 'running' });
      log.info('video job started', { model: job.record.model, frames: job.record.progress.framesTotal, chunks: job.record.chunks?.length });
      const chunks = await runChunks(job);
      if (job.controller.signal.aborted) throw new FramewatchError('CANCELLED', 'the job was cancelled');
      const result = await finishJob(repository, job.spec, chunks, store.filesDir(jobId), startedAt);
      await store.saveResult(jobId, { jobId, ...result });
      const done = result.video.framesSampled;
      await finish(job, { status: 'succeeded', progress: { framesDone: done, framesTotal: done, percent: 100 } });
      log.info('video job succeeded', { frames: done, segments: result.segments.length, fps: result.timings.framesPerSecond });
    } catch (err) {
      if (job.controller.signal.aborted) return void (await finish(job, stoppedOutcome(job)));
      const error = toJobError(err);
      log.error('video job failed', { code: error.code, error: (err as Error)?.stack ?? String(err) });
      await finish(job, { status: 'failed', error });
    }
  }

  /** Stops a queued or running job: a queued one ends at once, a running one once its pipeline unwinds. */
  async function stop(job: ActiveJob): Promise<JobRecord> {
    job.controller.abort();
    const queuedAt = waiting.indexOf(job);
    if (queuedAt >= 0) {
      waiting.splice(queuedAt, 1);
      refreshGauge();
      await finish(job, stoppedOutcome(job));
    }
    return job.finished;
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
      const job: ActiveJob = { record, spec, controller: new AbortController(), finished, resolve, lastSaved: 0, saving: Promise.resolve() };
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
      if (job) return stop(job);
      const stored = await store.get(jobId);
      if (!stored) throw new FramewatchError('JOB_NOT_FOUND', `no job '${jobId}'`);
      return stored; // already final
    },
    health: () => ({ ready: true }),
    /** Shutdown: every queued or running job ends failed with INTERRUPTED; temp files go. */
    async close() {
      await Promise.all(
        [...active.values()].map((job) => {
          job.interrupted = true;
          return stop(job);
        }),
      );
    },
  };
}
