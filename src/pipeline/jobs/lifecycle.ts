import type { Logger } from '../../logging/logger.js';
import type { ModelRepository } from '../../registry/index.js';
import { isFinal } from './queue.js';
import type { ChunkResult, VideoJobSpec } from './spec.js';
import type { JobRecord, JobStore } from './store.js';
import { isUploadPath } from './upload-path.js';
import { finishJob, isAudioJob, progressTotal } from './video-job.js';

/**
 * A job's life, written once for both modes. Each mode gives an adapter for where its records
 * are (files and memory in the embedded mode, Redis in the shared one); the rules are here:
 *
 * - A record becomes final once. Every final write (succeeded, failed, cancelled, interrupted)
 *   is "set unless final", one atomic step per job, so a cancel and a finish cannot cross:
 *   whichever comes first wins, and the other writes nothing.
 * - The upload is settled after the final write, by the write that made the job final, so it
 *   follows the outcome that won: kept as the job's video only for a job that succeeded (FRAMEWATCH_KEEP_VIDEOS),
 *   removed otherwise.
 * - Cancel makes the record final at once and removes the upload, then tells the job's running
 *   work to stop (its ffmpeg is killed); it does not wait for that work to unwind, which then
 *   finds the record final and writes nothing.
 * - Progress is written at most once a second, and never over a final record.
 */
export interface JobRecords {
  read(jobId: string): Promise<JobRecord | undefined>;
  /** Writes the record unless the stored one is final, in one atomic step; true when written. */
  writeUnlessFinal(record: JobRecord): Promise<boolean>;
  /** The record is final: the backlog forgets the job, waiters hear of it, and records expire where they do. */
  retire(record: JobRecord): Promise<void>;
}

export const CANCELLED_ERROR = { code: 'CANCELLED' as const, message: 'the job was cancelled' };
export const INTERRUPTED_ERROR = { code: 'INTERRUPTED' as const, message: 'the server stopped while this job was running; submit it again' };
export const CANCELLED: Partial<JobRecord> = { status: 'cancelled', error: CANCELLED_ERROR };
export const INTERRUPTED: Partial<JobRecord> = { status: 'failed', error: INTERRUPTED_ERROR };

/** How often progress reaches the record. */
export const PROGRESS_INTERVAL_MS = 1000;

/** Calls `write` with the latest value at most once per interval; a failed write is logged, never thrown. */
export function throttled(write: (n: number) => Promise<unknown>, onError: (err: Error) => void, intervalMs = PROGRESS_INTERVAL_MS): (n: number) => void {
  let last = 0;
  return (n) => {
    if (Date.now() - last < intervalMs) return;
    last = Date.now();
    write(n).catch(onError);
  };
}

export interface JobLifecycle {
  /** queued → running, unless the job is already final (a cancel came first); false then. */
  start(jobId: string): Promise<boolean>;
  /**
   * Ends the job with `patch` unless it is already final, then settles its upload. Answers the
   * final record (this one, or the one that won), or undefined for a job that is gone.
   */
  end(jobId: string, uploadPath: string | undefined, patch: Partial<JobRecord>): Promise<JobRecord | undefined>;
  /** Stage two, on whichever worker runs it: merge the chunks, write the result, end the job succeeded. */
  succeed(spec: VideoJobSpec, chunks: readonly ChunkResult[], startedAt: number, patch?: (record: JobRecord) => Partial<JobRecord>): Promise<JobRecord | undefined>;
}

export interface JobLifecycleOptions {
  records: JobRecords;
  store: JobStore;
  repository: ModelRepository;
  /** A succeeded job keeps its video (FRAMEWATCH_KEEP_VIDEOS). */
  keepVideos: boolean;
  logger: Logger;
}

export function createJobLifecycle({ records, store, repository, keepVideos, logger }: JobLifecycleOptions): JobLifecycle {
  const now = () => new Date().toISOString();

  /** Keeps or removes the upload; a path that is not in the upload folder (it may come from Redis) is left alone. */
  async function settleUpload(jobId: string, path: string, keep: boolean): Promise<void> {
    try {
      if (!(await isUploadPath(store.uploadDir, path))) return logger.warn('an upload path outside the upload folder was not removed', { jobId, path });
      await store.settleUpload(jobId, path, keep);
    } catch (err) {
      logger.error('settling a job upload failed', { jobId, error: String(err) });
    }
  }

  async function end(jobId: string, uploadPath: string | undefined, patch: Partial<JobRecord>): Promise<JobRecord | undefined> {
    const current = await records.read(jobId);
    if (!current) {
      if (uploadPath) await settleUpload(jobId, uploadPath, false);
      return undefined;
    }
    const next: JobRecord = { ...current, ...patch, updatedAt: now() };
    const written = !isFinal(current.status) && (await records.writeUnlessFinal(next));
    const final = written ? next : ((await records.read(jobId)) ?? current);
    if (isFinal(final.status)) await records.retire(final);
    // Only the write that made the job final settles its upload: a late loser must not remove a video just kept.
    if (written && uploadPath) await settleUpload(jobId, uploadPath, next.status === 'succeeded' && keepVideos);
    return final;
  }

  return {
    end,
    async start(jobId) {
      const current = await records.read(jobId);
      if (!current || isFinal(current.status)) return false;
      return current.status === 'running' || records.writeUnlessFinal({ ...current, status: 'running', updatedAt: now() });
    },
    async succeed(spec, chunks, startedAt, patch) {
      const result = await finishJob(repository, spec, chunks, store.filesDir(spec.jobId), startedAt);
      await store.saveResult(spec.jobId, { jobId: spec.jobId, ...result });
      // An audio job counts seconds heard, as its chunk did.
      const done = isAudioJob(spec) ? progressTotal(spec) : result.video.framesSampled;
      const current = await records.read(spec.jobId);
      const final = await end(spec.jobId, spec.path, {
        status: 'succeeded',
        progress: { framesDone: done, framesTotal: done, percent: 100 },
        ...(current && patch ? patch(current) : {}),
      });
      if (final?.status === 'succeeded') {
        const workers = [...new Set(chunks.map((c) => c.worker))];
        logger.info('video job succeeded', { jobId: spec.jobId, frames: done, segments: result.segments.length, fps: result.timings.framesPerSecond, workers });
      }
      return final;
    },
  };
}
