import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { ffmpegPath } from '../src/media/ffmpeg.js';
import { postFile, startTestServer } from './helpers/server.js';
import { patternVideo } from './helpers/videos.js';

// The redaction encoder's bounds (issue 25): one server whose redactions may write 2 MB and run
// 4 s. Noise outgrows the bytes in a few frames; a minute of flat 720p30 (1800 frames, a few
// kilobytes of output) cannot be decoded, masked and encoded in 4 s. Each fails with its code,
// leaves no video and no ffmpeg, and the server keeps redacting.

const MAX_BYTES = 2_000_000;
const TIME_LIMIT_MS = 4000;

let dir: string;
let dataDir: string;
let server: RunningServer;
const run = promisify(execFile);
const ffmpeg = (args: string[]) => run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...args]);

const api = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);
const post = (path: string, body: unknown) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** A finished job of the clip made by `make` (sampled at 0.5 fps: its detections do not matter here). */
async function jobOf(name: string, make: (out: string) => Promise<unknown>): Promise<string> {
  const file = join(dir, name);
  await make(file);
  const posted = await postFile(`${server.url}/v1/models/object-detector/predict?fps=0.5&labels=person&frames=false`, await readFile(file), name, 'video/mp4');
  expect(posted.status, JSON.stringify(posted.body)).toBe(200);
  return posted.body.jobId;
}

/** Starts a redaction of the job's persons and waits for it to end. */
async function redaction(jobId: string) {
  const started = await (await post(`/v1/jobs/${jobId}/redact`, { targets: ['persons'] })).json();
  for (const start = Date.now(); Date.now() - start < 60_000; await new Promise((r) => setTimeout(r, 200))) {
    const record = await (await api(started.links.self)).json();
    if (record.status !== 'running') return record;
  }
  throw new Error('the redaction did not end');
}

/** The redaction's folder and files (only record.json after a failure), and the ffmpeg processes still reading this server's data. */
async function leftovers(record: { jobId: string; redactionId: string }) {
  const files = (await readdir(dataDir, { recursive: true })).filter((f) => f.includes(record.redactionId)).map((f) => basename(f));
  const { stdout } = await run('ps', ['-eo', 'args']);
  return { files: files.sort(), ffmpeg: stdout.split('\n').filter((l) => l.includes(ffmpegPath()) && l.includes(dataDir)) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-redact-bounds-'));
  dataDir = join(dir, 'data');
  server = await startTestServer({ modelsDir: 'models', dataDir, redactMaxBytes: MAX_BYTES, redactTimeoutBaseMs: TIME_LIMIT_MS, redactTimeoutFactor: 0 });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a redaction is bounded', () => {
  it('an output that reaches FRAMEWATCH_REDACT_MAX_BYTES fails with REDACTION_TOO_LARGE and leaves no video and no ffmpeg', async () => {
    // 2 s of 640x480 noise: a few hundred kilobytes a frame at crf 20.
    const jobId = await jobOf('noise.mp4', (out) => ffmpeg(['-f', 'lavfi', '-i', 'color=c=gray:s=640x480:r=10:d=2,noise=alls=100:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', out]));
    const record = await redaction(jobId);
    expect([record.status, record.error?.code], JSON.stringify(record)).toEqual(['failed', 'REDACTION_TOO_LARGE']);
    expect(record.error.message).toContain(String(MAX_BYTES));
    expect(await leftovers(record)).toEqual({ files: [record.redactionId, 'record.json'].sort(), ffmpeg: [] });
    expect((await api(`/v1/jobs/${jobId}/redactions/${record.redactionId}/video.mp4`)).status).toBe(409);
  });

  it('a redaction past its time limit is stopped: REDACTION_TIMEOUT, no video, no ffmpeg', async () => {
    const jobId = await jobOf('flat.mp4', (out) => ffmpeg(['-f', 'lavfi', '-i', 'color=c=gray:s=1280x720:r=30:d=60', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', out]));
    const started = Date.now();
    const record = await redaction(jobId);
    expect([record.status, record.error?.code], JSON.stringify(record)).toEqual(['failed', 'REDACTION_TIMEOUT']);
    expect(Date.now() - started).toBeLessThan(TIME_LIMIT_MS + 5000);
    expect(record.progress.framesDone).toBeLessThan(1800);
    expect(await leftovers(record)).toEqual({ files: [record.redactionId, 'record.json'].sort(), ffmpeg: [] });
  });

  it('keeps serving: a redaction inside both bounds succeeds afterwards', async () => {
    const jobId = await jobOf('pattern.mp4', (out) => patternVideo(out, 2));
    const record = await redaction(jobId);
    expect(record.status, JSON.stringify(record)).toBe('succeeded');
    expect(record.audit.output.bytes).toBeLessThan(MAX_BYTES);
    expect(record.audit.spans).toEqual([{ sourceStartS: 0, sourceEndS: 2, outputStartS: 0, frames: 20 }]);
    expect((await api('/healthz')).status).toBe(200);
  });
});
