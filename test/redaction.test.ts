import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { probeVideo, sampleFrames } from '../src/media/ffmpeg.js';
import { postFile, startTestServer } from './helpers/server.js';
import { knownTruthVideo } from './helpers/videos.js';

// Redaction of a finished job (first part of issue 25): the person tracks of the known-truth
// video (messi5.jpg, 4-8 s) masked on every frame of a new H.264 file, with its audit.

let dir: string;
let server: RunningServer;
let jobId: string;
let source: string;

const api = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);
const post = (path: string, body: unknown) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, what: string): Promise<T> {
  for (const start = Date.now(); ; await new Promise((r) => setTimeout(r, 200))) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() - start > 60_000) throw new Error(`${what}: ${JSON.stringify(v)}`);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-redact-'));
  source = join(dir, 'truth.mp4');
  await knownTruthVideo(source);
  server = await startTestServer({ modelsDir: 'models', dataDir: join(dir, 'data') });
  const posted = await postFile(`${server.url}/v1/models/object-detector/predict?mode=async&labels=person`, await readFile(source), 'truth.mp4', 'video/mp4');
  jobId = posted.body.jobId;
  await until(async () => (await (await api(`/v1/jobs/${jobId}`)).json()).status, (s) => s === 'succeeded', 'job');
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Mean absolute difference per channel value inside a box of two frames. */
function boxDiff(a: Uint8Array, b: Uint8Array, width: number, box: { x: number; y: number; width: number; height: number }): number {
  let sum = 0;
  for (let y = box.y; y < box.y + box.height; y++) for (let x = box.x; x < box.x + box.width; x++) for (let c = 0; c < 3; c++) sum += Math.abs(a[(y * width + x) * 3 + c] - b[(y * width + x) * 3 + c]);
  return sum / (box.width * box.height * 3);
}

describe('redacting a finished job', () => {
  it('masks every person track on every frame, keeps every frame, and writes an audit', async () => {
    const res = await post(`/v1/jobs/${jobId}/redact`, { targets: ['persons'], style: 'pixelate' });
    expect(res.status).toBe(202);
    const started = await res.json();
    const done = await until(async () => (await api(started.links.self)).json(), (r) => r.status !== 'running', 'redaction');
    expect(done.status).toBe('succeeded');
    const video = Buffer.from(await (await api(done.links.video)).arrayBuffer());
    const audit = await (await api(done.links.audit)).json();
    const out = join(dir, 'redacted.mp4');
    await writeFile(out, video);
    const [inInfo, outInfo] = [await probeVideo(source), await probeVideo(out)];
    expect(outInfo.codec).toBe('h264');
    expect(audit.frames.decoded).toBe(audit.frames.encoded);
    expect(audit.frames.decoded).toBe(Math.round(inInfo.durationS * inInfo.fps));
    expect(audit.tracks.filter((t: { label: string }) => t.label === 'person').length).toBeGreaterThan(0);
    expect(audit.output.sha256).toMatch(/^[0-9a-f]{64}$/);
    // At 6 s the people are pixelated (their boxes changed a lot); at 1 s (no one) the frame is the source's.
    const result = (await (await api(`/v1/jobs/${jobId}`)).json()).result;
    const person = result.tracks.find((t: { label: string }) => t.label === 'person');
    const at6 = person.trajectory.reduce((a: number[], b: number[]) => (Math.abs(b[0] - 6) < Math.abs(a[0] - 6) ? b : a));
    const box = { x: at6[1], y: at6[2], width: at6[3], height: at6[4] };
    const frameAt = async (path: string, t: number) => (await sampleFrames(path, inInfo, { fps: 10, startS: t, maxFrames: 1 }).next()).value!.image.data;
    expect(boxDiff(await frameAt(source, 6), await frameAt(out, 6), inInfo.width, box)).toBeGreaterThan(8);
    expect(boxDiff(await frameAt(source, 1), await frameAt(out, 1), inInfo.width, { x: 0, y: 0, width: inInfo.width, height: inInfo.height })).toBeLessThan(4);
  });

  it('kept tracks are not masked; bad requests are 400 naming the field; unknown ids are 404', async () => {
    const result = (await (await api(`/v1/jobs/${jobId}`)).json()).result;
    const ids = result.tracks.filter((t: { label: string }) => t.label === 'person').map((t: { id: number }) => t.id);
    const started = await (await post(`/v1/jobs/${jobId}/redact`, { targets: ['persons'], keep: ids, style: 'fill' })).json();
    const done = await until(async () => (await api(started.links.self)).json(), (r) => r.status !== 'running', 'redaction');
    expect(done.audit.frames.masks).toBe(0);
    expect(done.audit.tracks.every((t: { kept: boolean }) => t.kept)).toBe(true);
    const bad = await post(`/v1/jobs/${jobId}/redact`, { targets: ['faces'] });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.details.issues[0].path).toBe('targets.0');
    const box = await post(`/v1/jobs/${jobId}/redact`, { targets: ['persons'], boxes: [{ timeS: 1, box: { x: 0.8, y: 0, width: 0.5, height: 0.1 } }] });
    expect((await box.json()).error.details.issues[0].path).toBe('boxes.0.box');
    const missing = await api(`/v1/jobs/${jobId}/redactions/00000000-0000-0000-0000-000000000000`);
    expect([missing.status, (await missing.json()).error.code]).toEqual([404, 'REDACTION_NOT_FOUND']);
    expect((await api(`/v1/jobs/${jobId}/redactions/..%2f..%2fetc`)).status).toBe(404);
    const noJob = await api(`/v1/jobs/..%2f..%2fetc/redactions/00000000-0000-0000-0000-000000000000`);
    expect([noJob.status, (await noJob.json()).error.code]).toEqual([404, 'JOB_NOT_FOUND']);
  });
});
