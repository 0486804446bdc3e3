import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { resolveMediaTools } from '../src/media/ffmpeg-tools.js';
import { pointInPolygon, type Vec } from '../src/shared/polygon.js';
import { postFile, sample, startTestServer } from './helpers/server.js';
import { twoEventsVideo } from './helpers/videos.js';
import { emptyJobResult } from './helpers/job-result.js';

let dir: string;
let server: RunningServer;
let base: string;
let calls: string;
let job: any;
let videoBytes: Buffer;

/** ffmpeg and ffprobe behind wrappers that note every start, so a test can say none ran. */
async function countingTools(at: string): Promise<{ ffmpegPath: string; ffprobePath: string }> {
  const real = resolveMediaTools();
  const wrap = async (name: string, target: string) => {
    const path = join(at, name);
    await writeFile(path, `#!/bin/sh\necho ${name} >> '${calls}'\nexec '${target}' "$@"\n`);
    await chmod(path, 0o755);
    return path;
  };
  return { ffmpegPath: await wrap('ffmpeg', real.ffmpeg), ffprobePath: await wrap('ffprobe', real.ffprobe) };
}

const starts = async () => (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
const inferences = async () => sample(await (await fetch(`${base}/metrics`)).text(), 'framewatch_inference_duration_seconds_count');
/**
 * The segments cover every sample time at which a person's box (bottom-centre) was in the zone,
 * and each segment is no longer than its occupied samples by more than one sample interval.
 */
function expectZoneOccupancy(job: any, answer: any, polygon: Vec[], intervalS = 1 / 2): Set<number> {
  const { width, height } = job.video;
  const occupied = new Set<number>();
  for (const t of job.tracks.filter((t: { label: string }) => t.label === 'person')) {
    for (const [timeS, x, y, w, h] of t.trajectory as number[][]) {
      if (pointInPolygon([(x + w / 2) / width, (y + h) / height] as Vec, polygon)) occupied.add(timeS);
    }
  }
  for (const t of occupied) expect(answer.segments.some((s: { startS: number; endS: number }) => s.startS - 1e-6 <= t && t <= s.endS + 1e-6)).toBe(true);
  for (const s of answer.segments) {
    const inside = [...occupied].filter((t) => t >= s.startS - 1e-6 && t <= s.endS + 1e-6);
    expect(Math.max(...inside) - Math.min(...inside)).toBeGreaterThan(s.endS - s.startS - intervalS - 1e-6);
  }
  return occupied;
}

const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

// The right half of the frame: the people in the overlay walk into it from the left.
const rightHalf = { name: 'right', polygon: [[0.5, 0], [1, 0], [1, 1], [0.5, 1]] as Array<[number, number]> };
const zoneProfile = { name: 'right-side', zones: [rightHalf], rules: [{ name: 'in-right', kind: 'zone', zone: 'right', labels: ['person'], alert: true }] };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-profiles-'));
  calls = join(dir, 'tool-starts.log');
  server = await startTestServer({ dataDir: join(dir, 'data'), ...(await countingTools(dir)) });
  base = server.url;
  const video = join(dir, 'two-events.mp4');
  await twoEventsVideo(video);
  videoBytes = await readFile(video);
  const res = await postFile(`${base}/v1/models/object-detector/predict?mode=sync&pad=0&mergeGap=0`, videoBytes, 'two-events.mp4', 'video/mp4');
  expect(res.status).toBe(200);
  job = res.body;
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('review profiles: stored and versioned', () => {
  it('stores each save as the next version, lists and returns them', async () => {
    const first = await post('/v1/profiles', zoneProfile);
    expect(first.status).toBe(201);
    expect((await first.json()).version).toBe(1);
    const second = await post('/v1/profiles', { ...zoneProfile, description: 'the right half' });
    expect((await second.json()).version).toBe(2);
    const list = await (await fetch(`${base}/v1/profiles`)).json();
    expect(list.profiles).toContainEqual({ name: 'right-side', version: 2, rules: 1 });
    const one = await (await fetch(`${base}/v1/profiles/right-side?version=1`)).json();
    expect(one).toMatchObject({ name: 'right-side', version: 1 });
    expect(one.description).toBeUndefined();
    expect((await fetch(`${base}/v1/profiles/nobody`)).status).toBe(404);
  });

  it.each([
    ['a self-intersecting zone', { ...zoneProfile, name: 'bad-a', zones: [{ name: 'right', polygon: [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]] }] }, 'zones.0.polygon'],
    ['a coordinate outside [0,1]', { ...zoneProfile, name: 'bad-b', zones: [{ name: 'right', polygon: [[0.5, 0], [1.2, 0], [1, 1]] }] }, 'zones.0.polygon.1.0'],
    ['10,000 vertices', { ...zoneProfile, name: 'bad-c', zones: [{ name: 'right', polygon: Array.from({ length: 10_000 }, (_, i) => [0.5 + 0.4 * Math.cos(i), 0.5 + 0.4 * Math.sin(i)]) }] }, 'zones.0.polygon'],
  ])('refuses %s with 400 INVALID_INPUT naming the field, and stores nothing', async (_, body, field) => {
    const res = await post('/v1/profiles', body);
    expect(res.status).toBe(400);
    const answer = await res.json();
    expect(answer.error.code).toBe('INVALID_INPUT');
    expect(answer.error.details.issues.map((i: { path: string }) => i.path)).toContain(field);
    expect(await readdir(join(dir, 'data', 'profiles'))).not.toContain((body as { name: string }).name);
  });
});

