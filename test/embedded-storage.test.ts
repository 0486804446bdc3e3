// The embedded server with its jobs on a real, small tmpfs (<dataDir>/jobs) that the test fills:
// a full disk must not take the server down (B2). Uploads stay on the other disk, so removing
// one frees nothing where the records are written. The same server's chunk logs come first.
import { execFileSync, spawnSync } from 'node:child_process';
import { statfsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { expectChunkLogs } from './helpers/chunk-logs.js';
import { memoryLogger, postRaw, startTestServer, type LogLine } from './helpers/server.js';
import { knownTruthVideo, patternVideo } from './helpers/videos.js';

let dir: string;
let dataDir: string;
let jobsDisk: string;
let server: RunningServer;
let truth: Buffer;
let long: Buffer;
let png: Buffer;
let mounted = false;
const lines: LogLine[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-disk-'));
  dataDir = join(dir, 'data');
  jobsDisk = join(dataDir, 'jobs');
  await mkdir(jobsDisk, { recursive: true });
  // Root in this sandbox can mount; a tmpfs of 16 MiB is the "disk" the test fills. Where
  // mounting is not allowed (a container without CAP_SYS_ADMIN) the full-disk case is skipped, loudly.
  mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', jobsDisk]).status === 0;
  if (!mounted) console.warn('embedded-storage.test.ts: cannot mount a tmpfs here; the full-disk case (B2) is skipped');
  await Promise.all([knownTruthVideo(join(dir, 'truth.mp4')), patternVideo(join(dir, 'long.mp4'), 30)]);
  [truth, long, png] = await Promise.all([readFile(join(dir, 'truth.mp4')), readFile(join(dir, 'long.mp4')), readFile('test/fixtures/imageTextN.png')]);
  server = await startTestServer({ modelsDir: 'models', dataDir, chunkSeconds: 6 }, memoryLogger(lines));
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (mounted) execFileSync('umount', ['-l', jobsDisk]);
  await rm(dir, { recursive: true, force: true });
});

const job = async (id: string) => (await fetch(`${server.url}/v1/jobs/${id}`)).json() as Promise<any>;
/** Fills the tmpfs to its last block: dd writes until ENOSPC (its non-zero exit is the point). */
const fillDisk = () => {
  spawnSync('dd', ['if=/dev/zero', `of=${join(jobsDisk, 'filler')}`, 'bs=4k', 'oflag=append', 'conv=notrunc']);
  expect(statfsSync(jobsDisk).bavail).toBe(0);
};

/**
 * Fills it, then again a moment later: a record written just before the first fill (its
 * temp file not yet renamed) may be replaced and free its page, and one free page lets the
 * job's next small write succeed (a loaded run once finished the job that way).
 */
const fillDiskForGood = async () => {
  fillDisk();
  await new Promise((r) => setTimeout(r, 500));
  fillDisk();
};

describe('embedded chunk logs', () => {
  it('logs each chunk\'s start and finish at info, with job, chunk, frames, duration and worker', async () => {
    const res = await postRaw(`${server.url}/v1/models/object-detector/predict?mode=sync&fps=4`, truth, 'video/mp4');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const jobId = res.body.jobId;
    expectChunkLogs(lines, jobId, [0, 1], 48);
  });
});

describe('a full data disk (B2)', () => {
  it('fails the running job with STORAGE_FULL, keeps serving images, and refuses videos with 507 STORAGE_FULL', async (ctx) => {
    if (!mounted) return ctx.skip();
    const submitted = await postRaw(`${server.url}/v1/models/object-detector/predict?mode=async&fps=2`, long, 'video/mp4');
    expect(submitted.status).toBe(202);
    const id = submitted.body.jobId;
    await expect.poll(async () => (await job(id)).progress.framesDone, { timeout: 30_000 }).toBeGreaterThan(0);
    await fillDiskForGood();
    // The job's writes (progress, thumbnails, result, its final record) now meet ENOSPC.
    await expect.poll(async () => (await job(id)).status, { timeout: 100_000 }).toBe('failed');
    const failed = await job(id);
    expect(failed.error.code, JSON.stringify(failed.error)).toBe('STORAGE_FULL');

    const image = await postRaw(`${server.url}/v1/models/text-detector/predict`, png, 'image/png');
    expect(image.status).toBe(200);
    const refused = await postRaw(`${server.url}/v1/models/object-detector/predict?mode=async`, truth, 'video/mp4');
    expect(refused.status).toBe(507);
    expect(refused.body.error.code).toBe('STORAGE_FULL');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    await rm(join(jobsDisk, 'filler'));
    const again = await postRaw(`${server.url}/v1/models/object-detector/predict?mode=async`, truth, 'video/mp4');
    expect(again.status).toBe(202);
  }, 150_000);
});
