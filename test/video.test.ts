import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPreprocessing, decoderScale, preprocessSpecSchema } from '../preprocessing/index.js';
import type { RunningServer } from '../src/cli/serve.js';
import { decodeOneFrame, probeVideo, sampleFrames } from '../src/media/ffmpeg.js';
import { loadImage } from '../src/media/image.js';
import { videoDecoderScale } from '../src/pipeline/index.js';
import type { ReadyModel } from '../src/registry/index.js';
import { iou } from '../src/tasks/geometry.js';
import type { Detection } from '../src/tasks/index.js';
import { postFile, postRaw, startTestServer } from './helpers/server.js';
import { audioOnly, knownTruthVideo, remux, textVideo } from './helpers/videos.js';

let dir: string;
let dataDir: string;
let server: RunningServer;
const video = (name: string) => join(dir, name);

/** Temporal IoU of two [start, end] ranges. */
const tiou = (a: [number, number], b: [number, number]) =>
  Math.max(0, Math.min(a[1], b[1]) - Math.max(a[0], b[0])) / (Math.max(a[1], b[1]) - Math.min(a[0], b[0]));

const tmpFiles = () => readdir(join(dataDir, 'tmp')).catch(() => [] as string[]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-video-'));
  dataDir = join(dir, 'data');
  await Promise.all([knownTruthVideo(video('truth.mp4')), knownTruthVideo(video('truth-720p.mp4'), undefined, { width: 1280, height: 720 }), textVideo(video('text.mp4'), 9, 3, 6), audioOnly(video('tone.m4a'))]);
  server = await startTestServer({ modelsDir: 'models', dataDir });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const predictVideo = async (model: string, file: string, query: string, type = 'video/mp4') => {
  const res = await postFile(`${server.url}/v1/models/${model}/predict${query}`, await readFile(video(file)), file, type);
  return res;
};

describe('video review: known-truth video (fruits 0-4 s, messi 4-8 s, home 8-12 s)', () => {
  it('object-detector with labels=person flags one segment over 4-8 s, and a reviewer watches under 60%', async () => {
    const { status, body } = await predictVideo('object-detector', 'truth.mp4', '?labels=person');
    expect(status).toBe(200);
    expect(body.video).toMatchObject({ width: 640, height: 480, framesSampled: 24 });
    expect(body.video.durationS).toBeCloseTo(12, 1);
    expect(body.segments).toHaveLength(1);
    const [segment] = body.segments;
    expect(tiou([segment.startS, segment.endS], [4, 8])).toBeGreaterThanOrEqual(0.6);
    expect(segment.labels.map((l: any) => l.label)).toEqual(['person']);
    expect(segment.bestFrame.timeS).toBeGreaterThanOrEqual(4);
    expect(segment.bestFrame.timeS).toBeLessThan(8);
    expect(body.review.flaggedRatio).toBeLessThanOrEqual(0.6);
    expect(body.review).toMatchObject({ segmentCount: 1, totalS: expect.closeTo(12, 1) });
    expect(body.frames).toHaveLength(24);
    expect(body.tracks.some((t: any) => t.label === 'person' && t.hits >= 2)).toBe(true);

    const thumb = await fetch(`${server.url}${segment.thumbnail}`);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 640, height: 480 });
    expect(await tmpFiles()).toEqual([]);
  });

  it.each(['mkv', 'webm', 'mov', 'avi'])('reads the same video from a .%s container', async (ext) => {
    await remux(video('truth.mp4'), video(`truth.${ext}`));
    const { status, body } = await predictVideo('object-detector', `truth.${ext}`, '?labels=person&frames=false', 'application/octet-stream');
    expect(status).toBe(200);
    expect(body.frames).toBeUndefined();
    expect(body.segments).toHaveLength(1);
    expect(tiou([body.segments[0].startS, body.segments[0].endS], [4, 8])).toBeGreaterThanOrEqual(0.6);
  });

  it('honours fps, start, end and maxFrames', async () => {
    const { body } = await predictVideo('object-detector', 'truth.mp4', '?fps=1&start=2&end=10&maxFrames=5');
    expect(body.video.framesSampled).toBe(5);
    expect(body.frames.map((f: any) => f.timeS)).toEqual([2, 3, 4, 5, 6]);
  });
});

