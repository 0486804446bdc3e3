import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { probeVideo, sampleFrames } from '../src/media/ffmpeg.js';
import { FACE_MIN_MARGIN_PX } from '../src/pipeline/redaction/detect-pass.js';
import { FACE_TRACK_ID_BASE, TEXT_TRACK_ID_BASE } from '../src/shared/redaction.js';
import { maskPlan } from '../src/pipeline/redaction/plan.js';
import { iou } from '../src/tasks/geometry.js';
import { postFile, startTestServer } from './helpers/server.js';
import { decodeAudio } from '../src/media/audio.js';
import { knownTruthVideo, movingFacesVideo, plateOnCarVideo, twoEventsVideo, withTone, type FaceTruth } from './helpers/videos.js';

// Redaction of a finished job (issue 25): the person tracks of the known-truth video
// (messi5.jpg, 4-8 s) masked on every frame of a new H.264 file, with its audit; and faces,
// found by the redaction's own detect pass, on a clip of moving faces with known boxes.

let dir: string;
let server: RunningServer;
let jobId: string;
let source: string;
const ADMIN_TOKEN = 'redaction-test-admin';

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
  server = await startTestServer({ modelsDir: 'models', dataDir: join(dir, 'data'), adminToken: ADMIN_TOKEN });
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
    const bad = await post(`/v1/jobs/${jobId}/redact`, { targets: ['cars'] });
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

  it("lists the job's redactions newest first, each with its links; an unknown job is 404", async () => {
    const listed = await (await api(`/v1/jobs/${jobId}/redactions`)).json();
    // The two above: the kept one (fill) after the pixelated one.
    expect(listed.redactions.map((r: any) => [r.status, r.audit.settings.style])).toEqual([['succeeded', 'fill'], ['succeeded', 'pixelate']]);
    expect(listed.redactions[0].createdAt >= listed.redactions[1].createdAt).toBe(true);
    const [newest] = listed.redactions;
    expect(newest.links).toEqual({ self: `/v1/jobs/${jobId}/redactions/${newest.redactionId}`, video: `${newest.links.self}/video.mp4`, audit: `${newest.links.self}/audit.json` });
    const noJob = await api('/v1/jobs/00000000-0000-0000-0000-000000000000/redactions');
    expect([noJob.status, (await noJob.json()).error.code]).toEqual([404, 'JOB_NOT_FOUND']);
  });

  it('pictures with redaction=<id> are masked as that redaction masked its video: a kept person bare, a drawn box filled, in its style', async () => {
    const result = (await (await api(`/v1/jobs/${jobId}`)).json()).result;
    const person = result.tracks.find((t: { label: string }) => t.label === 'person');
    const drawn = { x: 0.1, y: 0.1, width: 0.2, height: 0.2 };
    const started = await (await post(`/v1/jobs/${jobId}/redact`, { targets: ['persons'], keep: [person.id], style: 'fill', boxes: [{ timeS: 1, endS: 2, track: false, box: drawn }] })).json();
    const done = await until(async () => (await api(started.links.self)).json(), (r) => r.status !== 'running', 'redaction');
    expect(done.status).toBe('succeeded');
    const { default: sharp } = await import('sharp');
    const picture = async (path: string) => {
      const res = await api(path);
      expect([res.status, res.headers.get('content-type')], path).toEqual([200, 'image/jpeg']);
      return sharp(Buffer.from(await res.arrayBuffer())).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    };
    const pixel = (p: { data: Buffer; info: { width: number; height: number } }, x: number, y: number) => {
      const i = (Math.round(y * p.info.height) * p.info.width + Math.round(x * p.info.width)) * 3;
      return [...p.data.subarray(i, i + 3)];
    };
    // At 1.5 s the drawn box is filled black; the plain picture there is not black.
    const boxCentre = [drawn.x + drawn.width / 2, drawn.y + drawn.height / 2] as const;
    expect(pixel(await picture(`/v1/jobs/${jobId}/frames/1500.jpg?redaction=${done.redactionId}`), ...boxCentre).every((v) => v < 24)).toBe(true);
    expect(pixel(await picture(`/v1/jobs/${jobId}/frames/1500.jpg`), ...boxCentre).some((v) => v > 24)).toBe(true);
    // At 6 s the kept person is bare under redaction=<id>, and filled by redact=persons, which keeps no one.
    const at6 = person.trajectory.reduce((a: number[], b: number[]) => (Math.abs(b[0] - 6) < Math.abs(a[0] - 6) ? b : a));
    const centre = [(at6[1] + at6[3] / 2) / result.video.width, (at6[2] + at6[4] / 2) / result.video.height] as const;
    const [plain, asRedacted, allPersons] = [await picture(`/v1/jobs/${jobId}/frames/6000.jpg`), await picture(`/v1/jobs/${jobId}/frames/6000.jpg?redaction=${done.redactionId}`), await picture(`/v1/jobs/${jobId}/frames/6000.jpg?redact=persons&redactStyle=fill`)];
    const near = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) <= 12);
    expect(near(pixel(asRedacted, ...centre), pixel(plain, ...centre))).toBe(true);
    expect(pixel(allPersons, ...centre).every((v) => v < 24)).toBe(true);
    await picture(`/v1/jobs/${jobId}/segments/0/thumbnail.jpg?redaction=${done.redactionId}`);
    // Refused: an unknown redaction (404), one mixed with redact= (400), one that did not succeed (409).
    const unknown = await api(`/v1/jobs/${jobId}/frames/6000.jpg?redaction=00000000-0000-0000-0000-000000000000`);
    expect([unknown.status, (await unknown.json()).error.code]).toEqual([404, 'REDACTION_NOT_FOUND']);
    const mixed = await api(`/v1/jobs/${jobId}/frames/6000.jpg?redaction=${done.redactionId}&redact=persons`);
    expect([mixed.status, (await mixed.json()).error.details.issues[0].path]).toEqual([400, 'redaction']);
    const cancelled = await (await post(`/v1/jobs/${jobId}/redact`, { targets: ['persons'] })).json();
    await api(cancelled.links.self, { method: 'DELETE' });
    const notDone = await api(`/v1/jobs/${jobId}/segments/0/thumbnail.jpg?redaction=${cancelled.redactionId}`);
    expect([notDone.status, (await notDone.json()).error.code]).toEqual([409, 'JOB_NOT_FINISHED']);
  });
});

