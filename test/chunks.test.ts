import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logging/logger.js';
import { probeVideo } from '../src/media/ffmpeg.js';
import { planChunks, predictVideo, type VideoPrediction } from '../src/pipeline/index.js';
import { createRepository, type ModelRepository } from '../src/registry/index.js';
import { longEventsVideo } from './helpers/videos.js';

let dir: string;
let repository: ModelRepository;
let path: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-chunks-'));
  path = join(dir, 'long.mp4');
  repository = createRepository({ root: 'models', device: 'cpu', logger: createLogger('silent'), only: (n) => n === 'object-detector' });
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