describe('video review: text on screen', () => {
  it('text-detector flags a segment over the window where drawtext shows text (3-6 s, within the 1 s pad)', async () => {
    const { status, body } = await predictVideo('text-detector', 'text.mp4', '');
    expect(status).toBe(200);
    expect(body.segments).toHaveLength(1);
    const [s] = body.segments;
    expect(s.startS).toBeGreaterThanOrEqual(2 - 0.01);
    expect(s.startS).toBeLessThanOrEqual(3);
    expect(s.endS).toBeGreaterThanOrEqual(6);
    expect(s.endS).toBeLessThanOrEqual(7 + 0.01);
    // The text is drawn at (60, 150), 48 px high.
    const box = s.bestFrame.detections[0].box;
    expect(box.x).toBeGreaterThan(40);
    expect(box.x).toBeLessThan(90);
    expect(box.y + box.height / 2).toBeGreaterThan(150);
    expect(box.y + box.height / 2).toBeLessThan(210);
  });
});

describe('Megamind.avi (real film clip with audio)', () => {
  it('runs end to end with person segments', async () => {
    const bytes = await readFile('test/fixtures/Megamind.avi');
    const { status, body } = await postFile(`${server.url}/v1/models/object-detector/predict?labels=person&frames=false`, bytes, 'Megamind.avi');
    expect(status).toBe(200);
    expect(body.video).toMatchObject({ width: 720, height: 528, codec: 'mpeg4' });
    expect(body.segments.length).toBeGreaterThanOrEqual(1);
    expect(body.segments.every((s: any) => s.labels.every((l: any) => l.label === 'person'))).toBe(true);
    expect(body.timings.framesPerSecond).toBeGreaterThan(0);
  });
});

describe('crossings.mp4 (the README clip: the same players cross at 2-6 s and 12-16 s)', () => {
  it('each crossing is one person track, with its trajectory, and no flicker is a segment', async () => {
    const bytes = await readFile('test/fixtures/crossings.mp4');
    const { status, body } = await postFile(`${server.url}/v1/models/object-detector/predict?labels=person&frames=false`, bytes, 'crossings.mp4');
    expect(status).toBe(200);
    const people = body.tracks.filter((t: any) => t.label === 'person');
    // One track per crossing, each spanning it to the sample (2 fps).
    expect(people).toHaveLength(2);
    for (const [t, [from, to]] of people.map((t: any, i: number) => [t, [[2, 6], [12, 16]][i]] as const)) {
      expect(Math.abs(t.startS - from)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(t.endS - to)).toBeLessThanOrEqual(0.5);
    }
    for (const t of people) expect(t.trajectory).toHaveLength(t.hits);
    expect(body.segments).toHaveLength(2);
  });
});

describe('decoder threads', () => {
  it('one decoder thread (the CPU default) delivers the same frames at the same times as ffmpeg\'s default threads', async () => {
    const path = video('truth.mp4');
    const info = await probeVideo(path);
    const decode = async (threads: number) => {
      const out = [];
      for await (const f of sampleFrames(path, info, { fps: 2, startS: 1, maxFrames: 8, threads })) out.push(f);
      return out;
    };
    const [one, auto] = await Promise.all([decode(1), decode(0)]);
    expect(one).toHaveLength(8);
    expect(one.map((f) => f.timeS)).toEqual(auto.map((f) => f.timeS));
    one.forEach((f, i) => expect(Buffer.from(f.image.data).equals(Buffer.from(auto[i].image.data))).toBe(true));
  });
});

/** A bundled model version's preprocessing spec. */
const specOf = (name: string, version: number) => preprocessSpecSchema.parse(JSON.parse(readFileSync(`models/${name}/${version}/manifest.json`, 'utf8')).preprocessing);

