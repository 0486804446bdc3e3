import { randomUUID } from 'node:crypto';
import { FramewatchError, isFramewatchError } from '../../errors/index.js';
import type { Logger } from '../../logging/logger.js';
import type { VideoInfo } from '../../media/ffmpeg.js';
import type { ReadyModel } from '../../registry/index.js';
import { expectedFrames, predictVideo, type VideoOptions, type VideoPrediction } from '../predict-video.js';
import type { JobRecord, JobStore } from './store.js';

export interface VideoJobRequest {
  model: ReadyModel;
  /** The uploaded temp file; the job removes it when it ends, however it ends. */
  path: string;
  cleanup: () => Promise<void>;
  filename?: string;
  bytes: number;
  info: VideoInfo;
  options: Omit<VideoOptions, 'thumbnailDir' | 'signal' | 'onProgress'>;
}

/** How much video work may wait or run at once; beyond it, submissions get QUEUE_FULL. */
export interface BacklogLimits {
  maxJobs: number;
  maxBytes: number;
}

export interface JobManagerOptions {
  store: JobStore;
  /** Video jobs running at once; the rest wait in order. */
  maxConcurrent: number;
  backlog?: BacklogLimits;
  logger: Logger;
}

/** Seconds a refused client is asked to wait: a video job takes tens of seconds at least. */
const BACKLOG_RETRY_AFTER_S = 30;

interface ActiveJob {
  record: JobRecord;
  request: VideoJobRequest;
  controller: AbortController;
  finished: Promise<JobRecord>;
  resolve: (r: JobRecord) => void;
  lastSaved: number;
  /** Stopped by a shutdown rather than by a user. */
  interrupted?: boolean;
}

const INTERRUPTED_ERROR = { code: 'INTERRUPTED' as const, message: 'the server stopped while this job was running; submit it again' };

/** How a stopped job ends: failed INTERRUPTED by a shutdown, or cancelled by a user. */
const stoppedOutcome = (job: ActiveJob) =>
  job.interrupted
    ? { status: 'failed' as const, error: INTERRUPTED_ERROR }
    : { status: 'cancelled' as const, error: { code: 'CANCELLED' as const, message: 'the job was cancelled' } };

const isFinal = (s: JobRecord['status']) => s === 'succeeded' || s === 'failed' || s === 'cancelled';

function toJobError(err: unknown): NonNullable<JobRecord['error']> {
  if (isFramewatchError(err)) return { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) };
  return { code: 'INTERNAL', message: 'internal error' };
}

