import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { changedRatio, createMotionGate, motionSignature } from '../src/pipeline/index.js';
import { postFile, startTestServer } from './helpers/server.js';
import { knownTruthVideo, staticCameraVideo } from './helpers/videos.js';

let dir: string;
let server: RunningServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-motion-'));
  await Promise.all([staticCameraVideo(join(dir, 'static.mp4')), knownTruthVideo(join(dir, 'truth.mp4'))]);
  server = await startTestServer({ modelsDir: 'models', dataDir: join(dir, 'data') });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const grey = (value: number, width = 64, height = 64) => ({ data: new Uint8Array(width * height * 3).fill(value), width, height });

describe('the motion gate', () => {
  it('skips a frame like the last inferred one, infers one that changed, and forces one every maxSkipS', () => {
    const gate = createMotionGate({ enabled: true, maxSkipS: 5 });
    const still = grey(100);
    const moved = grey(100);
    moved.data.fill(200, 0, 64 * 16 * 3); // the top quarter changed
    expect([0, 1, 2, 3].map((t) => gate.shouldInfer(t, still))).toEqual([true, false, false, false]);
    expect(gate.shouldInfer(4, moved)).toBe(true);
    expect(gate.shouldInfer(8, moved)).toBe(false);
    expect(gate.shouldInfer(9, moved)).toBe(true); // 5 s since the last inference
    expect(gate.counts).toEqual({ framesInferred: 3, framesSkipped: 4 });
  });

  it('averages codec-sized noise away: a few noisy pixels are no motion', () => {
    const a = grey(120, 512, 512);
    const b = grey(120, 512, 512);
    for (let i = 0; i < b.data.length; i += 97) b.data[i] = 120 + ((i * 7) % 9) - 4;
    expect(changedRatio(motionSignature(a), motionSignature(b))).toBe(0);
  });

  it('off: every frame goes to the model', () => {
    const gate = createMotionGate({ enabled: false, maxSkipS: 5 });
    expect([0, 1, 2].every((t) => gate.shouldInfer(t, grey(1)))).toBe(true);
  });
});

describe('motion gating over HTTP', () => {
  const predict = (file: string, query: string) => readFile(join(dir, file)).then((b) => postFile(`${server.url}/v1/models/object-detector/predict?labels=person&fps=2&sampling=exact&${query}`, b, file));

  it('a static camera: at least half the inferences skipped, the same person segment within 1 s', async () => {
    const [{ body: off }, { status, body: on }] = await Promise.all([predict('static.mp4', 'motion=false'), predict('static.mp4', 'motion=true')]);
    expect(status, JSON.stringify(on)).toBe(200);
    expect(off.video.motion).toMatchObject({ enabled: false, framesInferred: 60, framesSkipped: 0 });
    expect(on.video.motion).toMatchObject({ enabled: true, maxSkipS: 5 });
    expect(on.video.motion.framesInferred + on.video.motion.framesSkipped).toBe(60);
    expect(on.video.motion.framesSkipped).toBeGreaterThanOrEqual(30);
    console.log(`motion: ${JSON.stringify(on.video.motion)}; segments off ${JSON.stringify(off.segments.map((s: any) => [s.startS, s.endS]))}, on ${JSON.stringify(on.segments.map((s: any) => [s.startS, s.endS]))}`);
    expect(off.segments).toHaveLength(1);
    expect(on.segments).toHaveLength(off.segments.length);
    expect(Math.abs(on.segments[0].startS - off.segments[0].startS)).toBeLessThanOrEqual(1);
    expect(Math.abs(on.segments[0].endS - off.segments[0].endS)).toBeLessThanOrEqual(1);
  });

  it('the known-truth video (scene cuts) still finds its one person event with motion on', async () => {
    const { status, body } = await predict('truth.mp4', 'motion=true');
    expect(status).toBe(200);
    expect(body.segments).toHaveLength(1);
    expect(body.segments[0].startS).toBeLessThanOrEqual(4);
    expect(body.segments[0].endS).toBeGreaterThanOrEqual(8);
  });
});
