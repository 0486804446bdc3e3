import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import type { AudioAnalysis, PictureCues } from '../src/shared/job-result.js';
import { mixAtSnr, muxClip, noise, speechTrack, utteranceSpans } from './helpers/audio-clips.js';
import { postFile, startTestServer } from './helpers/server.js';
import { cuesVideo, CUES_TRUTH } from './helpers/videos.js';

// Shots, black and frozen spans of the picture (ffmpeg's blackdetect, freezedetect and scene
// score), on a generated clip whose cues are known: hard cuts, a fade through black, a black
// insert and a frozen insert, every other shot a pan over a real photo. Then the audio of a
// video job through the server (the voice model itself: test/audio.test.ts).

let dir: string;
let server: RunningServer;
let video: Buffer;
const FRAME_S = 1 / 25;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-cues-'));
  await cuesVideo(join(dir, 'cues.mp4'));
  video = await readFile(join(dir, 'cues.mp4'));
  server = await startTestServer({ modelsDir: 'models', dataDir: join(dir, 'data') });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const predict = async (query: string): Promise<{ status: number; body: { cues?: PictureCues; video: { sampling: { mode: string } } } }> =>
  postFile(`${server.url}/v1/models/object-detector/predict?${query}`, video, 'cues.mp4', 'video/mp4');

/** The shot boundaries the truth has: the hard cuts, and the fade through black (where the picture is back). */
const truthBoundaries = [...CUES_TRUTH.cuts, CUES_TRUTH.fadeThroughBlack.blackEndS].sort((a, b) => a - b);

/** F1 of found boundaries against the truth, a match within `toleranceS` (each truth boundary matched once). */
function boundaryF1(found: readonly number[], truth: readonly number[], toleranceS: number): number {
  const left = [...truth];
  let hits = 0;
  for (const t of found) {
    const i = left.findIndex((u) => Math.abs(u - t) <= toleranceS);
    if (i >= 0) {
      hits++;
      left.splice(i, 1);
    }
  }
  return found.length + truth.length === 0 ? 1 : (2 * hits) / (found.length + truth.length);
}

function expectKnownCues(cues: PictureCues | undefined) {
  expect(cues).toBeDefined();
  const { shots, black, frozen } = cues!;
  // Hard cuts within one frame; the fade's boundary within its fade length.
  const cutsFound = shots.filter((s) => CUES_TRUTH.cuts.some((c) => Math.abs(c - s.timeS) <= 1.01 * FRAME_S));
  expect(cutsFound).toHaveLength(CUES_TRUTH.cuts.length);
  expect(boundaryF1(shots.map((s) => s.timeS), truthBoundaries, CUES_TRUTH.fadeThroughBlack.fadeS)).toBeGreaterThanOrEqual(0.95);
  for (const s of shots) expect(s.frame).toBe(Math.round(s.timeS * 25));
  // The black insert between hard cuts, within one frame at both ends.
  const insert = black.find((b) => Math.abs(b.startS - CUES_TRUTH.black.startS) < 0.5);
  expect(insert).toBeDefined();
  expect(Math.abs(insert!.startS - CUES_TRUTH.black.startS)).toBeLessThanOrEqual(1.01 * FRAME_S);
  expect(Math.abs(insert!.endS - CUES_TRUTH.black.endS)).toBeLessThanOrEqual(1.01 * FRAME_S);
  expect(insert!.startFrame).toBe(Math.round(insert!.startS * 25));
  // The fade through black: a black span covering the black second, no longer than it and its fades.
  const { blackStartS, blackEndS, fadeS } = CUES_TRUTH.fadeThroughBlack;
  const faded = black.find((b) => b.startS <= blackStartS + FRAME_S && b.endS >= blackEndS - FRAME_S);
  expect(faded).toBeDefined();
  expect(faded!.startS).toBeGreaterThanOrEqual(blackStartS - fadeS);
  expect(faded!.endS).toBeLessThanOrEqual(blackEndS + fadeS);
  expect(black).toHaveLength(2);
  // The one frozen span (black is not also frozen), within one frame.
  expect(frozen).toHaveLength(1);
  expect(Math.abs(frozen[0].startS - CUES_TRUTH.frozen.startS)).toBeLessThanOrEqual(1.01 * FRAME_S);
  expect(Math.abs(frozen[0].endS - CUES_TRUTH.frozen.endS)).toBeLessThanOrEqual(1.01 * FRAME_S);
}