/** When the sound first gets loud (a sample over 0.1), in seconds from the file's start. */
async function firstSoundS(path: string): Promise<number> {
  let offset = 0;
  for await (const window of decodeAudio(path, await probeVideo(path), { windowSamples: 16_000 })) {
    const i = window.findIndex((x) => Math.abs(x) > 0.1);
    if (i >= 0) return (offset + i) / 16_000;
    offset += window.length;
  }
  return NaN;
}

describe('redacting the confirmed segments only', () => {
  // twoEventsVideo: people crossing 2-6 s and 12-16 s (two person segments), 10 fps; a tone at 13-13.5 s.
  let twoJobId: string;
  let twoSource: string;
  let segments: Array<{ startS: number; endS: number }>;
  beforeAll(async () => {
    const picture = join(dir, 'two-picture.mp4');
    twoSource = join(dir, 'two.mp4');
    await twoEventsVideo(picture);
    await withTone(picture, twoSource, 13, 13.5, 20);
    const posted = await postFile(`${server.url}/v1/models/object-detector/predict?labels=person&frames=false`, await readFile(twoSource), 'two.mp4', 'video/mp4');
    expect(posted.body.segments, JSON.stringify(posted.body)).toHaveLength(2);
    [twoJobId, segments] = [posted.body.jobId, posted.body.segments];
  });

  it('answers 409 NO_CONFIRMED_SEGMENTS while the review confirmed none', async () => {
    const res = await post(`/v1/jobs/${twoJobId}/redact`, { targets: ['persons'], span: 'confirmed' });
    expect([res.status, (await res.json()).error.code]).toEqual([409, 'NO_CONFIRMED_SEGMENTS']);
  });

  it('holds only the confirmed segment, every frame masked where the people are, the sound in step', async () => {
    const decide = (n: number, decision: string) => api(`/v1/jobs/${twoJobId}/segments/${n}/decision`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision }) });
    expect((await decide(0, 'dismissed')).status).toBe(200);
    expect((await decide(1, 'confirmed')).status).toBe(200);
    const started = await (await post(`/v1/jobs/${twoJobId}/redact`, { targets: ['persons'], span: 'confirmed', style: 'fill' })).json();
    const done = await until(async () => (await api(started.links.self)).json(), (r) => r.status !== 'running', 'redaction');
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    const out = join(dir, 'confirmed.mp4');
    await writeFile(out, Buffer.from(await (await api(done.links.video)).arrayBuffer()));
    const [inInfo, outInfo] = [await probeVideo(twoSource), await probeVideo(out)];
    const frameS = 1 / inInfo.fps;
    const confirmed = segments[1];
    const seen = JSON.stringify({ confirmed, spans: done.audit.spans, frames: done.audit.frames, outS: outInfo.durationS });
    // One span: the confirmed segment's, to within a frame; the output is as long as it.
    expect(done.audit.spans, seen).toHaveLength(1);
    const [span] = done.audit.spans;
    expect(span.outputStartS).toBe(0);
    expect(Math.abs(span.sourceStartS - confirmed.startS), seen).toBeLessThanOrEqual(frameS + 1e-6);
    expect(Math.abs(span.sourceEndS - confirmed.endS), seen).toBeLessThanOrEqual(frameS + 1e-6);
    expect(Math.abs(outInfo.durationS - (confirmed.endS - confirmed.startS)), seen).toBeLessThanOrEqual(frameS + 1e-3);
    expect([done.audit.frames.decoded, done.audit.frames.encoded], seen).toEqual([span.frames, span.frames]);
    // The tone starts 13 s into the source: that far past the span's start in the output.
    expect(Math.abs((await firstSoundS(out)) - (13 - span.sourceStartS)), seen).toBeLessThanOrEqual(frameS + 1e-6);
    // At every person sample inside the span, its box is filled black in the output frame at the same source time; above the people, the frame is the source's.
    const result = (await (await api(`/v1/jobs/${twoJobId}`)).json()).result;
    const samples: number[][] = result.tracks.filter((t: { label: string }) => t.label === 'person').flatMap((t: { trajectory: number[][] }) => t.trajectory)
      .filter((p: number[]) => p[0] >= span.sourceStartS && p[0] < span.sourceEndS);
    expect(samples.length, seen).toBeGreaterThanOrEqual(4);
    const frameAt = async (path: string, t: number) => (await sampleFrames(path, inInfo, { fps: inInfo.fps, startS: t, maxFrames: 1 }).next()).value!.image.data;
    for (const [t, x, y, width, height] of samples) {
      const [source, output] = [await frameAt(twoSource, t), await frameAt(out, t - span.sourceStartS)];
      const box = { x: Math.max(0, x), y: Math.max(0, y), width: Math.min(inInfo.width, x + width) - Math.max(0, x), height: Math.min(inInfo.height, y + height) - Math.max(0, y) };
      expect(boxDiff(source, output, inInfo.width, box), `${t} s: ${seen}`).toBeGreaterThan(30);
      expect(boxDiff(source, output, inInfo.width, { x: 0, y: 0, width: inInfo.width, height: 60 }), `${t} s: ${seen}`).toBeLessThan(4);
    }
  });
});

