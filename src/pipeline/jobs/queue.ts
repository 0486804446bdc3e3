import { FramewatchError } from '../../errors/index.js';
import type { ReviewStore } from '../../review/index.js';
import type { VideoJobSpec } from './spec.js';
import { isDiskFull } from './storage.js';
import type { JobRecord, JobResult } from './store.js';

/**
 * Video jobs as the HTTP layer, the CLI and the page see them, whichever backend runs them:
 * in this process (the embedded default) or on BullMQ over Redis (shared mode, many workers).
 * A job is a parent and its time chunks; progress sums the chunks.
 */
export interface JobQueue {
  readonly mode: 'embedded' | 'shared';
  /** Throws QUEUE_FULL (or QUEUE_UNAVAILABLE) when a video of `bytes` cannot be taken now; uploads call it before storing. */
  checkBacklog(bytes?: number): void;
  /** Records a queued job and hands its chunks to the workers. The upload belongs to the job from here. */
  submit(spec: Omit<VideoJobSpec, 'jobId'>): Promise<JobRecord>;
  get(jobId: string): Promise<JobRecord | undefined>;
  list(): Promise<JobRecord[]>;
  /** Resolves with the final record. */
  wait(jobId: string): Promise<JobRecord>;
  /** Stops a queued or running job everywhere (its ffmpeg stops) and removes its upload. */
  cancel(jobId: string): Promise<JobRecord>;
  readResult(jobId: string): Promise<JobResult | undefined>;
  /** The job's files (thumbnails). */
  filesDir(jobId: string): string;
  /** Where a succeeded job's kept video is (FRAMEWATCH_KEEP_VIDEOS; it may not exist). */
  videoPath(jobId: string): string;
  /** Reviews of its jobs: on disk beside the job (embedded), in Redis (shared). */
  readonly reviews: ReviewStore;
  /** Whether submissions can be taken; `reason` says why not (for /readyz). */
  health(): { ready: boolean; reason?: string };
  /** Shutdown: stop taking work; running work finishes, is handed back, or ends INTERRUPTED. */
  close(): Promise<void>;
  /** The BullMQ queues behind it, for the admin dashboard (shared mode only). */
  dashboardQueues?(): readonly unknown[];
}

export const isFinal = (s: JobRecord['status']): boolean => s === 'succeeded' || s === 'failed' || s === 'cancelled';

/** Which finished jobs a review summary, a search or a dataset export reads. */
export interface SucceededFilter {
  model?: string;
  version?: number;
  /** Created at or after (ISO time). */
  since?: string;
  /** Created before (ISO time). */
  until?: string;
}

/** The succeeded jobs among `records` that match the filter, in the order given. */
export const succeededWhere = <R extends Pick<JobRecord, 'status' | 'createdAt' | 'model'>>(records: readonly R[], f: SucceededFilter): R[] =>
  records.filter((r) => r.status === 'succeeded' && (!f.model || r.model.name === f.model) && (f.version === undefined || r.model.version === f.version) &&
    (!f.since || r.createdAt >= f.since) && (!f.until || r.createdAt < f.until));

/** Seconds a refused client is asked to wait: a video job takes tens of seconds at least. */
export const BACKLOG_RETRY_AFTER_S = 30;

/** How much video work may wait or run at once; beyond it, submissions get QUEUE_FULL. */
export interface BacklogLimits {
  maxJobs: number;
  maxBytes: number;
}

/** Throws QUEUE_FULL when one more job of `bytes` would exceed the limits. */
export function assertBacklogRoom(limits: BacklogLimits, queued: { jobs: number; bytes: number }, bytes = 0): void {
  const over = queued.jobs >= limits.maxJobs ? 'jobs' : queued.bytes + bytes > limits.maxBytes ? 'bytes' : undefined;
  if (!over) return;
  throw new FramewatchError(
    'QUEUE_FULL',
    over === 'jobs' ? `${queued.jobs} video jobs are queued or running (limit ${limits.maxJobs}); retry later` : `the video backlog would exceed ${limits.maxBytes} bytes; retry later`,
    { retryAfterS: BACKLOG_RETRY_AFTER_S, queuedJobs: queued.jobs, queuedBytes: queued.bytes },
  );
}

/** A job error as records keep it. */
export function toJobError(err: unknown): NonNullable<JobRecord['error']> {
  if (err instanceof FramewatchError) return { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) };
  if (isDiskFull(err)) return { code: 'STORAGE_FULL', message: "the data directory's disk is full" };
  return { code: 'INTERNAL', message: 'internal error' };
}
