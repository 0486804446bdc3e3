import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { checkHwaccel, probeKeyframes, probeVideo, probeVideoAndKeyframes, resolveMediaTools, sampleFrames, type SampleOptions, type VideoInfo } from '../src/media/ffmpeg.js';
import { chooseSampling, createTracker, decodeFrameAt, DEFAULT_TRACKER, sampleIntervalS } from '../src/pipeline/index.js';
import { postFile, startTestServer } from './helpers/server.js';
import { knownTruthVideo, longTinyVideo } from './helpers/videos.js';

let dir: string;
let server: RunningServer;
let video: Buffer;
/** gop1s.mp4: 12 s with a keyframe every second, probed once. */
let gop1s: string;
let info: VideoInfo;
const keyframes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

/** Every frame these options decode from gop1s.mp4. */
const decode = async (o: SampleOptions) => {
  const out: Uint8Array[] = [];
  for await (const f of sampleFrames(gop1s, info, o)) out.push(f.image.data);
  return out;
};
/** Mean absolute difference per channel value, 0-255. */
const diff = (a: Uint8Array, b: Uint8Array) => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]), 0) / a.length;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-sampling-'));
  gop1s = join(dir, 'gop1s.mp4');
  await knownTruthVideo(gop1s, 10); // a keyframe every second
  video = await readFile(gop1s);
  info = await probeVideo(gop1s);
  server = await startTestServer({ modelsDir: 'models', dataDir: join(dir, 'data') });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('choosing the sampling', () => {
  it.each([
    ['auto', 1, 'keyframes'],
    ['auto', 0.5, 'keyframes'],
    ['auto', 2, 'exact'],
    ['keyframes', 2, 'keyframes'],
    ['exact', 1, 'exact'],
  ] as const)('%s at %s fps over 1 s keyframes runs %s', (requested, fps, mode) => {
    expect(chooseSampling(requested, keyframes, { fps, startS: 0 }).mode).toBe(mode);
  });

  it('keeps the keyframes inside start, end and maxFrames', () => {
    expect(chooseSampling('keyframes', keyframes, { fps: 1, startS: 2.5, endS: 9 }).keyframeTimes).toEqual([3, 4, 5, 6, 7, 8]);
    expect(chooseSampling('keyframes', keyframes, { fps: 1, startS: 0, maxFrames: 3 }).keyframeTimes).toEqual([0, 1, 2]);
  });

  it('reads the keyframe index from the packets', async () => {
    expect(await probeKeyframes(gop1s, info)).toEqual(keyframes);
  });

  it('reads the index beside the probe: the same description and keyframes; a file it cannot probe is INVALID_MEDIA', async () => {
    const both = await probeVideoAndKeyframes(gop1s);
    expect(both.info).toEqual(info);
    expect(await both.keyframes).toEqual(keyframes);
    const broken = join(dir, 'broken.mp4');
    await writeFile(broken, Buffer.concat([video.subarray(0, 64), Buffer.alloc(4096, 7)]));
    await expect(probeVideoAndKeyframes(broken)).rejects.toMatchObject({ code: 'INVALID_MEDIA' });
  });

  it('a refused upload stops its index: \'start\' past the end answers 400 and leaves no ffprobe running', async () => {
    const long = join(dir, 'hour.mp4');
    await longTinyVideo(long); // its index takes about 20 times as long as its probe
    const ffprobeChildren = async () => {
      const found: string[] = [];
      for (const pid of await readdir('/proc').then((all) => all.filter((p) => /^\d+$/.test(p)))) {
        const stat = (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')).trim();
        const [, comm, rest] = /^\d+ \((.*)\) (.*)$/.exec(stat) ?? [];
        const [state, ppid] = rest?.split(' ') ?? [];
        if (comm?.startsWith('ffprobe') && Number(ppid) === process.pid && state !== 'Z') found.push(pid); // a zombie is dead, only not reaped yet
      }
      return found;
    };
    const { status, body } = await postFile(`${server.url}/v1/models/object-detector/predict?start=99999`, await readFile(long), 'hour.mp4');
    expect(status).toBe(400);
    expect(body.error.message).toMatch(/'start' 99999 is past the end/);
    // A killed child is gone within milliseconds; unstopped, the index reads on for several times longer.
    let left = await ffprobeChildren();
    for (let waited = 0; left.length > 0 && waited < 100; waited += 20) {
      await new Promise((r) => setTimeout(r, 20));
      left = await ffprobeChildren();
    }
    expect(left).toEqual([]);
  });

  it('ffmpeg delivers exactly the listed keyframes: each one the picture the exact grid decodes at its time', async () => {
    // The clip's keyframes fall on whole seconds, so the 1 fps grid lands on the same moments.
    // The grid's frames pass through ffmpeg's fps filter, so they match to within rounding.
    const [keyframed, grid] = await Promise.all([decode({ fps: 1, startS: 0, keyframeTimes: keyframes }), decode({ fps: 1, startS: 0 })]);
    expect(keyframed).toHaveLength(keyframes.length);
    expect(grid).toHaveLength(keyframes.length);
    for (const [i, frame] of keyframed.entries()) expect(diff(frame, grid[i]), `keyframe ${i}`).toBeLessThan(2);
    // The clip cuts to another picture every 4 s: a frame from the wrong time would differ.
    expect(diff(keyframed[0], grid[4])).toBeGreaterThan(20);
  });

  it('a keyframe\'s thumbnail is sought straight to it: the picture the sampling decoded there, also at a scene cut', async () => {
    const sampled = await decode({ fps: 1, startS: 0, keyframeTimes: keyframes });
    const sampling = { mode: 'keyframes' as const, requested: 'keyframes' as const, keyframeTimes: keyframes };
    // 4 and 8 s are scene cuts: landing on the keyframe before would show the previous picture.
    // 11 s is the last keyframe (no next one known): the accurate seek.
    for (const t of [3, 4, 8, 11]) {
      const image = await decodeFrameAt(gop1s, info, { fps: 1, startS: 0, sampling }, { index: t, timeS: t, detections: [] });
      expect(diff(image.data, sampled[t]), `keyframe at ${t} s`).toBeLessThan(1);
      expect(diff(image.data, sampled[t - 1]) > 20 || ![4, 8].includes(t)).toBe(true);
    }
  });

  it('the tracker\'s gap follows the sampling: a person seen every 5 s is one track, not four', () => {
    const det = (x: number) => ({ label: 'person', classId: 0, score: 0.9, box: { x, y: 10, width: 50, height: 100 } });
    const run = (maxGapS: number) => {
      const tracker = createTracker({ ...DEFAULT_TRACKER, maxGapS });
      [0, 5, 10, 15].forEach((t, i) => tracker.update({ index: i, timeS: t, detections: [det(10 + i)] }));
      return tracker.finish();
    };
    const plan = chooseSampling('keyframes', [0, 5, 10, 15], { fps: 1, startS: 0 });
    expect(run(DEFAULT_TRACKER.maxGapS)).toEqual([]); // the fixed 4 s floor alone breaks it at every sample
    const tracks = run(Math.max(DEFAULT_TRACKER.maxGapS, 1.5 * sampleIntervalS(plan, 1)));
    expect(tracks).toHaveLength(1);
    expect(tracks[0]).toMatchObject({ hits: 4, startS: 0, endS: 15 });
  });
});

describe('the same events in every mode', () => {
  const predict = (query: string, fps = 1) => postFile(`${server.url}/v1/models/object-detector/predict?labels=person&fps=${fps}&${query}`, video, 'gop1s.mp4');

  it.each(['exact', 'keyframes', 'auto'])('sampling=%s finds the one person event (4-8 s), boundaries within 1 s of exact', async (sampling) => {
    const [{ body: exact }, { status, body }] = await Promise.all([predict('sampling=exact'), predict(`sampling=${sampling}`)]);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.video.sampling).toMatchObject({ mode: sampling === 'exact' ? 'exact' : 'keyframes', requested: sampling });
    expect(body.video.sampledTimes).toHaveLength(12);
    if (sampling !== 'exact') expect(body.video.sampledTimes).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(body.segments).toHaveLength(1);
    expect(exact.segments).toHaveLength(1);
    expect(Math.abs(body.segments[0].startS - exact.segments[0].startS)).toBeLessThanOrEqual(1);
    expect(Math.abs(body.segments[0].endS - exact.segments[0].endS)).toBeLessThanOrEqual(1);
    expect(body.segments[0].startS).toBeLessThanOrEqual(4);
    expect(body.segments[0].endS).toBeGreaterThanOrEqual(8);
    expect((await fetch(`${server.url}${body.segments[0].thumbnail}`)).headers.get('content-type')).toBe('image/jpeg');
  });

  it('auto falls back to the exact grid when keyframes are further apart than 1/fps', async () => {
    const { body } = await predict('sampling=auto', 2);
    expect(body.video.sampling).toMatchObject({ mode: 'exact', requested: 'auto', keyframeIntervalS: 1 });
    expect(body.video.sampledTimes).toHaveLength(24);
  });
});

describe('hardware decoding (FRAMEWATCH_FFMPEG_HWACCEL)', () => {
  it('keeps cuda only where this ffmpeg lists it, and says why it dropped it', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const tools = resolveMediaTools({ ffmpegHwaccel: 'cuda' });
    const listed = (await promisify(execFile)(tools.ffmpeg, ['-hide_banner', '-hwaccels'])).stdout.split('\n').map((l) => l.trim());
    const checked = await checkHwaccel(tools);
    if (listed.includes('cuda')) expect(checked).toEqual({ tools });
    else {
      expect(checked.tools.hwaccel).toBeUndefined();
      expect(checked.dropped).toMatch(/lists no 'cuda' hwaccel; decoding on the CPU/);
    }
    expect(await checkHwaccel(resolveMediaTools({}))).toEqual({ tools: resolveMediaTools({}) });
  });
});
