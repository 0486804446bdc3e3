// Shared mode for real: redis-server, one API process and two worker processes, each its own
// `framewatch serve`, sharing one data directory as pods share a ReadWriteMany volume.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from './helpers/processes.js';
import { freePort, startRedis, type TestRedis } from './helpers/redis.js';
import { startTestServer } from './helpers/server.js';
import { knownTruthVideo, patternVideo, withTone } from './helpers/videos.js';
import { probeVideo, sampleFrames } from '../src/media/ffmpeg.js';

let dir: string;
let redis: TestRedis;
let video: Buffer;
/** testsrc (its frame number drawn on every frame) at 10 fps for 12 s, with a tone from 2 to 4 s. */
let patterned: Buffer;
let api: ServerProcess;
const workers: ServerProcess[] = [];
let env: Record<string, string>;

const ADMIN = 'scale-out-admin-token-0123';
/** Each process serves the object detector and the face detector (for redactions' face passes): both loaded before it is used. */
const BOTH_MODELS = { readyModels: 2 };
// fps 4 over the 12 s clip in 1.5 s chunks: 48 frames in 8 chunks.
const QUERY = 'mode=async&fps=4&frames=true';

const startWorker = async () => {
  const w = await spawnServer({ ...env, FRAMEWATCH_ROLE: 'worker', FRAMEWATCH_THREADS: '1' }, BOTH_MODELS);
  workers.push(w);
  return w;
};
const alive = () => workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);

async function submit(query = QUERY, upload = video): Promise<string> {
  const res = await fetch(`${api.url}/v1/models/object-detector/predict?${query}`, { method: 'POST', body: upload as BodyInit, headers: { 'content-type': 'video/mp4' } });
  const body = (await res.json()) as any;
  expect(res.status, JSON.stringify(body)).toBe(202);
  return body.jobId;
}

async function job(id: string): Promise<any> {
  return (await fetch(`${api.url}/v1/jobs/${id}`)).json();
}

