import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import sharp from 'sharp';
import { extract } from 'tar-stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { createDiskJobStore } from '../src/pipeline/index.js';
import { type ReviewStore } from '../src/review/index.js';
import { createRedisReviewStore } from '../src/pipeline/index.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { postFile, scratchRepository, startTestServer } from './helpers/server.js';
import { twoEventsVideo } from './helpers/videos.js';
import { runCli } from './helpers/cli.js';

let dir: string;
let models: Awaited<ReturnType<typeof scratchRepository>>;
let server: RunningServer;
let video: Buffer;
let version: number;

const MODEL = 'object-detector';
const DURATION_S = 20;

/** The bundled object detector, its manifest expecting precision 0.9 after 2 decisions. */
async function repositoryExpecting(): Promise<Awaited<ReturnType<typeof scratchRepository>>> {
  const repo = await scratchRepository([MODEL]);
  version = Math.max(...(await readdir(join(repo.dir, MODEL))).filter((d) => /^\d+$/.test(d)).map(Number));
  const path = join(repo.dir, MODEL, String(version), 'manifest.json');
  const manifest = JSON.parse(await readFile(path, 'utf8'));
  await writeFile(path, JSON.stringify({ ...manifest, expected: { precision: 0.9, timeSavedRatio: 0.5, minDecisions: 2 } }, null, 2));
  return repo;
}

const start = () => startTestServer({ modelsDir: models.dir, dataDir: join(dir, 'data') });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-review-'));
  await twoEventsVideo(join(dir, 'two.mp4'));
  video = await readFile(join(dir, 'two.mp4'));
  models = await repositoryExpecting();
  server = await start();
});
afterAll(async () => {
  await server?.close();
  await models?.remove();
  await rm(dir, { recursive: true, force: true });
});

const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${server.url}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  return { status: res.status, body: (await res.json()) as any };
};

/** A sync video job with its two person segments (about 1-6.5 s and 11-16.5 s). */
async function reviewedJob(): Promise<string> {
  const { status, body } = await postFile(`${server.url}/v1/models/${MODEL}/predict?labels=person&frames=false`, video, 'two.mp4');
  expect(status, JSON.stringify(body)).toBe(200);
  expect(body.segments).toHaveLength(2);
  return body.jobId;
}

