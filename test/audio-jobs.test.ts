import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { ffmpegPath } from '../src/media/ffmpeg.js';
import type { AudioAnalysis } from '../src/shared/job-result.js';
import { audioFile, mixAtSnr, muxClip, noise, speechTrack, utteranceSpans } from './helpers/audio-clips.js';
import { processesNaming } from './helpers/processes.js';
import { postFile, startTestServer } from './helpers/server.js';

// Audio-only uploads: a voice detector reviews them as jobs (speech and loud sounds become
// segments; nothing is decoded from a picture), a picture model refuses them with a clear
// 422, and odd files (ID3 tags, odd rates, 8 channels, truncation, ten silent hours) all get
// a clear answer with no ffmpeg left running. One server for the file.

const UTTERANCES = [{ atS: 1, text: 'The quick brown fox jumps over the lazy dog.' }, { atS: 6, text: 'Please review this part of the video.' }];
const SECONDS = 10;

let dir: string;
let dataDir: string;
let server: RunningServer;
let speech: Float32Array;
let truth: Array<{ startS: number; endS: number }>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-audio-jobs-'));
  dataDir = join(dir, 'data');
  const clean = await speechTrack(dir, SECONDS, UTTERANCES);
  truth = utteranceSpans(clean, UTTERANCES, SECONDS);
  speech = mixAtSnr(clean, await noise(dir, 'white', SECONDS), 20);
  server = await startTestServer({ modelsDir: 'models', dataDir, syncMaxSeconds: 60 });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** No ffmpeg or ffprobe left with a path in the temp folder. */
const ffmpegLeft = () => processesNaming(dir);
const tmpFiles = () => readdir(join(dataDir, 'tmp')).catch(() => [] as string[]);

interface AudioJobBody {
  video: { durationS: number; hasVideo?: boolean; width: number; framesSampled: number; codec: string };
  audio: AudioAnalysis;
  tracks: unknown[];
  segments: Array<{ startS: number; endS: number; labels: Array<{ label: string }>; thumbnail: string }>;
}

/** Every track the voice detector heard in this file, in order (its drift window holds them). */
const heard: AudioAnalysis[] = [];

const listen = (bytes: Uint8Array, name: string, query = 'pad=0&mergeGap=0') => postFile(`${server.url}/v1/models/voice-detector/predict?${query}`, bytes, name, 'application/octet-stream');

const expectBothSentences = (audio: AudioAnalysis) => {
  heard.push(audio);
  expect(audio.speech).toHaveLength(2);
  audio.speech.forEach((s, i) => {
    expect(Math.abs(s.startS - truth[i].startS)).toBeLessThanOrEqual(0.3);
    expect(Math.abs(s.endS - truth[i].endS)).toBeLessThanOrEqual(0.3);
  });
};

describe('an audio-only upload, reviewed by the voice detector', () => {
  it('a WAV of two sentences is a job whose segments are the speech, with a thumbnail each; no picture is decoded', async () => {
    const { status, body } = await listen(await readFile(await audioFile(dir, 'speech', speech, { format: 'wav' })), 'speech.wav');
    expect(status).toBe(200);
    const result = body as AudioJobBody;
    expect(result.video).toMatchObject({ hasVideo: false, width: 0, framesSampled: 0, codec: 'pcm_s16le' });
    expect(result.video.durationS).toBeCloseTo(SECONDS, 1);
    expect(result.audio).toMatchObject({ status: 'analysed', voiceModel: { name: 'voice-detector', version: 1 }, stream: { codec: 'pcm_s16le', sampleRate: 16_000, channels: 1 } });
    expectBothSentences(result.audio);
    expect(result.tracks).toEqual([]);
    // Speech and loud sounds by default: each sentence starts 20 dB over the noise, a loud onset too.
    expect(result.segments.map((s) => s.labels.map((l) => l.label).includes('speech'))).toEqual([true, true]);
    result.segments.forEach((s, i) => expect(Math.abs(s.startS - truth[i].startS)).toBeLessThanOrEqual(0.3));
    const thumbnail = await fetch(`${server.url}${result.segments[0].thumbnail}`);
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.headers.get('content-type')).toBe('image/jpeg');
    expect((await thumbnail.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    expect(ffmpegLeft()).toBe('');
  });

  it('a picture model refuses it with 422 NO_VIDEO_STREAM naming the voice detector, and keeps no upload', async () => {
    const { status, body } = await postFile(`${server.url}/v1/models/object-detector/predict`, await readFile(join(dir, 'speech.wav')), 'speech.wav', 'audio/wav');
    expect(status).toBe(422);
    expect(body.error.code).toBe('NO_VIDEO_STREAM');
    expect(body.error.message).toContain('voice-detector');
    expect(await tmpFiles()).toEqual([]);
  });

  it('a video sent to the voice detector is heard, its picture ignored; a video with no audio is 422 NO_AUDIO_STREAM', async () => {
    const withSound = await listen(await readFile(await muxClip(dir, 'film', speech)), 'film.mp4');
    expect(withSound.status).toBe(200);
    expect((withSound.body as AudioJobBody).video).toMatchObject({ hasVideo: false, framesSampled: 0 });
    expectBothSentences((withSound.body as AudioJobBody).audio);
    const silentFilm = await listen(await readFile(await muxClip(dir, 'silent-film', undefined)), 'silent.mp4');
    expect(silentFilm.status).toBe(422);
    expect(silentFilm.body.error.code).toBe('NO_AUDIO_STREAM');
    expect(await tmpFiles()).toEqual([]);
  });

  it('audio=false is a 400 naming the field: the voice detector would have nothing to do', async () => {
    const { status, body } = await listen(await readFile(join(dir, 'speech.wav')), 'speech.wav', 'audio=false');
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'INVALID_INPUT', details: { field: 'audio' } });
  });
});