describe('number plates as a redaction target', () => {
  let plateSource: string;
  let truth: Awaited<ReturnType<typeof plateOnCarVideo>>;
  beforeAll(async () => {
    plateSource = join(dir, 'plate.mp4');
    truth = await plateOnCarVideo(plateSource);
  });

  /** A job of `model` on the plate clip, redacted with `targets: ["text"]` and a fill: the audit, and the plate's coverage on each frame. */
  async function redactPlate(model: string) {
    const posted = await postFile(`${server.url}/v1/models/${model}/predict?mode=async`, await readFile(plateSource), 'plate.mp4', 'video/mp4');
    const job = await until(async () => (await api(`/v1/jobs/${posted.body.jobId}`)).json(), (j) => j.status !== 'queued' && j.status !== 'running', 'plate job');
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    const started = await (await post(`/v1/jobs/${job.jobId}/redact`, { targets: ['text'], style: 'fill' })).json();
    const done = await until(async () => (await api(started.links.self)).json(), (r) => r.status !== 'running', 'plate redaction');
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    const out = join(dir, `plate-${model}.mp4`);
    await writeFile(out, Buffer.from(await (await api(done.links.video)).arrayBuffer()));
    const info = await probeVideo(plateSource);
    const [a, b] = [sampleFrames(plateSource, info, { fps: info.fps, startS: 0 }), sampleFrames(out, info, { fps: info.fps, startS: 0 })];
    const coverage: number[] = [];
    for (let i = 0; ; i++) {
      const [fa, fb] = [await a.next(), await b.next()];
      if (fa.done || fb.done) break;
      coverage.push(fillCoverage({ data: fa.value.image.data, width: info.width }, { data: fb.value.image.data, width: info.width }, truth[i].box));
    }
    const seen = JSON.stringify({ frames: coverage.length, least: Math.min(...coverage), under90: coverage.filter((c) => c < 0.9).length, tracks: done.audit.tracks.map((t: any) => [t.trackId, t.label, t.startS, t.endS]), text: done.audit.text });
    console.log(`plate redaction (${model} job): ${seen}`);
    expect(coverage.length).toBe(truth.length);
    return { audit: done.audit, coverage, seen };
  }

  it("hides a rendered plate on a moving car in every frame: the text reader's text tracks, target text", async () => {
    const { audit, coverage, seen } = await redactPlate('text-reader');
    // Covered in every frame it is visible: at least 90% of the plate's lit pixels masked on each.
    expect(coverage.filter((c) => c < 0.9).length, seen).toBe(0);
    // The job's own text tracks were masked: no text pass of the redaction's.
    expect(audit.text, seen).toBeUndefined();
  });

  it("on an object detector's job (no text tracks), finds the plate with its own text-detector pass and hides it in every frame", async () => {
    const { audit, coverage, seen } = await redactPlate('object-detector');
    expect(coverage.filter((c) => c < 0.9).length, seen).toBe(0);
    expect(audit.text, seen).toMatchObject({ model: { name: 'text-detector' }, fps: 2, samples: 8 });
    const passTracks = audit.tracks.filter((t: any) => t.label === 'text');
    expect(passTracks.length, seen).toBeGreaterThanOrEqual(1);
    expect(passTracks.every((t: any) => t.trackId > TEXT_TRACK_ID_BASE && t.trajectory.length > 0), seen).toBe(true);
  });
});