describe('picture cues', () => {
  it('exact sampling finds the cuts, the fade, the black and the frozen inserts in the same decode', async () => {
    const { status, body } = await predict('fps=2&sampling=exact');
    expect(status).toBe(200);
    expectKnownCues(body.cues);
  });

  it('keyframe sampling finds the same cues in a decode of their own when asked (cues=true), and none by default', async () => {
    const asked = await predict('fps=1&sampling=keyframes&cues=true');
    expect(asked.status).toBe(200);
    expect(asked.body.video.sampling.mode).toBe('keyframes');
    expectKnownCues(asked.body.cues);
    const plain = await predict('fps=1&sampling=keyframes');
    expect(plain.body.cues).toBeUndefined();
  });

  it('labels=black,frozen makes segments of the black and frozen spans; a cue rule does too, naming itself', async () => {
    const { body } = await postFile(`${server.url}/v1/models/object-detector/predict?fps=2&sampling=exact&labels=black,frozen&pad=0&mergeGap=0`, video, 'cues.mp4', 'video/mp4');
    const spans = (body.segments as Array<{ startS: number; endS: number; labels: Array<{ label: string }> }>).map((s) => [s.startS, s.endS, s.labels.map((l) => l.label).join('+')]);
    expect(spans).toEqual([[5.96, 7.08, 'black'], [10, 12, 'frozen'], [12, 13, 'black']]);
    const rules = JSON.stringify({ name: 'cuts', rules: [{ name: 'dark', kind: 'cue', cue: 'black', alert: true }] });
    const ruled = await postFile(`${server.url}/v1/models/object-detector/predict?fps=2&sampling=exact&pad=0&mergeGap=0`, video, 'cues.mp4', 'video/mp4', { rules });
    expect(ruled.status).toBe(200);
    expect(ruled.body.segments.map((s: { rules: string[]; alert: boolean }) => [s.rules, s.alert])).toEqual([[['dark'], true], [['dark'], true]]);
    expect(ruled.body.events.map((e: { kind: string; cue: string }) => `${e.kind}:${e.cue}`)).toEqual(['cue:black', 'cue:black']);
  });

  it('cues=false turns them off with exact sampling', async () => {
    const { status, body } = await predict('fps=2&sampling=exact&cues=false');
    expect(status).toBe(200);
    expect(body.cues).toBeUndefined();
  });
});

