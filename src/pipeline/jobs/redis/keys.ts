/**
 * Every name the shared mode keeps in Redis, in one place: the BullMQ queues, a job's record
 * and its chunks' progress, the backlog, the cancel channel, and a job's reviews. Each key of
 * a job starts with `framewatch:job:<id>` and expires with it.
 */
export const CHUNK_QUEUE = 'framewatch-chunks';
export const VIDEO_QUEUE = 'framewatch-videos';

export const redisKeys = {
  /** The job's record (JSON), written whole. */
  record: (id: string) => `framewatch:job:${id}`,
  /** Hash: chunk index → its progress and worker (JSON); each chunk overwrites its own field. */
  chunks: (id: string) => `framewatch:job:${id}:chunks`,
  /** Sorted set of job ids by submission time. */
  index: 'framewatch:jobs',
  /** Hash: queued or running job id → its upload's bytes (the backlog). */
  active: 'framewatch:active',
  /** Pub/sub channel: a cancelled job's id. */
  cancel: 'framewatch:cancel',
  /** The job's reviews: decisions and missed ranges (hashes), and counters. */
  review: (id: string) => ({
    decisions: `framewatch:job:${id}:review:decisions`,
    missed: `framewatch:job:${id}:review:missed`,
    counters: `framewatch:job:${id}:review`,
  }),
};