type Box = { x: number; y: number; width: number; height: number };
type Frame = { data: Uint8Array; width: number };
const isDark = (f: Frame, x: number, y: number) => Math.max(f.data[(y * f.width + x) * 3], f.data[(y * f.width + x) * 3 + 1], f.data[(y * f.width + x) * 3 + 2]);

/**
 * The share of a true face box masked with `fill` in the output: of its pixels that are not
 * dark in the source (max channel >= 48: hair and shadow would read as masked), those near
 * black in the output (max channel < 32).
 */
function fillCoverage(source: Frame, out: Frame, box: Box): number {
  let lit = 0, masked = 0;
  for (let y = Math.ceil(box.y); y < Math.floor(box.y + box.height); y++) for (let x = Math.ceil(box.x); x < Math.floor(box.x + box.width); x++) {
    if (isDark(source, x, y) < 48) continue;
    lit++;
    if (isDark(out, x, y) < 32) masked++;
  }
  return lit === 0 ? 1 : masked / lit;
}

/** Mean absolute difference per channel value outside every mask (each grown by 8 px: x264's blocks bleed), and the share over 24. */
function outsideDiff(source: Frame, out: Frame, height: number, masks: Box[]): { mean: number; over24: number } {
  const zones = masks.map((m) => ({ x0: m.x - 8, y0: m.y - 8, x1: m.x + m.width + 8, y1: m.y + m.height + 8 }));
  let sum = 0, n = 0, over = 0;
  for (let y = 0; y < height; y++) for (let x = 0; x < source.width; x++) {
    if (zones.some((z) => x >= z.x0 && x < z.x1 && y >= z.y0 && y < z.y1)) continue;
    for (let c = 0; c < 3; c++) {
      const d = Math.abs(source.data[(y * source.width + x) * 3 + c] - out.data[(y * source.width + x) * 3 + c]);
      sum += d;
      n++;
      if (d > 24) over++;
    }
  }
  return { mean: sum / n, over24: over / n };
}