describe('cues in a finished job', () => {
  let jobId: string;
  beforeAll(async () => {
    const posted = await postFile(`${server.url}/v1/models/object-detector/predict?mode=async&fps=2&sampling=exact&labels=person`, video, 'cues.mp4', 'video/mp4');
    expect(posted.status).toBe(202);
    jobId = posted.body.jobId;
    for (const start = Date.now(); ; await new Promise((r) => setTimeout(r, 200))) {
      const job = await (await fetch(`${server.url}/v1/jobs/${jobId}`)).json();
      if (job.status === 'succeeded') break;
      if (job.status === 'failed' || Date.now() - start > 60_000) throw new Error(`job ${jobId}: ${JSON.stringify(job)}`);
    }
  });

  it('GET /v1/search?cue=black finds the job and its black spans; a cue it lacks finds nothing', async () => {
    const found = await (await fetch(`${server.url}/v1/search?cue=black`)).json();
    const hit = found.results.find((r: { jobId: string }) => r.jobId === jobId);
    expect(hit.cueSpans.map((s: { startS: number }) => Math.round(s.startS))).toEqual([6, 12]);
    expect((await (await fetch(`${server.url}/v1/search?cue=speech`)).json()).results.map((r: { jobId: string }) => r.jobId)).not.toContain(jobId);
    const bad = await fetch(`${server.url}/v1/search?cue=music`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('INVALID_INPUT');
  });

  it('re-reviews the job with a cue rule from the stored cues, and serves its segments as WebVTT', async () => {
    const profile = { name: 'technical', rules: [{ name: 'frozen-picture', kind: 'cue', cue: 'frozen', alert: true }] };
    const res = await fetch(`${server.url}/v1/jobs/${jobId}/evaluate?pad=0&mergeGap=0`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(profile) });
    expect(res.status).toBe(200);
    const answer = await res.json();
    expect(answer.segments.map((s: { startS: number; endS: number; rules: string[] }) => [s.startS, s.endS, s.rules])).toEqual([[10, 12, ['frozen-picture']]]);
    const vtt = await fetch(`${server.url}/v1/jobs/${jobId}/segments.vtt`);
    expect(vtt.headers.get('content-type')).toMatch(/^text\/vtt/);
    const text = await vtt.text();
    expect(text.startsWith('WEBVTT\n\n1\n')).toBe(true);
    // messi5.jpg (7-12 s) is the only shot with people.
    expect(text).toMatch(/\n00:00:0\d\.\d{3} --> 00:00:1\d\.\d{3}\nSegment 1: person\n/);
  });
});

describe('the audio of a video job', () => {
  // Two sentences (espeak-ng) at 1 s and 6 s in white noise at 20 dB SNR, under a still picture.
  const UTTERANCES = [{ atS: 1, text: 'The quick brown fox jumps over the lazy dog.' }, { atS: 6, text: 'Please review this part of the video.' }];
  let speechClip: Buffer;
  let truth: Array<{ startS: number; endS: number }>;
  beforeAll(async () => {
    const clean = await speechTrack(dir, 10, UTTERANCES);
    truth = utteranceSpans(clean, UTTERANCES, 10);
    speechClip = await readFile(await muxClip(dir, 'speech', mixAtSnr(clean, await noise(dir, 'white', 10), 20)));
  });

  it('hears the two sentences with the voice model, and labels=speech makes a segment of each', async () => {
    const { status, body } = await postFile(`${server.url}/v1/models/object-detector/predict?labels=speech&pad=0&mergeGap=0`, speechClip, 'speech.mp4', 'video/mp4');
    expect(status).toBe(200);
    const audio = (body as { audio: AudioAnalysis }).audio;
    expect(audio).toMatchObject({ status: 'analysed', voiceModel: { name: 'voice-detector', version: 1 }, stream: { codec: 'aac', channels: 1 } });
    expect(audio.speech).toHaveLength(2);
    audio.speech.forEach((s, i) => {
      expect(Math.abs(s.startS - truth[i].startS)).toBeLessThanOrEqual(0.3);
      expect(Math.abs(s.endS - truth[i].endS)).toBeLessThanOrEqual(0.3);
    });
    const segments = (body as { segments: Array<{ startS: number; endS: number; labels: Array<{ label: string }> }> }).segments;
    expect(segments.map((s) => s.labels.map((l) => l.label))).toEqual([['speech'], ['speech']]);
    expect(segments.map((s) => s.startS)).toEqual(audio.speech.map((s) => s.startS));
  });

  it('audio=false turns it off, and a video without audio says so', async () => {
    const off = await postFile(`${server.url}/v1/models/object-detector/predict?audio=false`, speechClip, 'speech.mp4', 'video/mp4');
    expect(off.body.audio).toEqual({ status: 'off', speech: [], loud: [] });
    const silent = await predict('fps=2');
    expect((silent.body as { audio?: AudioAnalysis }).audio).toEqual({ status: 'none', speech: [], loud: [] });
  });
});