describe('reviewing a job over HTTP', () => {
  let jobA: string;
  let jobB: string;

  beforeAll(async () => {
    [jobA, jobB] = await Promise.all([reviewedJob(), reviewedJob()]);
  });

  it('starts unreviewed, with its segments and no time saved yet', async () => {
    const { status, body } = await api('GET', `/v1/jobs/${jobA}/review`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ jobId: jobA, status: 'unreviewed', videoS: DURATION_S, activeS: 0, timeSaved: null, counts: { segments: 2, undecided: 2, missed: 0 } });
    expect(body.segments[0].startS).toBeLessThan(body.segments[1].startS);
    expect(body.flaggedS).toBeCloseTo(body.segments.reduce((s: number, x: any) => s + x.endS - x.startS, 0), 3);
  });

  it('refuses what a reviewer cannot mean, with stable codes', async () => {
    expect((await api('PUT', `/v1/jobs/${jobA}/segments/2/decision`, { decision: 'confirmed' })).body.error.code).toBe('SEGMENT_NOT_FOUND');
    expect((await api('PUT', `/v1/jobs/${jobA}/segments/x/decision`, { decision: 'confirmed' })).status).toBe(404);
    const bad = await api('PUT', `/v1/jobs/${jobA}/segments/0/decision`, { decision: 'maybe' });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'INVALID_INPUT']);
    expect((await api('PUT', `/v1/jobs/${jobA}/segments/0/decision`, { decision: 'confirmed', extra: 1 })).status).toBe(400);
    expect((await api('POST', `/v1/jobs/${jobA}/missed`, { startS: 18, endS: 25 })).body.error.code).toBe('INVALID_INPUT'); // past the end
    expect((await api('POST', `/v1/jobs/${jobA}/missed`, { startS: 5, endS: 4 })).status).toBe(400);
    expect((await api('POST', `/v1/jobs/${jobA}/review/activity`, { activeMs: 3_600_000 })).status).toBe(400); // over a minute per slice
    expect((await api('GET', '/v1/jobs/00000000-0000-0000-0000-000000000000/review')).body.error.code).toBe('JOB_NOT_FOUND');
    // Nothing above changed the review.
    expect((await api('GET', `/v1/jobs/${jobA}/review`)).body.status).toBe('unreviewed');
  });

  it('records decisions, a corrected label, a missed range and active time; the numbers follow by hand', async () => {
    expect((await api('PUT', `/v1/jobs/${jobA}/segments/0/decision`, { decision: 'confirmed', label: 'player', note: 'the striker' })).body.status).toBe('in-progress');
    const missed = await api('POST', `/v1/jobs/${jobA}/missed`, { startS: 18, endS: 19.5, label: 'car' });
    expect(missed.status).toBe(201);
    expect(missed.body.missed).toMatchObject({ id: 1, startS: 18, endS: 19.5, label: 'car' });
    await api('POST', `/v1/jobs/${jobA}/review/activity`, { activeMs: 6000 });
    await api('POST', `/v1/jobs/${jobA}/review/activity`, { activeMs: 3000 });
    const { body } = await api('PUT', `/v1/jobs/${jobA}/segments/1/decision`, { decision: 'dismissed', note: 'a poster' });
    // 9 s of active review for a 20 s video: 1 - 9 / 20 = 0.55 of it saved.
    expect(body).toMatchObject({ status: 'reviewed', activeS: 9, timeSaved: 0.55, counts: { confirmed: 1, dismissed: 1, undecided: 0, missed: 1, labelCorrections: 1 } });
    expect(body.segments[0].decision).toMatchObject({ decision: 'confirmed', label: 'player', note: 'the striker' });
    expect(body.segments[1].decision).toMatchObject({ decision: 'dismissed', note: 'a poster' });

    // Job B: one segment confirmed, one dismissed, 4 s of review: 1 - 4 / 20 = 0.8.
    await api('POST', `/v1/jobs/${jobB}/review/activity`, { activeMs: 4000 });
    await api('PUT', `/v1/jobs/${jobB}/segments/0/decision`, { decision: 'confirmed' });
    expect((await api('PUT', `/v1/jobs/${jobB}/segments/1/decision`, { decision: 'dismissed' })).body).toMatchObject({ status: 'reviewed', timeSaved: 0.8 });
  });

  it('a decision can be taken back, and a missed range removed', async () => {
    const extra = await api('POST', `/v1/jobs/${jobB}/missed`, { startS: 1, endS: 2 });
    expect((await api('DELETE', `/v1/jobs/${jobB}/missed/${extra.body.missed.id}`)).body.counts.missed).toBe(0);
    expect((await api('DELETE', `/v1/jobs/${jobB}/missed/${extra.body.missed.id}`)).status).toBe(404);
    expect((await api('DELETE', `/v1/jobs/${jobB}/segments/1/decision`)).body).toMatchObject({ status: 'in-progress', timeSaved: null });
    expect((await api('PUT', `/v1/jobs/${jobB}/segments/1/decision`, { decision: 'dismissed' })).body.status).toBe('reviewed');
  });

  it('the summary adds the two reviews up', async () => {
    const { status, body } = await api('GET', `/v1/review/summary?model=${MODEL}&version=${version}`);
    expect(status).toBe(200);
    expect(body.jobs).toEqual({ reviewed: 2, inProgress: 0 });
    // 40 s of video, 13 s of review: 1 - 13 / 40; medians of (0.55, 0.8) and of (9, 4) s.
    expect(body.reviewed).toMatchObject({ videoS: 40, activeS: 13, timeSaved: 0.675 });
    expect(body.medians).toMatchObject({ timeSaved: 0.675, activeS: 6.5 });
    expect(body.decisions).toEqual({ confirmed: 2, dismissed: 2, labelCorrections: 1, missed: 1 });
    expect((await api('GET', `/v1/review/summary?model=another-model`)).body.jobs).toEqual({ reviewed: 0, inProgress: 0 });
    expect((await api('GET', `/v1/review/summary?since=2999-01-01T00:00:00Z`)).body.jobs.reviewed).toBe(0);
    expect((await api('GET', `/v1/review/summary?since=yesterday`)).status).toBe(400);
  });

  it('quality: a reviewer who dismisses half the segments puts precision (0.5) below the manifest\'s expected 0.9', async () => {
    const { status, body } = await api('GET', `/v1/models/${MODEL}/versions/${version}/quality`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      model: MODEL, version, status: 'below-expected',
      expected: { precision: 0.9, timeSavedRatio: 0.5, minDecisions: 2 },
      samples: { decisions: 4, minDecisions: 2, reviewedJobs: 2 },
      precision: 0.5,
      // One missed range in 40 s of reviewed video: 90 per video hour.
      missedPerVideoHour: 90,
      labelCorrections: 1,
      timeSaved: 0.675,
    });
    expect(body.reasons).toEqual(['precision 0.5 < 0.9']);
    expect((await api('GET', `/v1/models/${MODEL}/versions/999/quality`)).body.error.code).toBe('VERSION_NOT_FOUND');
    expect((await api('GET', `/v1/models/nope/versions/1/quality`)).body.error.code).toBe('MODEL_NOT_FOUND');
  });

  it('counts decisions and completed reviews in the metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const value = (re: RegExp) => Number(re.exec(text)?.[1]);
    expect(value(new RegExp(`framewatch_review_decisions_total\\{model="${MODEL}",version="${version}",decision="dismissed"\\} (\\d+)`))).toBe(3); // one taken back and made again
    expect(value(new RegExp(`framewatch_review_decisions_total\\{model="${MODEL}",version="${version}",decision="confirmed"\\} (\\d+)`))).toBe(2);
    expect(value(new RegExp(`framewatch_review_time_saved_ratio_count\\{model="${MODEL}",version="${version}"\\} (\\d+)`))).toBe(3); // B completed twice
  });

  it('exports a COCO dataset through the API: a COCO reader\'s checks pass and boxes match the job to the pixel', async () => {
    const res = await fetch(`${server.url}/v1/datasets/export?model=${MODEL}&format=coco`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-tar');
    expect(res.headers.get('content-disposition')).toMatch(new RegExp(`framewatch-${MODEL}-review-\\d{4}-\\d{2}-\\d{2}\\.tar`));
    const files = await untar(Buffer.from(await res.arrayBuffer()));
    const coco = JSON.parse(files.get('annotations.json')!.toString());
    checkCoco(coco, files);
    // Job A's confirmed segment 0 is the one labelled image; its label was corrected to 'player'.
    const result = (await api('GET', `/v1/jobs/${jobA}`)).body.result;
    const best = result.segments[0].bestFrame;
    const labelled = coco.images.find((i: any) => i.file_name.startsWith(`${jobA}-s0-`));
    const anns = coco.annotations.filter((a: any) => a.image_id === labelled.id);
    expect(anns).toHaveLength(best.detections.length);
    const player = coco.categories.find((c: any) => c.name === 'player');
    for (const [k, a] of anns.entries()) {
      expect(a.category_id).toBe(player.id);
      const { x, y, width, height } = best.detections[k].box;
      expect(Math.max(...a.bbox.map((v: number, j: number) => Math.abs(v - [x, y, width, height][j])))).toBeLessThan(1);
    }
    // Two confirmed segments are labelled, two dismissed ones hard negatives (images without annotations); the missed range is to label.
    expect(coco.images).toHaveLength(4);
    const negatives = coco.images.filter((i: any) => /-s1-/.test(i.file_name)).map((i: any) => i.id);
    expect(negatives).toHaveLength(2);
    expect(coco.annotations.filter((a: any) => negatives.includes(a.image_id))).toEqual([]);
    const manifest = JSON.parse(files.get('manifest.json')!.toString());
    expect(manifest).toMatchObject({ model: MODEL, format: 'coco', counts: { labelled: 2, hardNegatives: 2, toLabel: 1 } });
    expect(manifest.name).toMatch(new RegExp(`^framewatch-${MODEL}-review-\\d{4}-\\d{2}-\\d{2}$`));
    expect(manifest.jobs.map((j: any) => j.jobId).sort()).toEqual([jobA, jobB].sort());
    const toLabel = [...files.keys()].filter((f) => f.startsWith('to-label/'));
    expect(toLabel).toEqual([expect.stringMatching(new RegExp(`^to-label/${jobA}-missed1-0018750\\.jpg$`))]); // the middle of 18-19.5 s
    const meta = await sharp(files.get(`images/${labelled.file_name}`)!).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 640, 360]);
  });

  it('exports the Ultralytics YOLO layout with the CLI, from the running server', async () => {
    const out = join(dir, 'yolo');
    // Asynchronously: the server answering it runs in this process.
    const { code, stdout, stderr } = await runCli(['dataset', 'export', '--url', server.url, '--model', MODEL, '--version', String(version), '--format', 'yolo', '--out', out]);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/files written to/);
    const yaml = await readFile(join(out, 'data.yaml'), 'utf8');
    expect(yaml).toMatch(/^train: images\/train$/m);
    expect(yaml).toMatch(/^val: images\/train$/m);
    const names = [...yaml.matchAll(/^ {2}(\d+): "(.+)"$/gm)].map((m) => m[2]);
    expect(names).toContain('player');
    const images = (await readdir(join(out, 'images', 'train'))).sort();
    const labels = (await readdir(join(out, 'labels', 'train'))).sort();
    expect(labels).toEqual(images.map((f) => f.replace(/\.jpg$/, '.txt'))); // one label file per image, as Ultralytics pairs them
    const result = (await api('GET', `/v1/jobs/${jobA}`)).body.result;
    const best = result.segments[0].bestFrame;
    const lines = (await readFile(join(out, 'labels', 'train', labels.find((f) => f.startsWith(`${jobA}-s0-`))!), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(best.detections.length);
    for (const [k, line] of lines.entries()) {
      const [cls, cx, cy, w, h] = line.split(' ').map(Number);
      expect(names[cls]).toBe('player');
      const { x, y, width, height } = best.detections[k].box;
      expect(Math.abs(cx * 640 - (x + width / 2))).toBeLessThan(1);
      expect(Math.abs(cy * 360 - (y + height / 2))).toBeLessThan(1);
      expect(Math.abs(w * 640 - width)).toBeLessThan(1);
      expect(Math.abs(h * 360 - height)).toBeLessThan(1);
    }
    // Hard negatives are background images: empty label files.
    const empty = await Promise.all(labels.filter((f) => /-s1-/.test(f)).map((f) => readFile(join(out, 'labels', 'train', f), 'utf8')));
    expect(empty).toEqual(['', '']);
  });

  it('the job keeps its video for the page: the uploaded bytes, seekable with Range, and no upload left in tmp', async () => {
    const whole = await fetch(`${server.url}/v1/jobs/${jobA}/video`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('video/mp4');
    expect(Buffer.from(await whole.arrayBuffer()).equals(video)).toBe(true);
    const part = await fetch(`${server.url}/v1/jobs/${jobA}/video`, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(video.subarray(100, 200))).toBe(true);
    expect(await readdir(join(dir, 'data', 'tmp')).catch(() => [])).toEqual([]);
  });

  it('the reviews survive a restart of the server', async () => {
    await server.close();
    server = await start();
    const { body } = await api('GET', `/v1/jobs/${jobA}/review`);
    expect(body).toMatchObject({ status: 'reviewed', activeS: 9, timeSaved: 0.55, counts: { confirmed: 1, dismissed: 1, missed: 1 } });
  });
});