describe('no skew between the video and image paths', () => {
  it('a full-size frame (as a pipeline\'s readers get it) and the same frame as PNG through the image path give the identical tensor', async () => {
    const spec = specOf('object-detector', 2);
    const path = video('truth.mp4');
    const frame = await decodeOneFrame(path, await probeVideo(path), { fps: 1, startS: 5 }, 'no frame at 5 s');
    const png = await sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } }).png().toBuffer();
    // The image path as served: decode and resize fused in one libvips pass, then the tensor step.
    const { input: fromImagePath } = await loadImage(png, spec, { maxPixels: 40e6 });
    const fromVideoPath = await applyPreprocessing(frame, spec);
    expect(fromImagePath.dims).toEqual(fromVideoPath.dims);
    const bytes = (t: typeof fromVideoPath) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    expect(bytes(fromImagePath).length).toBe(512 * 512 * 3);
    expect(bytes(fromImagePath).equals(bytes(fromVideoPath))).toBe(true);
  });
});

describe('frames scaled by ffmpeg to the model size (the default video path, when it shrinks the frame): within tolerance of the image path, same detections', () => {
  const TIMES = [1, 5, 9]; // fruits, messi, home, in a 1280x720 version of the known-truth video

  it('each pixel of the tensor is on average within 1.5 levels of the image path, 99% within 4', async () => {
    const spec = specOf('object-detector', 2);
    const path = video('truth-720p.mp4');
    const info = await probeVideo(path);
    expect(decoderScale(spec, 640, 480)).toBeUndefined(); // 480 rows stretched to 512: sharp resizes
    const scale = decoderScale(spec, info.width, info.height);
    expect(scale).toEqual({ width: 512, height: 512, interpolation: 'linear' });
    const frameAt = (startS: number, withScale: boolean) => decodeOneFrame(path, info, { fps: 1, startS, ...(withScale ? { scale } : {}) }, `no frame at ${startS} s`);
    for (const t of TIMES) {
      const full = await applyPreprocessing(await frameAt(t, false), spec);
      const scaled = await applyPreprocessing(await frameAt(t, true), spec, info);
      expect(scaled.dims).toEqual(full.dims);
      expect(scaled.transform).toEqual(full.transform);
      // The model-sized pixels, whatever the spec's normalization makes of them.
      const [a, b] = [full.pixels.data, scaled.pixels.data];
      let sum = 0;
      let within4 = 0;
      for (let i = 0; i < a.length; i++) {
        const d = Math.abs(a[i] - b[i]);
        sum += d;
        if (d <= 4) within4++;
      }
      expect(sum / a.length).toBeLessThanOrEqual(1.5);
      expect(within4 / a.length).toBeGreaterThanOrEqual(0.99);
    }
  });

  it('a model that shrinks a frame gets it scaled by ffmpeg; a pipeline\'s readers get the full-size frame to crop lines from', () => {
    const model = (name: string, version: number) => ({ manifest: { preprocessing: specOf(name, version) } });
    const hd = { width: 1920, height: 1080 };
    expect(videoDecoderScale(model('object-detector', 2), hd)).toEqual({ width: 512, height: 512, interpolation: 'linear' });
    expect(videoDecoderScale(model('text-detector', 2), hd)).toMatchObject({ height: expect.any(Number) });
    // text-reader's first step with its reader: full size, whatever the detector would take.
    const reader = [{ model: {} as ReadyModel }];
    expect(videoDecoderScale(model('text-detector', 2), hd, reader)).toBeUndefined();
    expect(videoDecoderScale(model('object-detector', 2), { width: 640, height: 480 })).toBeUndefined();
  });

  it('a video frame gives the detections its full-size picture gives as an image (same labels, IoU >= 0.9, scores within 0.05)', async () => {
    const path = video('truth-720p.mp4');
    const info = await probeVideo(path);
    const { status, body } = await predictVideo('object-detector', 'truth-720p.mp4', '?fps=1&sampling=exact');
    expect(status).toBe(200);
    for (const t of TIMES) {
      const frame = await decodeOneFrame(path, info, { fps: 1, startS: t }, `no frame at ${t} s`);
      const png = await sharp(frame.data, { raw: { width: info.width, height: info.height, channels: 3 } }).png().toBuffer();
      const image = await postFile(`${server.url}/v1/models/object-detector/predict`, png, 'frame.png', 'image/png');
      const fromImage: Detection[] = image.body.detections;
      const fromVideo: Detection[] = body.frames.find((f: { timeS: number }) => f.timeS === t).detections;
      expect(fromImage.length).toBeGreaterThan(0);
      expect(fromVideo.map((d) => d.label).sort()).toEqual(fromImage.map((d) => d.label).sort());
      for (const d of fromImage) {
        const match = fromVideo.filter((v) => v.label === d.label).sort((a, b) => iou(b.box, d.box) - iou(a.box, d.box))[0];
        expect(iou(match.box, d.box)).toBeGreaterThanOrEqual(0.9);
        expect(Math.abs(match.score - d.score)).toBeLessThanOrEqual(0.05);
      }
    }
  });
});