/** The masks the redaction drew, rebuilt from its audit (face tracks' trajectories, its settings) by the same plan. */
function auditMasks(audit: any, frame: { width: number; height: number }) {
  const targets = audit.tracks.filter((t: any) => t.label === 'face' && !t.kept).map((t: any) => ({ trackId: t.trackId, label: t.label, trajectory: t.trajectory, minMarginPx: FACE_MIN_MARGIN_PX }));
  return maskPlan(targets, audit.settings, frame);
}

interface FaceFrameReport {
  /** Per face: each frame's coverage, NaN where the face is hidden. */
  coverage: number[][];
  /** Frames with a mask on no true face (a false detection), of all frames. */
  strayMaskFrames: number;
  outsideMean: number[];
  outsideOver24: number[];
}

/** Decodes the source and the redacted video side by side and measures each frame against the truth. */
async function measureFaces(source: string, out: string, truth: FaceTruth[][], audit: any): Promise<FaceFrameReport> {
  const info = await probeVideo(source);
  const masksAt = auditMasks(audit, info);
  const a = sampleFrames(source, info, { fps: info.fps, startS: 0 });
  const b = sampleFrames(out, info, { fps: info.fps, startS: 0 });
  const report: FaceFrameReport = { coverage: truth[0].map(() => []), strayMaskFrames: 0, outsideMean: [], outsideOver24: [] };
  for (let i = 0; ; i++) {
    const [fa, fb] = [await a.next(), await b.next()];
    if (fa.done || fb.done) {
      expect([fa.done, fb.done, i]).toEqual([true, true, truth.length]);
      return report;
    }
    const [src, red] = [{ data: fa.value.image.data, width: info.width }, { data: fb.value.image.data, width: info.width }];
    for (const f of truth[i]) report.coverage[f.face].push(f.visible ? fillCoverage(src, red, f.box) : NaN);
    const masks = masksAt(fa.value.timeS);
    if (masks.some((m) => !truth[i].some((f) => iou(m, f.box) > 0))) report.strayMaskFrames++;
    const diff = outsideDiff(src, red, info.height, masks);
    report.outsideMean.push(diff.mean);
    report.outsideOver24.push(diff.over24);
  }
}

