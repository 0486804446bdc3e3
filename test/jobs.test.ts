import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { postFile, startTestServer } from './helpers/server.js';
import { knownTruthVideo, patternVideo } from './helpers/videos.js';

let dir: string;
let truth: Buffer;
let long: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-jobs-'));
  await Promise.all([knownTruthVideo(join(dir, 'truth.mp4')), patternVideo(join(dir, 'long.mp4'), 90)]);
  truth = await readFile(join(dir, 'truth.mp4'));
  long = await readFile(join(dir, 'long.mp4'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const getJob = async (server: { url: string }, id: string) => {
  const res = await fetch(`${server.url}/v1/jobs/${id}`);
  return { status: res.status, body: (await res.json()) as any };
};

/** Whether an ffmpeg process has this upload open as its input. */
const ffmpegReading = async (upload: string) => {
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'args']);
  return stdout.split('\n').some((line) => line.includes('ffmpeg') && line.includes(upload));
};

const waitFor = async (server: { url: string }, id: string, done: (job: any) => boolean, timeout = 60_000) => {
  const start = Date.now();
  for (;;) {
    const { body } = await getJob(server, id);
    if (done(body)) return body;
    if (Date.now() - start > timeout) throw new Error(`job ${id} stuck at ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('async video jobs', () => {
  let dataDir: string;
  let server: RunningServer;
  beforeAll(async () => {
    dataDir = join(dir, 'data-async');
    server = await startTestServer({ modelsDir: 'models', dataDir, syncMaxSeconds: 5 });
  });
  afterAll(() => server?.close());

  it('a video over syncMaxSeconds answers 202, reports progress, finishes, and survives a restart', async () => {
    const submitted = await postFile(`${server.url}/v1/models/object-detector/predict?labels=person&fps=4`, truth, 'truth.mp4');
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ jobId: expect.any(String), links: { self: `/v1/jobs/${submitted.body.jobId}` } });
    expect(submitted.headers.get('location')).toBe(`/v1/jobs/${submitted.body.jobId}`);
    const id = submitted.body.jobId;

    const progress: number[] = [];
    const final = await waitFor(server, id, (job) => {
      progress.push(job.progress.framesDone);
      return job.status === 'succeeded' || job.status === 'failed';
    });
    expect(final.status).toBe('succeeded');
    expect(final.progress).toEqual({ framesDone: 48, framesTotal: 48, percent: 100 });
    expect(progress.some((p) => p > 0 && p < 48)).toBe(true);
    expect(final.result.segments).toHaveLength(1);
    expect(final.result.jobId).toBe(id);
    expect((await fetch(`${server.url}/v1/jobs`).then((r) => r.json()) as any).jobs.map((j: any) => j.jobId)).toContain(id);

    await server.close();
    server = await startTestServer({ modelsDir: 'models', dataDir, syncMaxSeconds: 5 });
    const again = await getJob(server, id);
    expect(again.body.status).toBe('succeeded');
    expect(again.body.result.review).toEqual(final.result.review);
    expect((await fetch(`${server.url}${final.result.segments[0].thumbnail}`)).status).toBe(200);
  });

  it('can be cancelled mid-way: status cancelled, ffmpeg stopped, temp file gone', async () => {
    const submitted = await postFile(`${server.url}/v1/models/object-detector/predict?mode=async`, long, 'long.mp4');
    const id = submitted.body.jobId;
    await waitFor(server, id, (job) => job.progress.framesDone > 0);
    const [upload] = await readdir(join(dataDir, 'tmp'));
    expect(await ffmpegReading(upload)).toBe(true);
    const cancelled = await fetch(`${server.url}/v1/jobs/${id}`, { method: 'DELETE' }).then((r) => r.json()) as any;
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.error.code).toBe('CANCELLED');
    expect(cancelled.progress.framesDone).toBeLessThan(cancelled.progress.framesTotal);
    expect(await readdir(join(dataDir, 'tmp'))).toEqual([]);
    await expect.poll(() => ffmpegReading(upload), { timeout: 5000 }).toBe(false);
    expect((await getJob(server, id)).body.status).toBe('cancelled');
  });

  it('runs one video job at a time by default and queues the rest', async () => {
    const a = await postFile(`${server.url}/v1/models/object-detector/predict?mode=async`, long, 'a.mp4');
    const b = await postFile(`${server.url}/v1/models/object-detector/predict?mode=async`, long, 'b.mp4');
    await waitFor(server, a.body.jobId, (job) => job.status === 'running');
    expect((await getJob(server, b.body.jobId)).body.status).toBe('queued');
    const cancelB = await fetch(`${server.url}/v1/jobs/${b.body.jobId}`, { method: 'DELETE' }).then((r) => r.json()) as any;
    expect(cancelB.status).toBe('cancelled');
    await fetch(`${server.url}/v1/jobs/${a.body.jobId}`, { method: 'DELETE' });
    expect(await readdir(join(dataDir, 'tmp'))).toEqual([]);
  });

  it('answers JOB_NOT_FOUND and SEGMENT_NOT_FOUND', async () => {
    const missing = await getJob(server, '00000000-0000-0000-0000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('JOB_NOT_FOUND');
    expect((await getJob(server, '..%2F..%2Fetc')).body.error.code).toBe('JOB_NOT_FOUND');
    const jobs = (await fetch(`${server.url}/v1/jobs`).then((r) => r.json()) as any).jobs;
    const res = await fetch(`${server.url}/v1/jobs/${jobs[0].jobId}/segments/99/thumbnail.jpg`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe('SEGMENT_NOT_FOUND');
  });
});

describe('a server killed mid-job', () => {
  it('marks the job failed with INTERRUPTED on restart, and leaves no temp file', async () => {
    const dataDir = join(dir, 'data-killed');
    const child = spawn(process.execPath, ['dist/src/cli/main.js', 'serve'], {
      env: { ...process.env, FRAMEWATCH_PORT: '0', FRAMEWATCH_HOST: '127.0.0.1', FRAMEWATCH_DATA_DIR: dataDir, FRAMEWATCH_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let log = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout!.on('data', (chunk) => {
          log += chunk;
          const m = /"msg":"listening","url":"([^"]+)"/.exec(log);
          if (m && /model version ready.*\n.*model version ready/s.test(log)) resolve(m[1]);
        });
        child.on('exit', () => reject(new Error(`server exited: ${log}`)));
      });
      const submitted = await postFile(`${url}/v1/models/object-detector/predict?mode=async`, long, 'long.mp4');
      const id = submitted.body.jobId;
      await waitFor({ url }, id, (job) => job.progress.framesDone > 0);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      expect(await readdir(join(dataDir, 'tmp'))).toHaveLength(1); // the dead server's upload

      const server = await startTestServer({ modelsDir: 'models', dataDir });
      try {
        const { body } = await getJob(server, id);
        expect(body.status).toBe('failed');
        expect(body.error.code).toBe('INTERRUPTED');
        expect(await readdir(join(dataDir, 'tmp'))).toEqual([]);
      } finally {
        await server.close();
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});
