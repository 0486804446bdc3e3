import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { warpQuad } from '../src/media/warp.js';
import { postFile, postRaw, scratchRepository, startTestServer } from './helpers/server.js';
import { editDistance } from './helpers/text-lines.js';

let dir: string;
let server: RunningServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-reader-'));
  server = await startTestServer({ modelsDir: 'models', dataDir: join(dir, 'data') });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A 900x420 sign board: three lines at known places, the last turned 6 degrees. */
const LINES = [
  { text: 'PLATFORM 9', x: 60, y: 90, size: 48, rotate: 0 },
  { text: 'Trains to Berlin 14:05', x: 60, y: 190, size: 36, rotate: 0 },
  { text: 'Exit via gate B', x: 80, y: 320, size: 40, rotate: -6 },
];
async function signBoard(): Promise<Buffer> {
  const texts = LINES.map((l) => `<text x="${l.x}" y="${l.y}" font-family="DejaVu Sans" font-size="${l.size}" fill="#fff" transform="rotate(${l.rotate} ${l.x} ${l.y})">${l.text}</text>`);
  return sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="900" height="420"><rect width="100%" height="100%" fill="#183a6b"/>${texts.join('')}</svg>`)).png().toBuffer();
}

describe('the text-reader pipeline (text-detector, then text-recognizer on each warped quad)', () => {
  it('reads every line where it is, the turned one too; detections gain text and textScore', async () => {
    const { status, body } = await postRaw(`${server.url}/v1/models/text-reader/predict`, await signBoard(), 'image/png');
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.model).toEqual({ name: 'text-reader', version: 1, kind: 'pipeline' });
    expect(body.steps.map((s: any) => `${s.model}@${s.version}`)).toEqual(['text-detector@2', 'text-recognizer@1']);
    for (const line of LINES) {
      // The detection whose box holds the line's start point, read within one character.
      const hit = body.detections.find((d: any) => d.box.x <= line.x + 10 && d.box.x + d.box.width >= line.x + 10 && d.box.y <= line.y && d.box.y + d.box.height >= line.y - line.size / 2);
      expect(hit, `${line.text}: ${JSON.stringify(body.detections.map((d: any) => [d.text, d.box]))}`).toBeDefined();
      expect(editDistance(hit.text, line.text), `${line.text} read as ${hit.text}`).toBeLessThanOrEqual(1);
      expect(hit.textScore).toBeGreaterThan(0.5);
    }
    const turned = body.detections.find((d: any) => d.text?.includes('gate'));
    expect(turned.polygon[1].y).toBeLessThan(turned.polygon[0].y - 10); // a rotated quad, not a box
  });

  it('is listed as a pipeline with its pinned steps, and counted per step in the metrics', async () => {
    const model = await (await fetch(`${server.url}/v1/models/text-reader`)).json();
    expect(model.versions[0]).toMatchObject({ version: 1, status: 'READY', kind: 'pipeline', steps: [{ model: 'text-detector', version: 2 }, { model: 'text-recognizer', version: 1, crop: 'quad' }] });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/framewatch_pipeline_step_duration_seconds_count\{pipeline="text-reader",version="1",step="text-recognizer"\} [1-9]/);
    expect(text).toMatch(/framewatch_pipeline_duration_seconds_count\{pipeline="text-reader",version="1"\} [1-9]/);
  });

  it('takes the threshold from the query or a multipart field alike, and feeds its first step\'s drift window', async () => {
    const page = await readFile('test/fixtures/imageTextN.png');
    const url = `${server.url}/v1/models/text-reader/predict`;
    const samples = async () => ((await (await fetch(`${server.url}/v1/models/text-detector/versions/2/drift`)).json()) as any).samples;
    const before = await samples();
    const all = await postFile(url, page, 'page.png', 'image/png');
    const [byQuery, byField] = await Promise.all([postFile(`${url}?threshold=0.99`, page, 'page.png', 'image/png'), postFile(url, page, 'page.png', 'image/png', { threshold: '0.99' })]);
    expect(byQuery.body.detections.length).toBeLessThan(all.body.detections.length);
    expect(byField.body.detections.map((d: any) => d.box)).toEqual(byQuery.body.detections.map((d: any) => d.box));
    for (const d of byField.body.detections) expect(d.score).toBeGreaterThanOrEqual(0.99);
    // Both sent: the field wins, as for video options.
    const both = await postFile(`${url}?threshold=0.05`, page, 'page.png', 'image/png', { threshold: '0.99' });
    expect(both.body.detections.map((d: any) => d.box)).toEqual(byQuery.body.detections.map((d: any) => d.box));
    expect((await postFile(url, page, 'page.png', 'image/png', { threshold: '7' })).body.error.code).toBe('INVALID_INPUT');
    // A blank field (a form left empty) is not given: the query's threshold stands.
    const blank = await postFile(`${url}?threshold=0.99`, page, 'page.png', 'image/png', { threshold: ' ' });
    expect(blank.body.detections.map((d: any) => d.box)).toEqual(byQuery.body.detections.map((d: any) => d.box));
    expect(await samples()).toBe(before + 5);
  });

  it('KServe v2 serves single models only: the pipeline is refused there with a pointer to /predict', async () => {
    const res = await fetch(`${server.url}/v2/models/text-reader/infer`, { method: 'POST', body: '{"inputs":[]}', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(404);
    expect(JSON.stringify(await res.json())).toMatch(/is a pipeline.*\/v1\/models\/text-reader\/predict/);
  });
});

describe('a pipeline whose step version is missing', () => {
  it('is FAILED with the reason while every model still serves; labels pick pipeline versions', async () => {
    const repo = await scratchRepository(['text-detector', 'text-recognizer']);
    const manifest = JSON.parse(await readFile('models/text-reader/1/manifest.json', 'utf8'));
    await mkdir(join(repo.dir, 'text-reader', '2'), { recursive: true });
    await writeFile(join(repo.dir, 'text-reader', '2', 'manifest.json'), JSON.stringify({ ...manifest, version: 2 }));
    await writeFile(join(repo.dir, 'text-reader', 'labels.json'), JSON.stringify({ stable: 2, broken: 1 }));
    await mkdir(join(repo.dir, 'text-reader', '1'), { recursive: true });
    manifest.steps[1].version = 7;
    await writeFile(join(repo.dir, 'text-reader', '1', 'manifest.json'), JSON.stringify(manifest));
    const admin = 'an-admin-token-0123456789';
    const other = await startTestServer({ modelsDir: repo.dir, dataDir: join(dir, 'data-failed'), adminToken: admin });
    try {
      const model = await (await fetch(`${other.url}/v1/models/text-reader`)).json();
      expect(model.versions[0]).toMatchObject({ version: 1, status: 'FAILED', reason: 'step text-recognizer@7 is not in the repository' });
      expect(model.versions[1]).toMatchObject({ version: 2, status: 'READY' });
      const { status, body } = await postRaw(`${other.url}/v1/models/text-reader/versions/1/predict`, await signBoard(), 'image/png');
      expect([status, body.error.code]).toEqual([503, 'MODEL_NOT_READY']);
      expect(JSON.stringify(body.error.details)).toMatch(/text-recognizer@7 is not in the repository/);
      const board = await signBoard();
      expect((await postRaw(`${other.url}/v1/models/text-reader/labels/stable/predict`, board, 'image/png')).body.model).toEqual({ name: 'text-reader', version: 2, kind: 'pipeline' });
      expect((await postRaw(`${other.url}/v1/models/text-reader/labels/broken/predict`, board, 'image/png')).body.error.code).toBe('MODEL_NOT_READY');
      expect((await postRaw(`${other.url}/v1/models/text-reader/labels/nope/predict`, board, 'image/png')).body.error.code).toBe('VERSION_NOT_FOUND');
      // The pipeline follows its steps: a step unloaded makes it FAILED, loaded again READY.
      const manage = (action: string) => fetch(`${other.url}/v1/models/text-recognizer/versions/1/${action}`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } });
      const state = async () => (await (await fetch(`${other.url}/v1/models/text-reader`)).json()).versions[1];
      expect((await manage('unload')).status).toBe(200);
      expect(await state()).toMatchObject({ status: 'FAILED', reason: 'step text-recognizer@1 is UNLOADED' });
      expect((await manage('load')).status).toBeLessThan(300);
      await expect.poll(async () => (await state()).status, { timeout: 30_000 }).toBe('READY');
      expect((await postRaw(`${other.url}/v1/models/text-detector/predict`, await signBoard(), 'image/png')).status).toBe(200);
      expect((await postRaw(`${other.url}/v1/models/text-recognizer/predict`, await signBoard(), 'image/png')).status).toBe(200);
    } finally {
      await other.close();
      await repo.remove();
    }
  });
});

describe('warping a quad upright', () => {
  it('maps the quad\'s corners to the crop\'s corners, and turns a tall crop 90 degrees', () => {
    // A 100x100 picture whose red channel is x and green channel is y.
    const data = new Uint8Array(100 * 100 * 3);
    for (let y = 0; y < 100; y++) for (let x = 0; x < 100; x++) data.set([x, y, 0], (y * 100 + x) * 3);
    const image = { data, width: 100, height: 100 };
    const crop = warpQuad(image, [{ x: 20, y: 30 }, { x: 80, y: 30 }, { x: 80, y: 50 }, { x: 20, y: 50 }]);
    expect([crop.width, crop.height]).toEqual([60, 20]);
    const px = (c: typeof crop, x: number, y: number) => [...c.data.subarray((y * c.width + x) * 3, (y * c.width + x) * 3 + 2)];
    expect(px(crop, 0, 0)).toEqual([20, 30]);
    expect(px(crop, 59, 19)).toEqual([79, 49]);
    const tall = warpQuad(image, [{ x: 10, y: 10 }, { x: 30, y: 10 }, { x: 30, y: 70 }, { x: 10, y: 70 }]);
    expect([tall.width, tall.height]).toEqual([60, 20]);
  });
});