describe("the voice detector's drift", () => {
  it('each heard track adds its speech ratio and span lengths to the drift window, beside the golden reference', async () => {
    const { status, body } = await fetch(`${server.url}/v1/models/voice-detector/versions/1/drift`).then(async (r) => ({ status: r.status, body: await r.json() }));
    expect(status).toBe(200);
    expect(body.samples).toBe(heard.length); // every track heard so far: the WAV and the film above
    expect(heard.length).toBeGreaterThanOrEqual(2);
    const features = Object.fromEntries((body.features as Array<{ feature: string; reference: Record<string, number>; current: Record<string, number> }>).map((f) => [f.feature, f]));
    expect(Object.keys(features).sort()).toEqual(['speech_ratio', 'speech_span_s']);
    expect(Object.keys(features.speech_ratio.reference)).not.toHaveLength(0);
    // Binned as the reference is (AUDIO_DRIFT_FEATURES): two sentences of about 3 s in 10 s are a ratio in [0.5, 0.7), two spans of 2-4 s.
    expect(features.speech_ratio.current).toEqual({ 5: heard.length });
    expect(heard.every((a) => a.speechRatio! >= 0.5 && a.speechRatio! < 0.7)).toBe(true);
    expect(features.speech_span_s.current).toEqual({ 3: 2 * heard.length });
  });
});

describe('odd audio files get a clear answer, and no ffmpeg is left running', () => {
  it.each([
    ['an ID3-tagged MP3', { format: 'mp3', id3: true }, 'mp3'],
    ['an 8 kHz FLAC', { format: 'flac', sampleRate: 8_000 }, 'flac'],
    ['a 96 kHz 8-channel WAV', { format: 'wav', sampleRate: 96_000, channels: 8 }, 'pcm_s16le'],
  ] as const)('%s: both sentences heard', async (name, o, codec) => {
    const path = await audioFile(dir, name.replace(/\W+/g, '-'), speech, o);
    if (o.format === 'mp3') expect((await readFile(path)).subarray(0, 3).toString('latin1')).toBe('ID3');
    const { status, body } = await listen(await readFile(path), `clip.${o.format}`);
    expect(status).toBe(200);
    const audio = (body as AudioJobBody).audio;
    expect(audio).toMatchObject({ status: 'analysed', stream: { codec, sampleRate: 'sampleRate' in o ? o.sampleRate : 16_000, channels: 'channels' in o ? o.channels : 1 } });
    expectBothSentences(audio);
    expect(ffmpegLeft()).toBe('');
  });

  it('a WAV cut in half is heard up to the cut: the first sentence only', async () => {
    const whole = await readFile(join(dir, 'speech.wav'));
    const { status, body } = await listen(whole.subarray(0, Math.floor(whole.length * 0.5)), 'cut.wav');
    expect(status).toBe(200);
    const audio = (body as AudioJobBody).audio;
    expect(audio.status).toBe('analysed');
    expect(audio.speech).toHaveLength(1);
    expect(Math.abs(audio.speech[0].startS - truth[0].startS)).toBeLessThanOrEqual(0.3);
    expect(ffmpegLeft()).toBe('');
  });

  it('bytes that only start like a WAV are 422 INVALID_MEDIA, with no upload kept', async () => {
    const header = (await readFile(join(dir, 'speech.wav'))).subarray(0, 44);
    const { status, body } = await listen(Buffer.concat([header, Buffer.alloc(64, 0x5a)]).subarray(0, 60), 'broken.wav');
    expect(status).toBe(422);
    expect(body.error.code).toBe('INVALID_MEDIA');
    expect(await tmpFiles()).toEqual([]);
    expect(ffmpegLeft()).toBe('');
  });

  it('ten silent hours: an async job that reports its length and progress in seconds heard; cancel stops ffmpeg', async () => {
    const path = join(dir, 'ten-hours.flac');
    // 1 kHz keeps the file small (2.7 MB) and quick to make; the server resamples it as any other.
    await promisify(execFile)(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=1000:cl=mono', '-t', '36000', '-c:a', 'flac', path]);
    expect((await stat(path)).size).toBeLessThan(5_000_000);
    const { status, body } = await listen(await readFile(path), 'ten-hours.flac', 'mode=async');
    expect(status).toBe(202);
    const jobUrl = `${server.url}/v1/jobs/${body.jobId}`;
    let job = (await (await fetch(jobUrl)).json()) as { status: string; input: { durationS: number }; progress: { framesDone: number; framesTotal: number } };
    expect(job.input.durationS).toBeCloseTo(36_000, 0);
    expect(job.progress.framesTotal).toBe(36_000);
    for (let i = 0; i < 200 && job.progress.framesDone === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await (await fetch(jobUrl)).json()) as typeof job;
    }
    expect(job.progress.framesDone).toBeGreaterThan(0);
    const cancelled = await fetch(jobUrl, { method: 'DELETE' });
    expect(cancelled.status).toBeLessThan(300);
    for (let i = 0; i < 100 && job.status !== 'cancelled'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await (await fetch(jobUrl)).json()) as typeof job;
    }
    expect(job.status).toBe('cancelled');
    for (let i = 0; i < 50 && ffmpegLeft() !== ''; i++) await new Promise((r) => setTimeout(r, 100));
    expect(ffmpegLeft()).toBe('');
    await writeFile(path, ''); // the next runs of the suite need not keep it
  });
});
