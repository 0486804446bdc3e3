import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../src/errors/index.js';
import { createLogger } from '../src/logging/logger.js';
import { decodeAudio } from '../src/media/audio.js';
import { probeVideo } from '../src/media/ffmpeg.js';
import { loadImage } from '../src/media/image.js';
import { analyseAudio, createLoudDetector, speechSpans } from '../src/pipeline/audio/index.js';
import { predictImage } from '../src/pipeline/index.js';
import { createRepository, runVoiceSession, type ModelRepository, type ReadyModel } from '../src/registry/index.js';
import { frameProbabilities, voiceParamsSchema } from '../src/tasks/index.js';
import type { AudioAnalysis } from '../src/shared/job-result.js';
import { atLevel, chord, mixAtSnr, muxClip, noise, RATE, speechTrack, speechTruth } from './helpers/audio-clips.js';
import { processesNaming } from './helpers/processes.js';

let dir: string;
let repository: ModelRepository;
let voice: ReadyModel;
let clean: Float32Array;

const UTTERANCES = [
  { atS: 1.0, text: 'The quick brown fox jumps over the lazy dog.' },
  { atS: 6.0, text: 'Please review this part of the video.' },
];
const SECONDS = 10;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-audio-'));
  repository = createRepository({ root: 'models', device: 'cpu', threads: 1, logger: createLogger('silent'), only: (n) => n === 'voice-detector', decode: (b, spec) => loadImage(b, spec, { maxPixels: 40_000_000 }) });
  await repository.loadAll();
  voice = repository.resolve('voice-detector');
  clean = await speechTrack(dir, SECONDS, UTTERANCES);
});
afterAll(async () => {
  await repository?.close();
  await rm(dir, { recursive: true, force: true });
});

/** No ffmpeg or ffprobe left with a path in the temp folder. */
const ffmpegLeft = () => processesNaming(dir);

const analyse = async (path: string, o: Parameters<typeof analyseAudio>[2] = { voice }): Promise<AudioAnalysis> => {
  const result = await analyseAudio(path, await probeVideo(path), o);
  expect(ffmpegLeft()).toBe('');
  return result;
};

const binsOf = (spans: AudioAnalysis['speech'], n: number, binS = 0.1) =>
  Array.from({ length: n }, (_, i) => spans.some((s) => (i + 0.5) * binS >= s.startS && (i + 0.5) * binS < s.endS));

function f1(truth: boolean[], predicted: boolean[]): number {
  let tp = 0, fp = 0, fn = 0;
  truth.forEach((t, i) => (t && predicted[i] ? tp++ : !t && predicted[i] ? fp++ : t ? fn++ : 0));
  return (2 * tp) / (2 * tp + fp + fn);
}

/** Contiguous true runs as [startS, endS]. */
const runsOf = (bins: boolean[], binS = 0.1) =>
  bins.reduce<Array<[number, number]>>((runs, b, i) => {
    if (b && (i === 0 || !bins[i - 1])) runs.push([i * binS, (i + 1) * binS]);
    else if (b) runs.at(-1)![1] = (i + 1) * binS;
    return runs;
  }, []);

