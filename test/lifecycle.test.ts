import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logging/logger.js';
import { CANCELLED, createDiskJobStore, createJobLifecycle, createRedisJobRecords, redisKeys, type JobLifecycle, type JobRecord, type JobStore, type RedisJobRecords } from '../src/pipeline/index.js';
import type { ModelRepository } from '../src/registry/index.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

// The one job lifecycle (pipeline/jobs/lifecycle.ts) over the shared mode's records in a real Redis and a
// real disk store: a cancel and a finish that cross leave one outcome, and the upload follows that outcome.
describe('the job lifecycle over Redis records', () => {
  let dir: string;
  let redis: TestRedis;
  let client: Redis;
  let records: RedisJobRecords;
  let store: JobStore;
  let lifecycle: JobLifecycle;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fw-lifecycle-'));
    redis = await startRedis(await mkdtemp(join(dir, 'redis-')));
    client = new Redis(redis.url);
    records = createRedisJobRecords(client, 3600);
    store = createDiskJobStore(join(dir, 'data'));
    await mkdir(store.uploadDir, { recursive: true });
    // end() and start() never reach the repository; only succeed() merges results with it.
    const repository = {} as ModelRepository;
    lifecycle = createJobLifecycle({ records, store, repository, keepVideos: true, logger: createLogger('error') });
  });
  afterAll(async () => {
    client.disconnect();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function queuedJob(): Promise<{ jobId: string; upload: string }> {
    const jobId = randomUUID();
    const at = new Date().toISOString();
    const record: JobRecord = { jobId, status: 'queued', createdAt: at, updatedAt: at, model: { name: 'object-detector', version: 2 }, input: { bytes: 5, durationS: 1 }, progress: { framesDone: 0, framesTotal: 10, percent: 0 } };
    await records.create(record, 5);
    const upload = join(store.uploadDir, `${jobId}.mp4`);
    await writeFile(upload, 'video');
    return { jobId, upload };
  }

  const SUCCEEDED: Partial<JobRecord> = { status: 'succeeded' };

  it('a cancel and a finish that cross: one wins, both callers see it, and the upload follows it', async () => {
    const outcomes = { cancelled: 0, succeeded: 0 };
    for (let n = 0; n < 20; n++) {
      const { jobId, upload } = await queuedJob();
      expect(await lifecycle.start(jobId)).toBe(true);
      const [byCancel, byFinish] = await Promise.all([lifecycle.end(jobId, upload, CANCELLED), lifecycle.end(jobId, upload, SUCCEEDED)]);
      const stored = await records.read(jobId);
      expect(byCancel?.status).toBe(stored?.status);
      expect(byFinish?.status).toBe(stored?.status);
      outcomes[stored!.status as 'cancelled' | 'succeeded']++;
      // Kept as the job's video only when the finish won; removed, not kept, when the cancel did.
      expect(existsSync(store.videoPath(jobId))).toBe(stored?.status === 'succeeded');
      expect(existsSync(upload)).toBe(false);
      expect(await client.hexists(redisKeys.active, jobId)).toBe(0);
    }
    expect(outcomes.cancelled + outcomes.succeeded).toBe(20);
  });

  it('a job cancelled before it starts never runs, and a late finish neither overwrites it nor touches a file', async () => {
    const { jobId, upload } = await queuedJob();
    expect((await lifecycle.end(jobId, upload, CANCELLED))?.status).toBe('cancelled');
    expect(existsSync(upload)).toBe(false);
    expect(await lifecycle.start(jobId)).toBe(false);
    // A worker that did not hear of the cancel finishes on a file of that name (here, a new one).
    await writeFile(upload, 'video');
    expect((await lifecycle.end(jobId, upload, SUCCEEDED))?.status).toBe('cancelled');
    expect(existsSync(upload)).toBe(true);
    expect(existsSync(store.videoPath(jobId))).toBe(false);
  });

  it('an upload path outside the upload folder is never removed, even by the winning write', async () => {
    const { jobId } = await queuedJob();
    const outside = join(dir, 'not-an-upload.mp4');
    await writeFile(outside, 'keep me');
    expect((await lifecycle.end(jobId, outside, CANCELLED))?.status).toBe('cancelled');
    expect(existsSync(outside)).toBe(true);
  });
});