/** Each face's coverage on each frame of the redacted video (NaN where it is hidden). */
async function faceCoverage(source: string, out: string, truth: FaceTruth[][]): Promise<number[][]> {
  const info = await probeVideo(source);
  const a = sampleFrames(source, info, { fps: info.fps, startS: 0 });
  const b = sampleFrames(out, info, { fps: info.fps, startS: 0 });
  const coverage: number[][] = truth[0].map(() => []);
  for (let i = 0; ; i++) {
    const [fa, fb] = [await a.next(), await b.next()];
    if (fa.done || fb.done) return coverage;
    for (const f of truth[i]) coverage[f.face].push(f.visible ? fillCoverage({ data: fa.value.image.data, width: info.width }, { data: fb.value.image.data, width: info.width }, f.box) : NaN);
  }
}

/** The longest run of consecutive visible frames covered less than `least`. */
function longestUnmasked(coverage: number[], least: number): number {
  let run = 0, longest = 0;
  for (const c of coverage) {
    if (Number.isNaN(c)) continue; // hidden: neither breaks nor extends a run of a visible face
    run = c < least ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return longest;
}

const visibleShare = (coverage: number[], least: number) => {
  const seen = coverage.filter((c) => !Number.isNaN(c));
  return seen.filter((c) => c >= least).length / seen.length;
};

describe('faces as a redaction target', () => {
  let facesSource: string;
  let truth: FaceTruth[][];
  let facesJobId: string;
  let firstAudit: any;
  const redact = async (body: unknown) => {
    const res = await post(`/v1/jobs/${facesJobId}/redact`, body);
    expect(res.status).toBe(202);
    const started = await res.json();
    const done = await until(async () => (await api(started.links.self)).json(), (r) => r.status !== 'running', 'redaction');
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    const out = join(dir, `faces-${done.redactionId}.mp4`);
    await writeFile(out, Buffer.from(await (await api(done.links.video)).arrayBuffer()));
    return { done, out };
  };

  beforeAll(async () => {
    facesSource = join(dir, 'faces.mp4');
    truth = await movingFacesVideo(facesSource);
    const posted = await postFile(`${server.url}/v1/models/object-detector/predict?mode=async&labels=person`, await readFile(facesSource), 'faces.mp4', 'video/mp4');
    facesJobId = posted.body.jobId;
    await until(async () => (await (await api(`/v1/jobs/${facesJobId}`)).json()).status, (s) => s === 'succeeded', 'faces job');
  });

  it('covers every visible face (80 px down to 20 px) on at least 98% of frames, no face bare for more than one frame, nothing else changed', async () => {
    const { done, out } = await redact({ targets: ['faces'], style: 'fill' });
    const report = await measureFaces(facesSource, out, truth, done.audit);
    const summary = report.coverage.map((c, face) => ({ faceWidth: truth[0][face].faceWidth, covered: visibleShare(c, 0.9), longestBare: longestUnmasked(c, 0.9), meanCoverage: c.filter((x) => !Number.isNaN(x)).reduce((s, x) => s + x, 0) / c.filter((x) => !Number.isNaN(x)).length }));
    firstAudit = done.audit;
    const seen = JSON.stringify({ summary, strayMaskFrames: report.strayMaskFrames, outsideMeanMax: Math.max(...report.outsideMean), outsideOver24Max: Math.max(...report.outsideOver24), faceTracks: done.audit.tracks, timings: done.audit.timings });
    const samples = done.audit.tracks.map((t: any) => ({ id: t.trackId, samples: t.trajectory.length, at: t.trajectory[0].slice(0, 5) }));
    console.log(`face redaction: ${JSON.stringify({ summary, strayMaskFrames: report.strayMaskFrames, outsideMeanMax: Math.max(...report.outsideMean), samples })}`);
    const all = report.coverage.flat();
    expect(visibleShare(all, 0.9), seen).toBeGreaterThanOrEqual(0.98);
    for (const s of summary) expect(s.longestBare, seen).toBeLessThanOrEqual(1);
    // Outside every mask (grown by 8 px), the output is the source re-encoded.
    expect(Math.max(...report.outsideMean), seen).toBeLessThan(2.5);
    expect(Math.max(...report.outsideOver24), seen).toBeLessThan(0.002);
    // Measured: one false face (on the 80 px face's shoulder, 1.6 s), masked for its lead and hold.
    expect(report.strayMaskFrames, seen).toBeLessThan(0.2 * truth.length);
  });

  it('lists the face model, its timings and the face tracks (ids from 10^9) in the audit; a kept face track stays visible', async () => {
    expect(firstAudit.faces).toMatchObject({ model: { name: 'face-detector', version: 1 }, fps: 5 });
    expect(firstAudit.faces.samples).toBe(30);
    expect(Object.keys(firstAudit.timings).sort()).toEqual(['detectS', 'encodeS', 'trackS']);
    const faceTracks = firstAudit.tracks.filter((t: any) => t.label === 'face');
    expect(faceTracks.length).toBeGreaterThanOrEqual(4);
    expect(faceTracks.every((t: any) => t.trackId > FACE_TRACK_ID_BASE && !t.kept && t.trajectory.length > 0)).toBe(true);
    // The tracks on the 80 px face: those whose first sample lies on it.
    const onFace0 = faceTracks.filter((t: any) => iou({ x: t.trajectory[0][1], y: t.trajectory[0][2], width: t.trajectory[0][3], height: t.trajectory[0][4] }, truth[Math.round(t.trajectory[0][0] * 25)][0].box) > 0.3);
    expect(onFace0.length, JSON.stringify(faceTracks)).toBe(1);
    const { done, out } = await redact({ targets: ['faces'], style: 'fill', keep: [onFace0[0].trackId] });
    expect(done.audit.tracks.filter((t: any) => t.kept).map((t: any) => t.trackId)).toEqual([onFace0[0].trackId]);
    const report = await measureFaces(facesSource, out, truth, done.audit);
    const bare = (c: number[]) => c.filter((x) => x < 0.1).length / c.length;
    const seen = JSON.stringify({ face0Bare: bare(report.coverage[0]), others: report.coverage.slice(1).map((c) => visibleShare(c, 0.9)) });
    expect(bare(report.coverage[0]), seen).toBeGreaterThanOrEqual(0.98);
    for (const c of report.coverage.slice(1)) expect(visibleShare(c, 0.9), seen).toBeGreaterThanOrEqual(0.98);
  });

  it('a box drawn on a face follows it forwards to the end of the clip and backwards to its start (tracked), where a fixed box would be left behind', async () => {
    // The 80 px face crosses the frame at about 145 px/s for the whole clip; the box is drawn on it at 3 s.
    const drawnAt = 75;
    const { box } = truth[drawnAt][0];
    const drawn = { x: box.x / 1280, y: box.y / 720, width: box.width / 1280, height: box.height / 720 };
    const tracked = await redact({ targets: [], style: 'fill', boxes: [{ timeS: drawnAt / 25, box: drawn }] });
    const coverage = await faceCoverage(facesSource, tracked.out, truth);
    const [before, after] = [coverage[0].slice(0, drawnAt), coverage[0].slice(drawnAt)];
    // The box left where it was drawn (track: false) would cover the face on few frames: what tracking is for.
    const inside = (b: Box) => Math.max(0, Math.min(b.x + b.width, box.x + box.width) - Math.max(b.x, box.x)) * Math.max(0, Math.min(b.y + b.height, box.y + box.height) - Math.max(b.y, box.y)) / (b.width * b.height);
    const fixedShare = truth.filter((f) => inside(f[0].box) >= 0.9).length / truth.length;
    const added = tracked.done.audit.tracks.find((t: any) => t.trackId === -1);
    const seen = JSON.stringify({ before: visibleShare(before, 0.9), after: visibleShare(after, 0.9), longestBare: longestUnmasked(coverage[0], 0.9), fixedShare, added: { ...added, trajectory: added?.trajectory.length } });
    console.log(`drawn box: ${seen}`);
    expect(fixedShare).toBeLessThan(0.1);
    expect(visibleShare(after, 0.9), seen).toBeGreaterThanOrEqual(0.98);
    expect(visibleShare(before, 0.9), seen).toBeGreaterThanOrEqual(0.98);
    expect(longestUnmasked(coverage[0], 0.9), seen).toBeLessThanOrEqual(1);
    // The audit lists the box as a track of its own with the path it was followed along (10 a second, from the clip's start to its end).
    expect(added, seen).toMatchObject({ label: 'added', kept: false });
    expect(added.startS, seen).toBeLessThan(0.15);
    expect(added.endS, seen).toBeGreaterThan(5.8);
    expect(added.trajectory.length, seen).toBeGreaterThanOrEqual(58);
    expect(tracked.done.audit.timings.trackS).toBeGreaterThan(0);
    // Nothing else was masked: the other faces stay bare.
    for (const other of coverage.slice(1)) expect(other.filter((c) => c >= 0.5).length, seen).toBe(0);
  });

  it('refuses a request with no target and no box, and more tracked boxes than allowed', async () => {
    const none = await post(`/v1/jobs/${facesJobId}/redact`, { targets: [] });
    expect([none.status, (await none.json()).error.details.issues[0].path]).toEqual([400, 'targets']);
    const box = { timeS: 0, box: { x: 0.1, y: 0.1, width: 0.1, height: 0.1 } };
    const many = await post(`/v1/jobs/${facesJobId}/redact`, { targets: [], boxes: Array.from({ length: 51 }, () => box) });
    expect([many.status, (await many.json()).error.details.issues[0].path]).toEqual([400, 'boxes']);
  });

  it('refuses a hold or lead shorter than the face sampling allows, naming the field', async () => {
    const hold = await post(`/v1/jobs/${facesJobId}/redact`, { targets: ['faces'], holdS: 0.3 });
    expect([hold.status, (await hold.json()).error.details.issues[0].path]).toEqual([400, 'holdS']);
    const fps = await post(`/v1/jobs/${facesJobId}/redact`, { targets: ['faces'], faceFps: 60 });
    expect([fps.status, (await fps.json()).error.details.issues[0].path]).toEqual([400, 'faceFps']);
  });

  it('a cancel during face detection leaves no video and no audit', async () => {
    const started = await (await post(`/v1/jobs/${facesJobId}/redact`, { targets: ['faces'], faceFps: 25 })).json();
    expect(started.progress.stage).toBe('detect');
    const detecting = await until(async () => (await api(started.links.self)).json(), (r) => r.status !== 'running' || r.progress.framesDone > 0, 'detect progress');
    expect([detecting.status, detecting.progress.stage]).toEqual(['running', 'detect']);
    const cancelled = await (await api(started.links.self, { method: 'DELETE' })).json();
    expect(cancelled.status).toBe('cancelled');
    const files = await readdir(join(dir, 'data'), { recursive: true });
    expect(files.filter((f) => f.includes(started.redactionId)).map((f) => basename(f)).sort()).toEqual([started.redactionId, 'record.json']);
    expect((await api(`${started.links.self}/video.mp4`)).status).toBe(409);
  });

  it('answers 503 MODEL_NOT_READY when the face detector is not loaded', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    expect((await api('/v1/models/face-detector/versions/1/unload', { method: 'POST', headers: admin })).status).toBe(200);
    const res = await post(`/v1/jobs/${facesJobId}/redact`, { targets: ['faces'] });
    expect([res.status, (await res.json()).error.code]).toEqual([503, 'MODEL_NOT_READY']);
    expect((await api('/v1/models/face-detector/versions/1/load', { method: 'POST', headers: admin })).status).toBe(202);
  });
});