describe('voice-detector: the bundled Silero VAD v5', () => {
  it('loads READY and replays its golden clip through the serving framing', () => {
    const entry = repository.list().find((e) => e.name === 'voice-detector')!;
    expect(entry.state).toBe('READY');
    expect(entry.skew?.ok).toBe(true);
    expect(entry.skew!.maxAbsDiff).toBeLessThan(1e-4);
    expect(voice.session.inputs.map((i) => i.name)).toEqual(['input', 'state', 'sr']);
  });

  it('an image sent to it is a 400 INVALID_INPUT naming the model kind, not an inference failure', async () => {
    const image = await readFile('test/fixtures/fruits.jpg');
    const refused = await predictImage(voice, image, { maxPixels: 40_000_000 }).catch((e) => e);
    expect([refused.code, ERROR_CATALOGUE[refused.code as 'INVALID_INPUT'].status]).toEqual(['INVALID_INPUT', 400]);
    expect(refused.message).toMatch(/takes audio/);
  });

  // A lane hears 0.5 s before its start, not the whole past: single frames at a speech offset
  // differ (up to 0.65 measured), the spans by a frame or two.
  it('16 lanes side by side hear what one stream hears: the same spans within 0.1 s', async () => {
    const mixed = mixAtSnr(clean, await noise(dir, 'white', SECONDS), 20);
    const run = runVoiceSession(voice.session);
    const [one, lanes] = [await frameProbabilities(run, mixed, { lanes: 1 }), await frameProbabilities(run, mixed)];
    const params = voiceParamsSchema.parse({});
    const meanDiff = one.reduce((m, v, i) => m + Math.abs(v - lanes[i]), 0) / one.length;
    expect(meanDiff).toBeLessThan(0.03);
    const [a, b] = [speechSpans(one, 0.032, params), speechSpans(lanes, 0.032, params)];
    expect(b.length).toBe(a.length);
    b.forEach((s, i) => expect(Math.max(Math.abs(s.startS - a[i].startS), Math.abs(s.endS - a[i].endS))).toBeLessThanOrEqual(0.1));
  });
});

describe('analyseAudio: speech', () => {
  it.each([
    ['white', 20],
    ['pink', 10],
  ] as const)('speech in %s noise at %i dB SNR: F1 >= 0.9 at 0.1 s, boundaries within 0.3 s', async (kind, snr) => {
    const path = await muxClip(dir, `speech-${kind}-${snr}`, mixAtSnr(clean, await noise(dir, kind, SECONDS), snr));
    const result = await analyse(path);
    const truth = speechTruth(clean);
    expect(result).toMatchObject({ status: 'analysed', stream: { codec: 'aac', sampleRate: 44_100, channels: 1 }, voiceModel: { name: 'voice-detector', version: 1 } });
    expect(f1(truth, binsOf(result.speech, truth.length))).toBeGreaterThanOrEqual(0.9);
    const expected = runsOf(truth);
    expect(result.speech).toHaveLength(expected.length);
    result.speech.forEach((s, i) => {
      expect(Math.abs(s.startS - expected[i][0])).toBeLessThanOrEqual(0.3);
      expect(Math.abs(s.endS - expected[i][1])).toBeLessThanOrEqual(0.3);
      expect(s.score).toBeGreaterThan(0.5);
    });
    const truthRatio = truth.filter(Boolean).length / truth.length;
    expect(Math.abs(result.speechRatio! - truthRatio)).toBeLessThan(0.1);
  });

  it.each(['noise', 'chord'] as const)('no speech in a %s-only clip, and a steady loud passage is no loud event', async (kind) => {
    const samples = kind === 'noise' ? atLevel(await noise(dir, 'pink', 6), -20) : await chord(dir, 6);
    const result = await analyse(await muxClip(dir, `${kind}-only`, samples));
    expect(result.status).toBe('analysed');
    expect(result.speech).toEqual([]);
    expect(result.speechRatio).toBe(0);
    expect(result.loud).toEqual([]);
  });

  it('startS/endS analyse a part, in the file\'s time', async () => {
    const path = await muxClip(dir, 'speech-part', mixAtSnr(clean, await noise(dir, 'white', SECONDS), 20));
    const result = await analyse(path, { voice, startS: 5, endS: SECONDS });
    expect(result.speech).toHaveLength(1);
    expect(Math.abs(result.speech[0].startS - 6)).toBeLessThanOrEqual(0.3);
  });
});

