import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { PACKAGE_ROOT } from '../../../config/index.js';
import { jobRecordSchema, type JobRecord } from '../../../shared/job-result.js';
import type { JobRecords } from '../lifecycle.js';
import { isFinal } from '../queue.js';
import { progressOf } from '../video-job.js';
import { redisKeys } from './keys.js';

const SET_UNLESS_FINAL = readFileSync(join(PACKAGE_ROOT, 'src', 'pipeline', 'jobs', 'redis', 'set-unless-final.lua'), 'utf8');

/** A chunk's field in the job's chunks hash, as a worker wrote it. */
const chunkProgressSchema = z.object({ framesDone: z.number().int().nonnegative(), worker: z.string().optional() });

export interface RedisJobRecords extends JobRecords {
  /** The job's record with its chunks' progress summed; undefined when it is gone or does not parse (another version wrote it). */
  read(jobId: string): Promise<JobRecord | undefined>;
  /** Records a new job, indexes it and counts its bytes in the backlog, in one transaction. */
  create(record: JobRecord, bytes: number): Promise<void>;
  /** Takes back a job whose submission failed half-way. */
  forget(jobId: string): Promise<void>;
  /** A chunk's progress: its own field, overwritten, so a chunk run twice counts once. */
  writeChunkProgress(jobId: string, index: number, framesDone: number, worker: string): Promise<unknown>;
  /** Every indexed job, oldest first; ids whose records expired leave the index. */
  list(): Promise<JobRecord[]>;
}

/** Job records in Redis: the lifecycle's adapter for the shared mode. */
export function createRedisJobRecords(redis: Redis, ttlS: number): RedisJobRecords {
  redis.defineCommand('setUnlessFinal', { numberOfKeys: 1, lua: SET_UNLESS_FINAL });
  const setUnlessFinal = (record: JobRecord) =>
    (redis as unknown as { setUnlessFinal(key: string, value: string): Promise<number> }).setUnlessFinal(redisKeys.record(record.jobId), JSON.stringify(record));

  async function read(jobId: string): Promise<JobRecord | undefined> {
    const [text, chunks] = await Promise.all([redis.get(redisKeys.record(jobId)), redis.hgetall(redisKeys.chunks(jobId))]);
    const parsed = text ? jobRecordSchema.safeParse(JSON.parse(text)) : undefined;
    if (!parsed?.success) return undefined;
    const record = parsed.data;
    for (const [index, value] of Object.entries(chunks)) {
      const entry = record.chunks?.[Number(index)];
      const progress = chunkProgressSchema.safeParse(JSON.parse(value));
      if (entry && progress.success) Object.assign(entry, progress.data);
    }
    return isFinal(record.status) ? record : { ...record, progress: progressOf(record) };
  }

  return {
    read,
    writeUnlessFinal: async (record) => (await setUnlessFinal(record)) === 1,
    async retire(record) {
      await redis.multi().expire(redisKeys.record(record.jobId), ttlS).expire(redisKeys.chunks(record.jobId), ttlS).hdel(redisKeys.active, record.jobId).exec();
    },
    async create(record, bytes) {
      await redis.multi().set(redisKeys.record(record.jobId), JSON.stringify(record)).zadd(redisKeys.index, String(Date.now()), record.jobId).hset(redisKeys.active, record.jobId, String(bytes)).exec();
    },
    async forget(jobId) {
      await redis.multi().del(redisKeys.record(jobId)).hdel(redisKeys.active, jobId).exec();
    },
    writeChunkProgress: (jobId, index, framesDone, worker) => redis.hset(redisKeys.chunks(jobId), String(index), JSON.stringify({ framesDone, worker })),
    async list() {
      const ids = await redis.zrange(redisKeys.index, '0', '-1');
      const records = await Promise.all(ids.map((id) => read(id)));
      const gone = ids.filter((_, i) => !records[i]);
      if (gone.length > 0) await redis.zrem(redisKeys.index, ...gone);
      return records.filter((r): r is JobRecord => r !== undefined);
    },
  };
}