describe('re-review without re-inference (POST /v1/jobs/:id/evaluate)', () => {
  it('answers a new profile from the stored tracks: no ffmpeg started, no inference run', async () => {
    const [ffmpegBefore, inferBefore] = [await starts(), await inferences()];
    // The job itself went through the wrappers and the model: the counts can move.
    expect(ffmpegBefore).toBeGreaterThan(0);
    expect(inferBefore).toBeGreaterThan(0);
    const res = await post(`/v1/jobs/${job.jobId}/evaluate?pad=0&mergeGap=0`, zoneProfile);
    expect(res.status).toBe(200);
    const answer = await res.json();
    expect(await starts()).toBe(ffmpegBefore);
    expect(await inferences()).toBe(inferBefore);
    expect(answer.segments.length).toBeGreaterThan(0);
    for (const s of answer.segments) expect(s).toMatchObject({ rules: ['in-right'], alert: true });
    // The zone flags less than "a person is in view" does.
    expect(answer.review.flaggedS).toBeGreaterThan(0);
    expect(answer.review.flaggedS).toBeLessThan(job.review.flaggedS);
    expect(answer.events.filter((e: { kind: string }) => e.kind === 'enter').length).toBeGreaterThan(0);
  });

  it("links each segment's best frame as a picture, cut on the first fetch and cached after; a time the video lacks is 404", async () => {
    const answer = await (await post(`/v1/jobs/${job.jobId}/evaluate?pad=0&mergeGap=0`, zoneProfile)).json();
    const [first] = answer.segments;
    expect(first.thumbnail).toBe(`/v1/jobs/${job.jobId}/frames/${Math.round(first.bestFrame.timeS * 10) * 100}.jpg`);
    const before = await starts();
    const cut = await fetch(`${base}${first.thumbnail}`);
    expect(cut.status).toBe(200);
    expect(cut.headers.get('content-type')).toBe('image/jpeg');
    const { default: sharp } = await import('sharp');
    const meta = await sharp(Buffer.from(await cut.arrayBuffer())).metadata();
    expect(meta.width).toBe(Math.min(640, job.video.width));
    expect(await starts()).toBeGreaterThan(before);
    const cutStarts = await starts();
    expect((await fetch(`${base}${first.thumbnail}`)).status).toBe(200);
    expect(await starts()).toBe(cutStarts); // cached: no ffmpeg the second time
    for (const ms of ['150', String(Math.ceil(job.video.durationS) * 1000 + 100), 'abc']) {
      const bad = await fetch(`${base}/v1/jobs/${job.jobId}/frames/${ms}.jpg`);
      expect([bad.status, (await bad.json()).error.code]).toEqual([404, 'SEGMENT_NOT_FOUND']);
    }
  });

  it("flags exactly the zone's occupancy by the job's own tracked samples, within one sample interval per segment", async () => {
    const answer = await (await post(`/v1/jobs/${job.jobId}/evaluate?pad=0&mergeGap=0.6`, zoneProfile)).json();
    expectZoneOccupancy(job, answer, rightHalf.polygon);
  });

  it('takes a stored profile by name, and refuses unknown labels, unknown profiles and unfinished jobs', async () => {
    expect((await post(`/v1/jobs/${job.jobId}/evaluate`, { profile: 'right-side' })).status).toBe(200);
    const unknownLabel = await post(`/v1/jobs/${job.jobId}/evaluate`, { ...zoneProfile, rules: [{ name: 'r', kind: 'match', labels: ['unicorn'] }] });
    expect(unknownLabel.status).toBe(400);
    expect((await unknownLabel.json()).error.message).toContain('rules.0.labels.0');
    const missing = await post(`/v1/jobs/${job.jobId}/evaluate`, { profile: 'nobody' });
    expect([missing.status, (await missing.json()).error.code]).toEqual([404, 'PROFILE_NOT_FOUND']);
    const noJob = await post('/v1/jobs/00000000-0000-4000-8000-000000000000/evaluate', zoneProfile);
    expect(noJob.status).toBe(404);
  });

  it('re-reviews a finished 10-minute job (20 people always in view, 2 fps) in under a second', async () => {
    // The job's files as the embedded store keeps them: a finished 600 s job, 24,000 tracked samples.
    const jobId = '00000000-0000-4000-8000-00000000a600';
    const durationS = 600;
    const tracks = Array.from({ length: 200 }, (_, i) => {
      const startS = (i % 10) * 60;
      const trajectory = Array.from({ length: 120 }, (_, k) => [startS + k / 2, ((k * 5 + i * 37) % 600) + 10, 200 + (i % 7) * 20, 40, 100, 0.8]);
      return { id: i + 1, label: 'person', startS, endS: startS + 59.5, maxScore: 0.8, hits: 120, trajectory };
    });
    const result = { ...emptyJobResult(jobId, durationS), video: { ...emptyJobResult(jobId, durationS).video, width: 640, height: 360 }, tracks };
    const at = new Date().toISOString();
    const record = { jobId, status: 'succeeded', createdAt: at, updatedAt: at, model: job.model, input: { bytes: 1, durationS }, progress: { framesDone: 1200, framesTotal: 1200, percent: 100 } };
    await mkdir(join(dir, 'data', 'jobs', jobId), { recursive: true });
    await writeFile(join(dir, 'data', 'jobs', jobId, 'job.json'), JSON.stringify(record));
    await writeFile(join(dir, 'data', 'jobs', jobId, 'result.json'), JSON.stringify(result));

    const [ffmpegBefore, inferBefore] = [await starts(), await inferences()];
    const started = performance.now();
    const res = await post(`/v1/jobs/${jobId}/evaluate`, zoneProfile);
    const elapsedMs = performance.now() - started;
    expect(res.status).toBe(200);
    const answer = await res.json();
    expect(answer.events.length).toBeGreaterThan(100);
    expect(answer.segments[0].thumbnail).toBeUndefined(); // no kept video: no picture to link
    expect(elapsedMs).toBeLessThan(1000);
    expect(await starts()).toBe(ffmpegBefore);
    expect(await inferences()).toBe(inferBefore);
  });

  it('counts rule events in the metrics', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(sample(text, 'framewatch_rule_events_total', 'kind="enter"')).toBeGreaterThan(0);
  });
});