/** Queues and runs video jobs with a concurrency limit; every state change is persisted. */
export function createJobManager({ store, maxConcurrent, backlog = { maxJobs: Infinity, maxBytes: Infinity }, logger }: JobManagerOptions) {
  const active = new Map<string, ActiveJob>();
  const waiting: ActiveJob[] = [];
  let runningCount = 0;

  /** Throws QUEUE_FULL when one more job of `bytes` would exceed the backlog limits. */
  const checkBacklog = (bytes = 0) => {
    const queuedBytes = [...active.values()].reduce((sum, job) => sum + job.request.bytes, 0);
    const over = active.size >= backlog.maxJobs ? 'jobs' : queuedBytes + bytes > backlog.maxBytes ? 'bytes' : undefined;
    if (!over) return;
    throw new FramewatchError(
      'QUEUE_FULL',
      over === 'jobs' ? `${active.size} video jobs are queued or running (limit ${backlog.maxJobs}); retry later` : `the video backlog would exceed ${backlog.maxBytes} bytes; retry later`,
      { retryAfterS: BACKLOG_RETRY_AFTER_S, queuedJobs: active.size, queuedBytes },
    );
  };

  const save = async (job: ActiveJob, patch: Partial<JobRecord>) => {
    job.record = { ...job.record, ...patch, updatedAt: new Date().toISOString() };
    job.lastSaved = Date.now();
    await store.save(job.record);
  };

  const finish = async (job: ActiveJob, patch: Partial<JobRecord>) => {
    await job.request.cleanup().catch((err) => logger.error('temp file removal failed', { jobId: job.record.jobId, error: String(err) }));
    await save(job, patch);
    active.delete(job.record.jobId);
    job.resolve(job.record);
  };

  const pump = () => {
    while (runningCount < maxConcurrent && waiting.length > 0) {
      const job = waiting.shift()!;
      runningCount++;
      void run(job).finally(() => {
        runningCount--;
        pump();
      });
    }
  };

  async function run(job: ActiveJob): Promise<void> {
    const { jobId } = job.record;
    if (job.controller.signal.aborted) return; // cancelled while queued: already finished
    await save(job, { status: 'running' });
    const log = logger.child({ jobId });
    log.info('video job started', { model: job.record.model, frames: job.record.progress.framesTotal });
    try {
      const result: VideoPrediction = await predictVideo(job.request.model, job.request.path, job.request.info, {
        ...job.request.options,
        thumbnailDir: store.filesDir(jobId),
        signal: job.controller.signal,
        onProgress: ({ framesDone, framesTotal }) => {
          job.record.progress = { framesDone, framesTotal, percent: Math.min(100, Math.round((framesDone / Math.max(1, framesTotal)) * 1000) / 10) };
          if (Date.now() - job.lastSaved > 1000) void save(job, {});
        },
      });
      if (job.controller.signal.aborted) throw new FramewatchError('CANCELLED', 'the job was cancelled');
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
      await finish(job, stoppedOutcome(job));
    }
    return job.finished;
  }

  return {
    /** Refuses (QUEUE_FULL) when the backlog has no room for a video of `bytes`; uploads call it before the body. */
    checkBacklog,
    /** Persists a queued job and starts it when a slot is free; QUEUE_FULL when the backlog is full. */
    async submit(request: VideoJobRequest): Promise<JobRecord> {
      try {
        checkBacklog(request.bytes);
      } catch (err) {
        await request.cleanup();
        throw err;
      }
      const now = new Date().toISOString();
      let resolve!: (r: JobRecord) => void;
      const finished = new Promise<JobRecord>((r) => (resolve = r));
      const job: ActiveJob = {
        record: {
          jobId: randomUUID(),
          status: 'queued',
          createdAt: now,
          updatedAt: now,
          model: { name: request.model.name, version: request.model.version },
          input: { filename: request.filename, bytes: request.bytes, durationS: request.info.durationS },
          progress: { framesDone: 0, framesTotal: expectedFrames(request.info, request.options), percent: 0 },
        },
        request,
        controller: new AbortController(),
        finished,
        resolve,
        lastSaved: 0,
      };
      active.set(job.record.jobId, job);
      try {
        await store.save(job.record);
      } catch (err) {
        active.delete(job.record.jobId);
        await request.cleanup();
        throw err;
      }
      waiting.push(job);
      pump();
      return job.record;
    },
    /** Resolves with the final record. */
    wait(jobId: string): Promise<JobRecord> {
      const job = active.get(jobId);
      return job ? job.finished : store.get(jobId).then((r) => r ?? Promise.reject(new FramewatchError('JOB_NOT_FOUND', `no job '${jobId}'`)));
    },
    async get(jobId: string): Promise<JobRecord | undefined> {
      return active.get(jobId)?.record ?? (await store.get(jobId));
    },
    list: async (): Promise<JobRecord[]> => {
      const stored = await store.list();
      return stored.map((r) => active.get(r.jobId)?.record ?? r);
    },
    readResult: (jobId: string) => store.readResult(jobId),
    filesDir: (jobId: string) => store.filesDir(jobId),
    /** Cancels a queued or running job: stops its ffmpeg and removes its temp file. */
    async cancel(jobId: string): Promise<JobRecord> {
      const job = active.get(jobId);
      if (!job) {
        const stored = await store.get(jobId);
        if (!stored) throw new FramewatchError('JOB_NOT_FOUND', `no job '${jobId}'`);
        return stored; // already final
      }
      return stop(job);
    },
    /** After a restart: jobs that were queued or running are marked failed with INTERRUPTED. */
    async recoverInterrupted(): Promise<number> {
      let count = 0;
      for (const record of await store.list()) {
        if (isFinal(record.status) || active.has(record.jobId)) continue;
        await store.save({
          ...record,
          status: 'failed',
          updatedAt: new Date().toISOString(),
          error: INTERRUPTED_ERROR,
        });
        count++;
      }
      return count;
    },
    /** Shutdown: every queued or running job ends failed with INTERRUPTED; temp files go. */
    async interruptAll(): Promise<void> {
      await Promise.all(
        [...active.values()].map((job) => {
          job.interrupted = true;
          return stop(job);
        }),
      );
    },
  };
}

export type JobManager = ReturnType<typeof createJobManager>;
