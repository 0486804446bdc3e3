// Shared mode in one process (role all) on a real redis-server: the chunk logs, a worker that
// must refuse upload paths an attacker with Redis access wrote (B4), and a sync request that
// must not outlive a Redis outage (B3, last: it stops Redis).
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { CHUNK_QUEUE, VIDEO_QUEUE } from '../src/pipeline/index.js';
import { expectChunkLogs } from './helpers/chunk-logs.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { memoryLogger, postRaw, startTestServer, type LogLine } from './helpers/server.js';
import { knownTruthVideo, patternVideo } from './helpers/videos.js';

let dir: string;
let dataDir: string;
let redis: TestRedis;
let server: RunningServer;
let truth: Buffer;
let long: Buffer;
let chunks: Queue;
let videos: Queue;
const lines: LogLine[] = [];
let jobId: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-shared-'));
  dataDir = join(dir, 'data');
  await Promise.all([knownTruthVideo(join(dir, 'truth.mp4')), patternVideo(join(dir, 'long.mp4'), 30)]);
  [truth, long] = await Promise.all([readFile(join(dir, 'truth.mp4')), readFile(join(dir, 'long.mp4'))]);
  redis = await startRedis(dir);
  server = await startTestServer({ modelsDir: 'models', dataDir, redisUrl: redis.url, chunkSeconds: 6, drainTimeoutMs: 1000 }, memoryLogger(lines));
  const connection = () => new Redis(redis.url, { maxRetriesPerRequest: null }).on('error', () => undefined);
  chunks = new Queue(CHUNK_QUEUE, { connection: connection() });
  videos = new Queue(VIDEO_QUEUE, { connection: connection() });
  for (const q of [chunks, videos]) q.on('error', () => undefined);
}, 120_000);

afterAll(async () => {
  await redis?.start().catch(() => undefined); // B3 stops it; the server closes against a live one
  await Promise.all([chunks?.close(), videos?.close()]);
  await server?.close();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A BullMQ job's end: its state and, when it failed, why. */
const settled = async (queue: Queue, id: string) => {
  await expect.poll(async () => ['failed', 'completed'].includes(await queue.getJobState(id)), { timeout: 30_000 }).toBe(true);
  return { state: await queue.getJobState(id), reason: (await queue.getJob(id))?.failedReason ?? '' };
};

describe('shared chunk logs', () => {
  it('logs each chunk\'s start and finish at info, with job, chunk, frames, duration and worker', async () => {
    const res = await postRaw(`${server.url}/v1/models/object-detector/predict?mode=sync&fps=4`, truth, 'video/mp4');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    jobId = res.body.jobId;
    expectChunkLogs(lines, jobId, [0, 1], 48);
  });
});

describe('upload paths from Redis (B4)', () => {
  it.each(['outside', 'dotdot', 'symlink'])('a worker refuses a spec.path that leaves <dataDir>/tmp (%s): the file stays, the job fails INVALID_INPUT', async (how) => {
    const victim = join(dir, `victim-${how}.txt`);
    await writeFile(victim, 'not yours');
    await mkdir(join(dataDir, 'tmp'), { recursive: true });
    const linkDir = join(dataDir, 'tmp', `link-${how}`);
    if (how === 'symlink') await symlink(dir, linkDir);
    const path = { outside: victim, dotdot: `${dataDir}/tmp/../../victim-${how}.txt`, symlink: join(linkDir, `victim-${how}.txt`) }[how]!;
    // What an attacker copies: a genuine payload, with another job id and the path changed.
    const genuine = (await chunks.getJob(`${jobId}-0`))!.data;
    const spec = { ...genuine.spec, jobId: randomUUID(), path };
    const chunk = await chunks.add('chunk', { ...genuine, spec });
    const parent = await videos.add('video', { spec: { ...spec, jobId: randomUUID() } });
    for (const [queue, job] of [[chunks, chunk], [videos, parent]] as const) {
      const { state, reason } = await settled(queue, job.id!);
      expect(state).toBe('failed');
      expect(reason).toMatch(/INVALID_INPUT/);
    }
    expect(existsSync(victim)).toBe(true);
  });
});

describe('a Redis outage during a sync request (B3)', () => {
  it('answers 503 QUEUE_UNAVAILABLE within 10 s of Redis going away', async () => {
    const answer = postRaw(`${server.url}/v1/models/object-detector/predict?mode=sync&fps=2`, long, 'video/mp4');
    await expect.poll(async () => ((await (await fetch(`${server.url}/v1/jobs`)).json()) as any).jobs.some((j: any) => j.status === 'running' && j.progress.framesDone > 0), { timeout: 30_000 }).toBe(true);
    await redis.stop();
    const stoppedAt = Date.now();
    const res = await answer;
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('QUEUE_UNAVAILABLE');
    await redis.start();
  }, 120_000);

  it('closes after Redis restarted, within the drain time and one bounded shutdown step', async () => {
    // BullMQ's worker close waits forever on a connection that reconnected (taskforcesh/bullmq#4656).
    const closing = Date.now();
    await server.close();
    expect(Date.now() - closing).toBeLessThan(15_000);
    server = undefined as unknown as RunningServer;
  }, 60_000);
});
