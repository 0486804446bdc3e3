/**
 * Every name the shared mode keeps in Redis, in one place: the BullMQ queues, a job's record
 * and its chunks' progress, the backlog, the cancel channels, a job's reviews and its redactions' progress. Each key of
 * a job starts with `framewatch:job:<id>` and expires with it.
 */
export const CHUNK_QUEUE = 'framewatch-chunks';
export const VIDEO_QUEUE = 'framewatch-videos';
/** A redaction's plan (its detect passes) and its assembly (the parts joined). */
export const REDACTION_QUEUE = 'framewatch-redactions';
/** The parts of a redaction's video, each encoded by any worker. */
export const REDACTION_PART_QUEUE = 'framewatch-redaction-parts';

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
  /** A redaction's final status, claimed once (SET NX) by whichever of succeed, fail or cancel comes first. */
  redactionFinal: (jobId: string, redactionId: string) => `framewatch:job:${jobId}:redaction:${redactionId}:final`,
  /** Hash: a running redaction's stage, framesDone and framesTotal, and each part's frames encoded (`part:<n>`). */
  redactionProgress: (jobId: string, redactionId: string) => `framewatch:job:${jobId}:redaction:${redactionId}:progress`,
  /** Pub/sub channel: a cancelled redaction's id. */
  redactionCancel: 'framewatch:redaction-cancel',
  /** The job's reviews: decisions and missed ranges (hashes), and counters. */
  review: (id: string) => ({
    decisions: `framewatch:job:${id}:review:decisions`,
    missed: `framewatch:job:${id}:review:missed`,
    counters: `framewatch:job:${id}:review`,
  }),
};