/** The files of a tar archive, by path. */
async function untar(tar: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const unpack = extract();
  unpack.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer)).on('end', () => {
      files.set(header.name, Buffer.concat(chunks));
      next();
    });
  });
  await pipeline(Readable.from([tar]), unpack);
  return files;
}

/** What a COCO reader (pycocotools' COCO index) relies on: unique ids, references that resolve, xywh boxes. */
function checkCoco(coco: any, files: Map<string, Buffer>) {
  for (const key of ['images', 'annotations', 'categories']) expect(Array.isArray(coco[key]), key).toBe(true);
  const imageIds = new Set(coco.images.map((i: any) => i.id));
  const categoryIds = new Set(coco.categories.map((c: any) => c.id));
  expect(imageIds.size).toBe(coco.images.length);
  expect(categoryIds.size).toBe(coco.categories.length);
  expect(new Set(coco.annotations.map((a: any) => a.id)).size).toBe(coco.annotations.length);
  for (const image of coco.images) {
    expect(Number.isInteger(image.width) && Number.isInteger(image.height)).toBe(true);
    expect(files.has(`images/${image.file_name}`), image.file_name).toBe(true);
  }
  for (const a of coco.annotations) {
    expect(imageIds.has(a.image_id)).toBe(true);
    expect(categoryIds.has(a.category_id)).toBe(true);
    expect(a.bbox).toHaveLength(4);
    expect(a.iscrowd).toBe(0);
    expect(a.area).toBeCloseTo(a.bbox[2] * a.bbox[3], 0);
  }
}