describe('bad video input: the right code, and the temp dir is empty afterwards', () => {
  it('a truncated mp4 is INVALID_MEDIA with ffmpeg\'s reason', async () => {
    const full = await readFile(video('truth.mp4'));
    const res = await postRaw(`${server.url}/v1/models/object-detector/predict`, full.subarray(0, Math.floor(full.length / 3)), 'video/mp4');
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INVALID_MEDIA');
    expect(res.body.error.details.reason).toMatch(/moov atom not found|Invalid data/);
    expect(JSON.stringify(res.body)).not.toContain(dataDir);
    expect(await tmpFiles()).toEqual([]);
  });

  it('an audio-only file is NO_VIDEO_STREAM', async () => {
    const res = await predictVideo('object-detector', 'tone.m4a', '', 'audio/mp4');
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('NO_VIDEO_STREAM');
    expect(await tmpFiles()).toEqual([]);
  });

  it('a text file named .mp4 is UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await postFile(`${server.url}/v1/models/object-detector/predict`, Buffer.from('this is not a video, just words in a file'.repeat(10)), 'clip.mp4', 'video/mp4');
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await tmpFiles()).toEqual([]);
  });

  it('zero bytes as video/mp4 is INVALID_INPUT', async () => {
    const res = await postRaw(`${server.url}/v1/models/object-detector/predict`, new Uint8Array(0), 'video/mp4');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_INPUT');
  });

  it('bad options are INVALID_INPUT and remove the upload', async () => {
    const res = await predictVideo('object-detector', 'truth.mp4', '?fps=0');
    expect(res.status).toBe(400);
    const late = await predictVideo('object-detector', 'truth.mp4', '?start=30');
    expect(late.status).toBe(400);
    expect(await tmpFiles()).toEqual([]);
  });

  it.each(['raw', 'multipart'])('a client that disconnects mid-upload (%s) leaves no temp file', async (kind) => {
    const full = await readFile(video('truth.mp4'));
    const boundary = 'fwboundary';
    const head = kind === 'multipart' ? Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\nContent-Type: video/mp4\r\n\r\n`) : Buffer.alloc(0);
    const type = kind === 'multipart' ? `multipart/form-data; boundary=${boundary}` : 'video/mp4';
    await new Promise<void>((resolve) => {
      const req = request(`${server.url}/v1/models/object-detector/predict`, { method: 'POST', headers: { 'content-type': type, 'content-length': String(full.length + head.length + 100) } });
      req.on('error', () => resolve());
      req.write(Buffer.concat([head, full.subarray(0, 100_000)]));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 300);
    });
    await expect.poll(tmpFiles, { timeout: 5000 }).toEqual([]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('an upload over the video limit is PAYLOAD_TOO_LARGE', async () => {
    const small = await startTestServer({ modelsDir: 'models', dataDir: join(dir, 'small'), maxVideoBytes: 50_000 });
    try {
      const res = await postRaw(`${small.url}/v1/models/object-detector/predict`, await readFile(video('truth.mp4')), 'video/mp4');
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(await readdir(join(dir, 'small', 'tmp'))).toEqual([]);
    } finally {
      await small.close();
    }
  });
});