describe('a profile on predict (profile= or a multipart rules field)', () => {
  it('builds the job\'s segments from the rules, with thumbnails, and keeps the events in the result', async () => {
    const res = await postFile(`${base}/v1/models/object-detector/predict?mode=sync&pad=0&mergeGap=0.6`, videoBytes, 'two-events.mp4', 'video/mp4', { rules: JSON.stringify(zoneProfile) });
    expect(res.status).toBe(200);
    expect(res.body.profile).toEqual({ name: 'right-side' });
    expect(res.body.events.some((e: { kind: string }) => e.kind === 'enter')).toBe(true);
    expect(res.body.segments.length).toBeGreaterThan(0);
    for (const s of res.body.segments) {
      expect(s).toMatchObject({ rules: ['in-right'], alert: true });
      expect((await fetch(`${base}${s.thumbnail}`)).headers.get('content-type')).toBe('image/jpeg');
    }
    // The same rules over the same tracks as a re-review of the first job.
    const again = await (await post(`/v1/jobs/${res.body.jobId}/evaluate?pad=0&mergeGap=0.6`, zoneProfile)).json();
    expect(again.segments.map((s: { startS: number; endS: number }) => [s.startS, s.endS])).toEqual(res.body.segments.map((s: { startS: number; endS: number }) => [s.startS, s.endS]));
  });

  it.each([
    ['rules that are not JSON', { rules: '{"name": ' }, '', 400, 'INVALID_INPUT'],
    ['rules with a bad zone', { rules: JSON.stringify({ ...zoneProfile, zones: [{ name: 'right', polygon: [[0, 0], [1, 1], [2, 2]] }] }) }, '', 400, 'INVALID_INPUT'],
    ['an unknown stored profile', {}, '&profile=nobody', 404, 'PROFILE_NOT_FOUND'],
  ])('refuses %s before any inference, and leaves no upload behind', async (_, fields, query, status, code) => {
    const inferBefore = await inferences();
    const res = await postFile(`${base}/v1/models/object-detector/predict?mode=sync${query}`, videoBytes, 'two-events.mp4', 'video/mp4', fields as Record<string, string>);
    expect([res.status, res.body.error.code]).toEqual([status, code]);
    expect(await inferences()).toBe(inferBefore);
    expect(await readdir(join(dir, 'data', 'tmp'))).toEqual([]);
  });
});

