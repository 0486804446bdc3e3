import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { textTrackKeys } from '../src/pipeline/index.js';
import { postFile, startTestServer } from './helpers/server.js';
import { twoTextsVideo } from './helpers/videos.js';

const FIRST = { text: 'GATE 14B', startS: 3, endS: 8 };
const SECOND = { text: 'EXIT NORTH', startS: 12, endS: 17 };

let dir: string;
let server: RunningServer;
let video: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-text-video-'));
  await twoTextsVideo(join(dir, 'texts.mp4'), FIRST.text, SECOND.text);
  video = await readFile(join(dir, 'texts.mp4'));
  server = await startTestServer({ modelsDir: 'models', dataDir: join(dir, 'data') });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const temporalIou = (a: { startS: number; endS: number }, b: { startS: number; endS: number }) =>
  Math.max(0, Math.min(a.endS, b.endS) - Math.max(a.startS, b.startS)) / (Math.max(a.endS, b.endS) - Math.min(a.startS, b.startS));

describe('text in video (text-reader)', () => {
  const predict = (query: string) => postFile(`${server.url}/v1/models/text-reader/predict?frames=false&fps=2${query}`, video, 'texts.mp4');

  it('keeps one track per line of text and lists the strings each segment shows', async () => {
    const { status, body } = await predict('');
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.model).toEqual({ name: 'text-reader', version: 1 });
    expect(body.tracks.map((t: any) => t.text)).toEqual([FIRST.text, SECOND.text]);
    expect(body.segments.map((s: any) => s.texts)).toEqual([[FIRST.text], [SECOND.text]]);
  });

  it.each([[FIRST, 'gate 14b'], [SECOND, 'North']])('query= finds the one segment of %o (temporal IoU >= 0.7)', async (expected, term) => {
    const { status, body } = await predict(`&query=${encodeURIComponent(term)}`);
    expect(status).toBe(200);
    expect(body.segments).toHaveLength(1);
    const [segment] = body.segments;
    expect(temporalIou(segment, expected)).toBeGreaterThanOrEqual(0.7);
    expect(segment.texts.join(' ').toLowerCase()).toContain(expected.text.toLowerCase());
    expect(body.segments[0].bestFrame.detections.some((d: any) => d.text === expected.text)).toBe(true);
  });

  it('GET /v1/search finds the finished jobs and segments whose text matches', async () => {
    const res = await fetch(`${server.url}/v1/search?text=${encodeURIComponent('exit north')}`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.results.length).toBeGreaterThanOrEqual(1);
    for (const r of body.results) {
      expect(r.model.name).toBe('text-reader');
      expect(r.segments.every((s: any) => s.texts.includes(SECOND.text))).toBe(true);
      expect((await fetch(`${server.url}${r.segments[0].thumbnail}`)).headers.get('content-type')).toBe('image/jpeg');
    }
    expect((await (await fetch(`${server.url}/v1/search?text=nowhere-to-be-seen`)).json()).results).toEqual([]);
    expect((await fetch(`${server.url}/v1/search`)).status).toBe(400);
  });
});

describe('text track keys', () => {
  it('fold case and spacing, merge near-identical readings, and keep other lines apart', () => {
    const key = textTrackKeys();
    const d = (text?: string) => ({ label: text === undefined ? 'person' : 'text', classId: 0, score: 0.9, box: { x: 0, y: 0, width: 1, height: 1 }, ...(text === undefined ? {} : { text }) });
    expect(key(d('GATE 14B'))).toBe(key(d('gate14b')));
    expect(key(d('GATE 148'))).toBe(key(d('GATE 14B'))); // one character in eight misread
    expect(key(d('EXIT NORTH'))).not.toBe(key(d('GATE 14B')));
    expect(key(d())).toBe('person');
  });
});