async function waitFor(id: string, done: (j: any) => boolean, timeoutMs = 90_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const j = await job(id);
    if (done(j)) return j;
    if (Date.now() > deadline) throw new Error(`job ${id} stuck: ${JSON.stringify({ status: j.status, progress: j.progress, chunks: j.chunks })}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts a redaction of a finished job and waits for its end. */
async function redact(jobId: string, request: unknown): Promise<any> {
  const started = await (await fetch(`${api.url}/v1/jobs/${jobId}/redact`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) })).json();
  expect(started.status, JSON.stringify(started)).toBe('running');
  for (const end = Date.now() + 90_000; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
    const r = await (await fetch(`${api.url}${started.links.self}`)).json();
    if (r.status !== 'running') return r;
  }
  throw new Error('redaction stuck');
}

const final = (j: any) => ['succeeded', 'failed', 'cancelled'].includes(j.status);
/** What must not change when a worker dies: every frame's detections, the tracks, the segments. */
const essence = (j: any) => ({
  frames: j.result.frames,
  tracks: j.result.tracks,
  segments: j.result.segments.map(({ thumbnail: _t, ...s }: any) => s),
});
const uploads = () => readdir(join(dir, 'data', 'tmp')).catch(() => []);
const ffmpegOn = async (path: string) => (await promisify(execFile)('ps', ['-eo', 'args'])).stdout.split('\n').some((l) => l.includes('ffmpeg') && l.includes(path));

let reference: any;
/** The people of the reference job filled, by the workers in parts. */
let fillRedaction: any;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-scale-'));
  await cp('models/object-detector', join(dir, 'models', 'object-detector'), { recursive: true });
  await cp('models/face-detector', join(dir, 'models', 'face-detector'), { recursive: true });
  await knownTruthVideo(join(dir, 'truth.mp4'));
  video = await readFile(join(dir, 'truth.mp4'));
  await patternVideo(join(dir, 'pattern.mp4'), 12);
  await withTone(join(dir, 'pattern.mp4'), join(dir, 'patterned.mp4'), 2, 4, 12);
  patterned = await readFile(join(dir, 'patterned.mp4'));
  redis = await startRedis(dir);
  env = {
    FRAMEWATCH_REDIS_URL: redis.url,
    FRAMEWATCH_MODELS_DIR: join(dir, 'models'),
    FRAMEWATCH_DATA_DIR: join(dir, 'data'),
    FRAMEWATCH_CHUNK_SECONDS: '1.5',
    FRAMEWATCH_QUEUE_LOCK_MS: '2000',
    FRAMEWATCH_QUEUE_STALLED_INTERVAL_MS: '1000',
    FRAMEWATCH_QUEUE_MAX_STALLED: '3',
    FRAMEWATCH_DRAIN_TIMEOUT_MS: '5000',
    FRAMEWATCH_ADMIN_TOKEN: ADMIN,
  };
  [api] = await Promise.all([spawnServer({ ...env, FRAMEWATCH_ROLE: 'api' }, BOTH_MODELS), startWorker(), startWorker()]);
}, 180_000);

afterAll(async () => {
  await Promise.all([api, ...workers].filter(Boolean).map((p) => p.kill('SIGKILL')));
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('shared mode: one API, two workers, one Redis', () => {
  it('a job\'s chunks are spread over both workers, and the record says which worker ran which chunk', async () => {
    const id = await submit();
    reference = await waitFor(id, final);
    expect(reference.status, JSON.stringify(reference.error)).toBe('succeeded');
    expect(reference.chunks).toHaveLength(8);
    const ranOn = new Set(reference.chunks.map((c: any) => String(c.worker).split(':').pop()));
    expect([...ranOn].sort()).toEqual(workers.map((w) => String(w.child.pid)).sort());
    expect(reference.result.video.framesSampled).toBe(48);
    expect(reference.result.segments.map((s: any) => s.labels[0].label)).toContain('person');
    expect((await fetch(`${api.url}${reference.result.segments[0].thumbnail}`)).headers.get('content-type')).toBe('image/jpeg');
  });

  it.each([250, 600, 1000, 1500, 2100])('SIGKILL of a worker %i ms into a job: the job still succeeds with the reference result', async (delayMs) => {
    const id = await submit();
    await new Promise((r) => setTimeout(r, delayMs));
    const victim = alive()[0];
    await victim.kill('SIGKILL');
    const replacement = startWorker(); // the killed pod comes back, as Kubernetes would restart it
    const done = await waitFor(id, final);
    await replacement;
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(essence(done)).toEqual(essence(reference));
  });

  it('the killed workers\' chunks were handed on as stalled; no upload is left behind; the metrics show the queue', async () => {
    expect(await uploads()).toEqual([]);
    expect(workers.flatMap((w) => w.logs).filter((l) => String(l.msg).startsWith('a chunk stalled')).length).toBeGreaterThan(0);
    const metrics = (await Promise.all(alive().map(async (w) => (await fetch(`${w.url}/metrics`)).text()))).join('\n');
    expect(metrics).toMatch(/framewatch_jobs\{queue="chunks",state="completed"\} \d+/);
    expect(metrics).toMatch(/framewatch_chunk_duration_seconds_count\{model="object-detector"\} [1-9]/);
  });

  it('a redaction runs in parts on both workers, joined into one video that holds every source frame in order, and its audio', async () => {
    const id = await submit(`mode=async&fps=2`, patterned);
    expect((await waitFor(id, final)).status).toBe('succeeded');
    const done = await redact(id, { targets: ['persons'] });
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const audit = await (await fetch(`${api.url}${done.links.audit}`)).json();
    // 12 s at 10 fps in 1.5 s parts: 8 parts of 15 frames, spread over both workers.
    expect(audit.parts.map((p: any) => p.frames)).toEqual(Array(8).fill(15));
    expect(new Set(audit.parts.map((p: any) => String(p.worker).split(':').pop()))).toEqual(new Set(alive().map((w) => String(w.child.pid))));
    const out = join(dir, 'patterned-redacted.mp4');
    await writeFile(out, Buffer.from(await (await fetch(`${api.url}${done.links.video}`)).arrayBuffer()));
    const [source, redacted] = [await probeVideo(join(dir, 'patterned.mp4')), await probeVideo(out)];
    expect(audit.frames).toMatchObject({ decoded: 120, encoded: 120, masked: 0 });
    expect(redacted.hasAudio).toBe(true);
    expect(Math.abs(redacted.durationS - source.durationS)).toBeLessThanOrEqual(1 / source.fps);
    // testsrc draws its frame number: each output frame is the source frame of the same index (one frame off would differ by far more).
    const frames = async (path: string) => {
      const all: Uint8Array[] = [];
      for await (const f of sampleFrames(path, source, { fps: source.fps, startS: 0 })) all.push(f.image.data);
      return all;
    };
    const [a, b] = [await frames(join(dir, 'patterned.mp4')), await frames(out)];
    expect(b).toHaveLength(a.length);
    const diff = (x: Uint8Array, y: Uint8Array) => x.reduce((n, v, i) => n + Math.abs(v - y[i]), 0) / x.length;
    const same = a.map((f, i) => diff(f, b[i]));
    const shifted = a.slice(1).map((f, i) => diff(f, b[i]));
    expect(Math.max(...same)).toBeLessThan(2);
    expect(Math.min(...shifted)).toBeGreaterThan(2 * Math.max(...same));
    expect(await readdir(join(dir, 'data', 'jobs', id, 'files', 'redactions', done.redactionId))).toEqual(expect.not.arrayContaining(['parts', 'plan.json', 'video.partial.mp4']));
  });

  it('a redaction in parts masks what one encoder would: the people at 6 s are hidden, the empty frame at 1 s is the source\'s', async () => {
    const done = (fillRedaction = await redact(reference.jobId, { targets: ['persons'], style: 'fill' }));
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const out = join(dir, 'truth-redacted.mp4');
    await writeFile(out, Buffer.from(await (await fetch(`${api.url}${done.links.video}`)).arrayBuffer()));
    const info = await probeVideo(join(dir, 'truth.mp4'));
    const person = reference.result.tracks.find((t: any) => t.label === 'person');
    const at6 = person.trajectory.reduce((x: number[], y: number[]) => (Math.abs(y[0] - 6) < Math.abs(x[0] - 6) ? y : x));
    const frameAt = async (path: string, t: number) => (await sampleFrames(path, info, { fps: 10, startS: t, maxFrames: 1 }).next()).value!.image.data;
    const inBox = async (path: string) => {
      const f = await frameAt(path, 6);
      const [x, y] = [Math.round(at6[1] + at6[3] / 2), Math.round(at6[2] + at6[4] / 2)];
      return f.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3);
    };
    expect([...(await inBox(out))].every((v) => v < 24)).toBe(true); // a solid fill is black
    expect([...(await inBox(join(dir, 'truth.mp4')))].some((v) => v > 24)).toBe(true);
    const [src1, out1] = [await frameAt(join(dir, 'truth.mp4'), 1), await frameAt(out, 1)];
    expect(src1.reduce((n: number, v: number, i: number) => n + Math.abs(v - out1[i]), 0) / src1.length).toBeLessThan(4);
  });

  it('a redaction\'s face pass runs in detect parts on the workers, joined and tracked as one pass: messi5\'s face is hidden', async () => {
    const done = await redact(reference.jobId, { targets: ['faces'], style: 'fill' });
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    // 12 s at 5 fps: 60 samples, in 8 parts of 7 or 8 (1.5 s) on the workers.
    expect(done.audit.faces).toMatchObject({ model: { name: 'face-detector' }, samples: 60, fps: 5 });
    const faces = done.audit.tracks.filter((t: any) => t.label === 'face');
    expect(faces.length).toBeGreaterThan(0);
    // messi5.jpg shows from 4 to 8 s: its face is found there, and filled black in the output.
    const face = faces.reduce((a: any, b: any) => (b.trajectory.length > a.trajectory.length ? b : a));
    expect(face.startS).toBeGreaterThanOrEqual(3.9);
    expect(face.endS).toBeLessThanOrEqual(8.1);
    const at = face.trajectory[Math.floor(face.trajectory.length / 2)];
    const out = join(dir, 'faces-redacted.mp4');
    await writeFile(out, Buffer.from(await (await fetch(`${api.url}${done.links.video}`)).arrayBuffer()));
    const info = await probeVideo(out);
    const frame = (await sampleFrames(out, info, { fps: 10, startS: at[0], maxFrames: 1 }).next()).value!.image.data;
    const i = (Math.round(at[2] + at[4] / 2) * info.width + Math.round(at[1] + at[3] / 2)) * 3;
    expect([...frame.subarray(i, i + 3)].every((v) => v < 24)).toBe(true);
  });

  it('SIGKILL of a worker while it encodes a redaction\'s parts: its part is handed on, and the video is the same bytes', async () => {
    const started = await (await fetch(`${api.url}/v1/jobs/${reference.jobId}/redact`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ targets: ['persons'], style: 'fill' }) })).json();
    const self = `${api.url}${started.links.self}`;
    let seen = started;
    for (const end = Date.now() + 30_000; !(seen.progress.stage === 'encode' && seen.progress.framesDone > 0) && seen.status === 'running' && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 50));
      seen = await (await fetch(self)).json();
    }
    expect(seen.status).toBe('running');
    await alive()[0].kill('SIGKILL');
    const replacement = startWorker();
    for (const end = Date.now() + 90_000; seen.status === 'running' && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 200));
      seen = await (await fetch(self)).json();
    }
    await replacement;
    expect(seen.status, JSON.stringify(seen.error)).toBe('succeeded');
    expect(seen.audit.frames.decoded).toBe(fillRedaction.audit.frames.decoded);
    expect(seen.audit.output.sha256).toBe(fillRedaction.audit.output.sha256);
  });

  it('DELETE cancels a redaction mid-encode on every worker: cancelled, no video, its parts removed, no ffmpeg left', async () => {
    const started = await (await fetch(`${api.url}/v1/jobs/${reference.jobId}/redact`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ targets: ['persons'] }) })).json();
    const self = `${api.url}${started.links.self}`;
    const deadline = Date.now() + 30_000;
    let seen = started;
    while (!(seen.progress.stage === 'encode' && seen.progress.framesDone > 0) && seen.status === 'running' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      seen = await (await fetch(self)).json();
    }
    expect(seen.status).toBe('running');
    const cancelled = await (await fetch(self, { method: 'DELETE' })).json();
    expect(cancelled.status).toBe('cancelled');
    const folder = join(dir, 'data', 'jobs', reference.jobId, 'files', 'redactions', started.redactionId);
    for (const end = Date.now() + 20_000; (await readdir(folder)).some((f) => f !== 'record.json') && Date.now() < end;) await new Promise((r) => setTimeout(r, 100));
    expect(await readdir(folder)).toEqual(['record.json']);
    expect((await fetch(`${self}/video.mp4`)).status).toBe(409);
    expect(await ffmpegOn(folder)).toBe(false);
    expect((await (await fetch(self)).json()).status).toBe('cancelled');
  });

  it('DELETE cancels a running job on every worker: its ffmpeg stops and its upload goes', async () => {
    const id = await submit('mode=async&fps=10');
    const running = await waitFor(id, (j) => j.status === 'running' && j.progress.framesDone > 0, 30_000);
    expect(running.status).toBe('running');
    const cancelled = await (await fetch(`${api.url}/v1/jobs/${id}`, { method: 'DELETE' })).json();
    expect((cancelled as any).status).toBe('cancelled');
    const deadline = Date.now() + 15_000;
    while ((await uploads()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await uploads()).toEqual([]);
    expect(await ffmpegOn(join(dir, 'data', 'tmp'))).toBe(false);
    expect((await job(id)).status).toBe('cancelled');
  });

  it('SIGTERM on a worker mid-chunk: it finishes or hands back its chunk and exits 0; the job succeeds', async () => {
    const id = await submit();
    await waitFor(id, (j) => j.progress.framesDone > 0, 30_000);
    const victim = alive()[0];
    const code = await victim.kill('SIGTERM');
    expect(code).toBe(0);
    const replacement = startWorker();
    const done = await waitFor(id, final);
    await replacement;
    expect(done.status).toBe('succeeded');
    expect(essence(done)).toEqual(essence(reference));
  });

  it('the queue dashboard is at /admin/queues behind the admin token', async () => {
    expect((await fetch(`${api.url}/admin/queues`)).status).toBe(401);
    const page = await fetch(`${api.url}/admin/queues`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/bull-board|Bull Dashboard/i);
    const queues = await (await fetch(`${api.url}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${ADMIN}` } })).json();
    expect(JSON.stringify(queues)).toContain('framewatch-chunks');
  });

  it('Redis away: videos get 503 QUEUE_UNAVAILABLE with Retry-After, /readyz says why, images work; accepted jobs finish once it is back', async () => {
    for (const w of alive()) await w.kill('SIGTERM'); // no worker: the next job waits in Redis
    const accepted = await submit();
    await redis.stop();
    await new Promise((r) => setTimeout(r, 500));
    const refused = await fetch(`${api.url}/v1/models/object-detector/predict?mode=async`, { method: 'POST', body: video as BodyInit, headers: { 'content-type': 'video/mp4' } });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as any).error.code).toBe('QUEUE_UNAVAILABLE');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const ready = (await (await fetch(`${api.url}/readyz`)).json()) as any;
    expect(JSON.stringify(ready)).toMatch(/Redis is unreachable/);
    const image = await fetch(`${api.url}/v1/models/object-detector/predict`, { method: 'POST', body: (await readFile('test/fixtures/messi5.jpg')) as BodyInit, headers: { 'content-type': 'image/jpeg' } });
    expect(image.status).toBe(200);
    expect(await uploads()).toHaveLength(1); // the accepted job's upload only

    // Every process restarts: Redis from its append-only file, the API, a worker.
    await redis.start();
    await api.kill('SIGKILL');
    api = await spawnServer({ ...env, FRAMEWATCH_ROLE: 'api' }, BOTH_MODELS);
    await startWorker();
    const done = await waitFor(accepted, final);
    expect(done.status).toBe('succeeded');
    expect(essence(done)).toEqual(essence(reference));
  });
});

describe('shared mode started while Redis is away', () => {
  it('the API still starts and serves images; videos get QUEUE_UNAVAILABLE and /readyz names Redis', async () => {
    const port = await freePort(); // nothing listens there
    const server = await startTestServer({ modelsDir: join(dir, 'models'), dataDir: join(dir, 'away-data'), redisUrl: `redis://127.0.0.1:${port}`, role: 'api' });
    try {
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(JSON.stringify(await ready.json())).toMatch(/Redis is unreachable/);
      const image = await fetch(`${server.url}/v1/models/object-detector/predict`, { method: 'POST', body: (await readFile('test/fixtures/messi5.jpg')) as BodyInit, headers: { 'content-type': 'image/jpeg' } });
      expect(image.status).toBe(200);
      const refused = await fetch(`${server.url}/v1/models/object-detector/predict`, { method: 'POST', body: video as BodyInit, headers: { 'content-type': 'video/mp4' } });
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as any).error.code).toBe('QUEUE_UNAVAILABLE');
    } finally {
      await server.close();
    }
  });
});