describe('analyseAudio: loud sounds', () => {
  it('a 0.15 s bang in noise is found within 0.2 s, in dBFS above its background', async () => {
    const track = atLevel(await noise(dir, 'white', 6), -40);
    const bang = atLevel((await noise(dir, 'white', 0.15, 3)), -6);
    track.set(bang.map((v, i) => v + track[Math.round(3.2 * RATE) + i]), Math.round(3.2 * RATE));
    const result = await analyse(await muxClip(dir, 'bang', track));
    expect(result.loud).toHaveLength(1);
    const [event] = result.loud;
    expect(Math.abs(event.timeS - 3.2)).toBeLessThanOrEqual(0.2);
    expect(event.endS - event.timeS).toBeLessThan(0.5);
    expect(event.level).toBeGreaterThan(-12);
    expect(event.backgroundLevel).toBeLessThan(-30);
  });

  it('a loud passage that stays on is one onset, ended once the background adapts (pure detector)', () => {
    const quiet = atLevel(Float32Array.from({ length: 2 * RATE }, (_, i) => Math.sin(i / 3)), -45);
    const loud = atLevel(Float32Array.from({ length: 8 * RATE }, (_, i) => Math.sin(i / 3)), -10);
    const detector = createLoudDetector({ sampleRate: RATE });
    detector.push(quiet);
    detector.push(loud);
    const events = detector.finish();
    expect(events).toHaveLength(1);
    expect(events[0].timeS).toBeCloseTo(2, 1);
    expect(events[0].endS).toBeLessThan(5);
  });
});

describe('analyseAudio: hostile and odd tracks', () => {
  it('a video without audio is status none, with no ffmpeg run', async () => {
    expect(await analyse(await muxClip(dir, 'silent-film', undefined))).toEqual({ status: 'none', speech: [], loud: [] });
  });

  it.each([
    ['11025 Hz', { sampleRate: 11_025, channels: 1 }],
    ['8 channels', { sampleRate: 48_000, channels: 8 }],
  ])('%s: analysed, the stream described as it is', async (_, o) => {
    const path = await muxClip(dir, `odd-${o.sampleRate}-${o.channels}`, mixAtSnr(clean, await noise(dir, 'white', SECONDS), 20), o);
    const result = await analyse(path);
    expect(result).toMatchObject({ status: 'analysed', stream: { codec: 'aac', ...o } });
    expect(result.speech.length).toBe(2);
  });

  it('a truncated file gives a clear status, never a throw, and no ffmpeg left', async () => {
    const whole = await muxClip(dir, 'whole', mixAtSnr(clean, await noise(dir, 'white', SECONDS), 20));
    const cut = join(dir, 'cut.mp4');
    await writeFile(cut, (await readFile(whole)).subarray(0, Math.floor((await stat(whole)).size * 0.5)));
    const info = await probeVideo(whole); // the cut file's own probe may already refuse it
    const result = await analyseAudio(cut, info, { voice });
    expect(ffmpegLeft()).toBe('');
    expect(['analysed', 'undecodable']).toContain(result.status);
    if (result.status === 'undecodable') expect(result.error?.code).toBe('INVALID_MEDIA');
  });

  it('an audio stream ffmpeg cannot decode is undecodable with INVALID_MEDIA', async () => {
    const garbage = join(dir, 'garbage.mp4');
    const whole = await readFile(await muxClip(dir, 'to-garble', atLevel(await noise(dir, 'pink', 3), -20)));
    await writeFile(garbage, whole.subarray(0, 4096)); // header and moov only: no samples
    const result = await analyseAudio(garbage, { ...(await probeVideo(join(dir, 'to-garble.mp4'))) }, { voice });
    expect(ffmpegLeft()).toBe('');
    expect(result).toMatchObject({ status: 'undecodable', error: { code: 'INVALID_MEDIA' } });
  });

  it('an abort stops ffmpeg and throws CANCELLED', async () => {
    const path = await muxClip(dir, 'abort', mixAtSnr(clean, await noise(dir, 'white', SECONDS), 20));
    const controller = new AbortController();
    const windows = decodeAudio(path, await probeVideo(path), { windowSamples: 512, signal: controller.signal });
    await windows.next();
    controller.abort();
    await expect((async () => { for await (const _ of windows) void _; })()).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(ffmpegLeft()).toBe('');
    await expect(analyseAudio(path, await probeVideo(path), { voice, signal: controller.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
