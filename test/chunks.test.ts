import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logging/logger.js';
import { probeVideo } from '../src/media/ffmpeg.js';
import { planChunks, predictVideo, type VideoPrediction } from '../src/pipeline/index.js';
import { pictureChunks } from '../src/pipeline/predict-video.js';
import { createRepository, type ModelRepository } from '../src/registry/index.js';
import { longEventsVideo, movingFacesVideo } from './helpers/videos.js';
import { FACE_PASS, followDetections, trackDetections } from '../src/pipeline/redaction/detect-pass.js';
import { inferFrames } from '../src/pipeline/infer-frames.js';
import { mixAtSnr, muxClip, noise, speechTrack } from './helpers/audio-clips.js';

let dir: string;
let repository: ModelRepository;
let path: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-chunks-'));
  path = join(dir, 'long.mp4');
  repository = createRepository({ root: 'models', device: 'cpu', logger: createLogger('silent'), only: (n) => n === 'object-detector' || n === 'voice-detector' || n === 'face-detector' });
  await Promise.all([longEventsVideo(path), repository.loadAll()]);
});
afterAll(async () => {
  await repository?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('chunk planning', () => {
  it('aligns chunks to the sampling grid: every chunk but the last holds chunkSeconds x fps frames', async () => {
    const info = { durationS: 150.2 } as Awaited<ReturnType<typeof probeVideo>>;
    const ranges = planChunks(info, { fps: 3, startS: 1 }, 30);
    expect(ranges.map((r) => r.firstIndex)).toEqual([0, 90, 180, 270, 360]);
    expect(ranges.slice(0, -1).every((r) => r.frames === 90 && Math.abs(r.endS! - (1 + (r.firstIndex + 90) / 3)) < 1e-9)).toBe(true);
    expect(ranges.at(-1)).toMatchObject({ firstIndex: 360, frames: undefined, endS: undefined });
    expect(planChunks(info, { fps: 3, startS: 0, maxFrames: 100 }, 30).map((r) => r.frames)).toEqual([90, 10]);
    expect(planChunks(info, { fps: 2, startS: 0 })).toHaveLength(1);
  });

  it("gives each chunk of a longer job its part of the audio: the parts tile the job's range", () => {
    const info = { durationS: 150.2 } as Awaited<ReturnType<typeof probeVideo>>;
    expect(planChunks(info, { fps: 3, startS: 1, endS: 100 }, 30).map((r) => r.audio)).toEqual([{ startS: 1, endS: 31 }, { startS: 31, endS: 61 }, { startS: 61, endS: 91 }, { startS: 91, endS: 100 }]);
    expect(planChunks(info, { fps: 3, startS: 0 }, 60).at(-1)!.audio).toEqual({ startS: 120 });
    expect(planChunks(info, { fps: 2, startS: 0 })[0].audio).toBeUndefined(); // one chunk hears the job's range
  });
});

describe('chunked equals unchunked', () => {
  it('a 150 s clip with person events across the 30, 60 and 120 s boundaries: the same frames, detections, tracks and segments', async () => {
    const model = repository.resolve('object-detector');
    const info = await probeVideo(path);
    expect(info.durationS).toBeGreaterThanOrEqual(150);
    const run = (chunkSeconds?: number): Promise<VideoPrediction> =>
      predictVideo(model, path, info, { fps: 1, startS: 0, pad: 1, mergeGap: 2, labels: ['person'], includeFrames: true, chunkSeconds, thumbnailDir: join(dir, `thumbs-${chunkSeconds ?? 'one'}`) });
    const whole = await run();
    const chunked = await run(30);
    expect(whole.frames!.length).toBe(150);
    expect(chunked.frames!.map((f) => f.index)).toEqual(whole.frames!.map((f) => f.index));
    chunked.frames!.forEach((f, i) => expect(Math.abs(f.timeS - whole.frames![i].timeS)).toBeLessThan(0.001));
    expect(chunked.frames!.map((f) => f.detections)).toEqual(whole.frames!.map((f) => f.detections));
    expect(chunked.tracks).toEqual(whole.tracks);
    expect(chunked.segments).toEqual(whole.segments);
    // The events themselves were found, each one segment across its chunk boundary.
    expect(whole.segments.map((s) => [Math.round(s.startS), Math.round(s.endS)])).toEqual([[24, 40], [54, 65], [114, 125]]);
    expect(await readFile(join(dir, 'thumbs-30', '0.jpg'))).toEqual(await readFile(join(dir, 'thumbs-one', '0.jpg')));
    // Picture cues from each chunk's own decode: the same as one decode's, still shots cut at 30, 60 and 120 s joined again.
    expect(chunked.cues).toEqual(whole.cues);
    expect(whole.cues!.shots.map((s) => s.timeS)).toEqual([25, 40, 55, 65, 115, 125]);
    expect(whole.cues!.frozen.map((f) => [Math.round(f.startS), Math.round(f.endS)])).toEqual([[0, 25], [25, 40], [40, 55], [55, 65], [65, 115], [115, 125], [125, 150]]);
  });
});

describe('chunked audio equals one pass', () => {
  it('a sentence across a chunk boundary is one speech span, and the loud onsets are the same, each chunk hearing its own part', async () => {
    // A sentence from 3.5 s, across the 5 s boundary, and one at 11 s, in white noise at 20 dB SNR.
    const utterances = [{ atS: 3.5, text: 'The quick brown fox jumps over the lazy dog.' }, { atS: 11, text: 'Please review this part of the video.' }];
    const clean = await speechTrack(dir, 15, utterances);
    const clip = await muxClip(dir, 'speech-across', mixAtSnr(clean, await noise(dir, 'white', 15), 20));
    const info = await probeVideo(clip);
    const model = repository.resolve('object-detector');
    const voice = repository.resolve('voice-detector');
    const run = (chunkSeconds?: number) =>
      predictVideo(model, clip, info, { fps: 1, startS: 0, pad: 0, mergeGap: 0, labels: ['speech'], includeFrames: false, chunkSeconds, voice, thumbnailDir: join(dir, `speech-thumbs-${chunkSeconds ?? 'one'}`) });
    const [whole, chunked] = [await run(), await run(5)];
    expect(whole.audio!.speech).toHaveLength(2);
    expect(whole.audio!.speech[0].startS).toBeLessThan(5);
    expect(whole.audio!.speech[0].endS).toBeGreaterThan(5);
    expect(chunked.audio!.speech).toHaveLength(2);
    chunked.audio!.speech.forEach((s, i) => {
      expect(Math.abs(s.startS - whole.audio!.speech[i].startS)).toBeLessThanOrEqual(0.1);
      expect(Math.abs(s.endS - whole.audio!.speech[i].endS)).toBeLessThanOrEqual(0.1);
    });
    // Measured: every end within 0.032 s (the voice lanes start apart), the same seconds heard.
    expect(chunked.audio!.analysedS).toBeCloseTo(whole.audio!.analysedS!, 2);
    expect(Math.abs(chunked.audio!.speechRatio! - whole.audio!.speechRatio!)).toBeLessThanOrEqual(0.01);
    expect(chunked.audio!.loud.map((e) => e.timeS)).toEqual(whole.audio!.loud.map((e) => e.timeS));
    expect(chunked.segments.map((s) => [s.startS, s.endS])).toEqual(chunked.audio!.speech.map((s) => [s.startS, s.endS]));
  });
});

describe("a redaction's detect pass in parts equals one pass (the shared mode's detect parts)", () => {
  it('the moving faces found in 1 s parts and joined in time order are the tracks one pass finds, sample for sample', async () => {
    const faces = join(dir, 'faces.mp4');
    await movingFacesVideo(faces, { seconds: 3 });
    const info = await probeVideo(faces);
    const model = repository.resolve('face-detector');
    const whole = await followDetections(FACE_PASS, model, faces, info, { fps: 5 }).done;
    const ranges = pictureChunks(info, { fps: 5, startS: 0 }, 1);
    expect(ranges.map((r) => r.firstIndex)).toEqual([0, 5, 10]);
    const parts = await Promise.all(ranges.map((range) => inferFrames(model, faces, info, range, {})));
    const joined = trackDetections(FACE_PASS, model, parts.flatMap((p) => p.frames), 0);
    expect(joined.samples).toBe(whole.samples);
    expect(joined.detections).toBe(whole.detections);
    expect(whole.targets.length).toBeGreaterThanOrEqual(4);
    expect(joined.targets).toEqual(whole.targets);
    expect(joined.spans).toEqual(whole.spans);
  });
});