describe('a real busy scene: people in view the whole time (test/fixtures/busy-campus.mp4)', () => {
  // The left part of the road, where people walk through now and then (bottom-centre of the box).
  const leftRoad = { name: 'left-road', polygon: [[0, 0.25], [0.35, 0.25], [0.35, 0.5], [0, 0.5]] as Vec[] };
  const profile = { name: 'left-road', zones: [leftRoad], rules: [{ name: 'on-left-road', kind: 'zone', zone: 'left-road', labels: ['person'], alert: true }] };
  let busy: any;

  beforeAll(async () => {
    const bytes = await readFile('test/fixtures/busy-campus.mp4');
    const res = await postFile(`${base}/v1/models/object-detector/predict?mode=sync&labels=person,car`, bytes, 'busy-campus.mp4', 'video/mp4');
    expect(res.status).toBe(200);
    busy = res.body;
  }, 120_000);

  it('without rules flags the whole clip, with its people in a few long tracks, not fragments', () => {
    expect(busy.review.flaggedRatio).toBeGreaterThan(0.95);
    const people = busy.tracks.filter((t: { label: string }) => t.label === 'person');
    // 16 person tracks over 30 s here (the IoU tracker before ByteTrack made 23 of the same frames).
    expect(people.length).toBeLessThanOrEqual(18);
    const longest = Math.max(...people.map((t: { startS: number; endS: number }) => t.endS - t.startS));
    expect(longest).toBeGreaterThan(20);
  });

  it('gives each track its dominant colour: the teal car parked at the right edge blue, most people (dark clothes) black', () => {
    const cars = busy.tracks.filter((t: { label: string }) => t.label === 'car');
    expect(cars.map((t: { colour: string }) => t.colour)).toEqual(['blue']);
    const people = busy.tracks.filter((t: { label: string }) => t.label === 'person');
    expect(people.filter((t: { colour: string }) => t.colour === 'black').length).toBeGreaterThan(people.length / 2);
  });

  it('a rule on colour: a blue car is found, a white one is not, and an unknown colour is refused naming the field', async () => {
    const rule = { name: 'car-colour', kind: 'match', labels: ['car'], colours: ['blue'] };
    const blue = await (await post(`/v1/jobs/${busy.jobId}/evaluate`, { name: 'blue-car', rules: [rule] })).json();
    expect(blue.events.filter((e: { kind: string }) => e.kind === 'match').length).toBe(1);
    expect(blue.review.flaggedRatio).toBeGreaterThan(0.9);
    const white = await (await post(`/v1/jobs/${busy.jobId}/evaluate`, { name: 'white-car', rules: [{ ...rule, colours: ['white'] }] })).json();
    expect([white.events.length, white.review.flaggedS]).toEqual([0, 0]);
    const bad = await post(`/v1/jobs/${busy.jobId}/evaluate`, { name: 'mauve-car', rules: [{ ...rule, colours: ['mauve'] }] });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.details.issues.map((i: { path: string }) => i.path)).toContain('rules.0.colours.0');
  });

  it("with a zone rule flags the zone's occupancy, well below the whole clip", async () => {
    const answer = await (await post(`/v1/jobs/${busy.jobId}/evaluate?pad=0&mergeGap=0.6`, profile)).json();
    const occupied = expectZoneOccupancy(busy, answer, leftRoad.polygon);
    expect(occupied.size).toBeGreaterThan(5);
    expect(answer.review.flaggedRatio).toBeGreaterThan(0.2);
    expect(answer.review.flaggedRatio).toBeLessThan(0.6);
  });
});