describe('a job without a result cannot be reviewed', () => {
  it('answers JOB_NOT_FINISHED (409) while the job runs', async () => {
    const { body } = await postFile(`${server.url}/v1/models/${MODEL}/predict?labels=person&mode=async`, video, 'two.mp4');
    const res = await api('PUT', `/v1/jobs/${body.jobId}/segments/0/decision`, { decision: 'confirmed' });
    // Very rarely the job has already finished; then the decision is taken.
    if (res.status !== 200) expect([res.status, res.body.error.code]).toEqual([409, 'JOB_NOT_FINISHED']);
    await fetch(`${server.url}/v1/jobs/${body.jobId}`, { method: 'DELETE' });
    // A cancelled job keeps no video.
    const kept = await fetch(`${server.url}/v1/jobs/${body.jobId}/video`);
    expect(kept.status).toBe(404);
  });
});

describe.each(['disk', 'redis'] as const)('the %s review store', (kind) => {
  let store: ReviewStore;
  let redis: TestRedis | undefined;
  let client: Redis | undefined;
  const jobId = '11111111-2222-3333-4444-555555555555';

  beforeAll(async () => {
    if (kind === 'disk') {
      store = createDiskJobStore(join(dir, 'store')).reviews;
      return;
    }
    redis = await startRedis(await mkdtemp(join(dir, 'redis-')));
    client = new Redis(redis.url);
    store = createRedisReviewStore(client, 3600);
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('keeps concurrent writes from several reviewers: none overwrites another', async () => {
    const at = new Date().toISOString();
    await Promise.all([
      ...Array.from({ length: 10 }, (_, n) => store.decide(jobId, n, { decision: n % 2 ? 'dismissed' : 'confirmed', decidedAt: at })),
      ...Array.from({ length: 5 }, (_, i) => store.addMissed(jobId, { startS: i, endS: i + 1, markedAt: at })),
      ...Array.from({ length: 8 }, () => store.addActivity(jobId, 1500)),
    ]);
    const state = await store.read(jobId);
    expect(Object.keys(state.decisions)).toHaveLength(10);
    expect(state.decisions[3].decision).toBe('dismissed');
    expect(state.missed.map((m) => m.id)).toEqual([1, 2, 3, 4, 5]);
    expect(state.activeMs).toBe(12_000);
    expect(await store.removeMissed(jobId, 3)).toBe(true);
    expect(await store.removeMissed(jobId, 3)).toBe(false);
    await store.decide(jobId, 3, undefined);
    const after = await store.read(jobId);
    expect(after.missed.map((m) => m.id)).toEqual([1, 2, 4, 5]);
    expect(after.decisions[3]).toBeUndefined();
    if (client) {
      expect(await client.ttl(`framewatch:job:${jobId}:review:decisions`)).toBeGreaterThan(3500); // expires with the job
      // The very first write to a key gets its expiry too.
      const fresh = '22222222-2222-3333-4444-555555555555';
      await store.addActivity(fresh, 1000);
      expect(await client.ttl(`framewatch:job:${fresh}:review`)).toBeGreaterThan(3500);
    }
  });

  it('an unknown job reads as an empty review', async () => {
    expect(await store.read('99999999-2222-3333-4444-555555555555')).toEqual({ decisions: {}, missed: [], activeMs: 0 });
  });

  if (kind === 'disk') {
    it('never builds a path from something that is not a job id', async () => {
      await expect(store.read('../../etc')).rejects.toThrow(RangeError);
      await expect(store.addActivity('../x', 1)).rejects.toThrow(RangeError);
    });
  }
});
