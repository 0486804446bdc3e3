import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { iou } from '../src/tasks/geometry.js';
import { blankPng, renderText } from './helpers/images.js';
import { postFile, postRaw, startTestServer } from './helpers/server.js';

let server: RunningServer;
let predictUrl: string;

beforeAll(async () => {
  server = await startTestServer({ modelsDir: 'models' });
  predictUrl = `${server.url}/v1/models/text-detector/predict`;
});
afterAll(() => server?.close());

describe('text-detector over HTTP (real PP-OCRv4 inference)', () => {
  it('puts a box on text rendered at a known position (IoU >= 0.5)', async () => {
    const { png, box } = await renderText(640, 480, 'framewatch review', 120, 300, 36);
    const { status, body } = await postFile(predictUrl, png, 'text.png', 'image/png');
    expect(status).toBe(200);
    expect(body.image).toEqual({ width: 640, height: 480 });
    const best = Math.max(...body.detections.map((d: any) => iou(d.box, box)));
    expect(best).toBeGreaterThanOrEqual(0.5);
    const hit = body.detections.find((d: any) => iou(d.box, box) === best);
    expect(hit.label).toBe('text');
    expect(hit.polygon).toHaveLength(4);
  });

  it('finds nothing on a blank image', async () => {
    const { status, body } = await postRaw(predictUrl, await blankPng(640, 480), 'image/png');
    expect(status).toBe(200);
    expect(body.detections).toEqual([]);
  });

  it('finds at least 11 of the 13 lines of a scanned page, each as its own box', async () => {
    const page = await readFile('test/fixtures/imageTextN.png');
    const { status, body } = await postRaw(predictUrl, page, 'image/png');
    expect(status).toBe(200);
    // A line box is about one text line tall: no box may swallow two lines (line pitch ~18 px).
    const lines = body.detections.filter((d: any) => d.box.height >= 8 && d.box.height <= 26 && d.box.width > 100);
    expect(lines.length).toBeGreaterThanOrEqual(11);
    const centres = lines.map((d: any) => d.box.y + d.box.height / 2).sort((a: number, b: number) => a - b);
    for (let i = 1; i < centres.length; i++) expect(centres[i] - centres[i - 1]).toBeGreaterThan(8);
    expect(body.timings.totalMs).toBeGreaterThan(0);
  });

  it('honours the threshold query: 0.99 keeps fewer boxes than the default', async () => {
    const page = await readFile('test/fixtures/imageTextN.png');
    const all = await postRaw(predictUrl, page, 'image/png');
    const strict = await postRaw(`${predictUrl}?threshold=0.99`, page, 'image/png');
    expect(strict.body.detections.length).toBeLessThan(all.body.detections.length);
    expect(strict.body.detections.length).toBeGreaterThan(0);
    for (const d of strict.body.detections) expect(d.score).toBeGreaterThanOrEqual(0.99);
  });

  it('serves a pinned version at /versions/2/predict', async () => {
    const { png } = await renderText(320, 120, 'v1', 40, 80, 40);
    const { status, body } = await postFile(`${server.url}/v1/models/text-detector/versions/2/predict`, png, 'v1.png', 'image/png');
    expect(status).toBe(200);
    expect(body.model).toEqual({ name: 'text-detector', version: 2 });
  });
});

describe('text-detector preprocessing', () => {
  it('feeds BGR with ImageNet mean/std in index order, as PaddleOCR does (cv2 BGR + NormalizeImage)', async () => {
    const { readFile: read } = await import('node:fs/promises');
    const { applyPreprocessing, preprocessSpecSchema, withoutFolding } = await import('../preprocessing/index.js');
    const manifest = JSON.parse(await read('models/text-detector/2/manifest.json', 'utf8'));
    // The bundled graph does this itself (normalizeInModel; the exporter proves the graph
    // equal to the source model fed this tensor); this pins the spec's convention.
    const spec = withoutFolding(preprocessSpecSchema.parse(manifest.preprocessing));
    // One 32x32 image of a single colour: R=200, G=100, B=50.
    const pixels = new Uint8Array(32 * 32 * 3);
    for (let i = 0; i < pixels.length; i += 3) pixels.set([200, 100, 50], i);
    const input = await applyPreprocessing({ data: pixels, width: 32, height: 32 }, spec);
    const plane = 32 * 32;
    expect(input.dims).toEqual([1, 3, 32, 32]);
    expect(input.data[0]).toBeCloseTo((50 / 255 - 0.485) / 0.229, 5); // B first
    expect(input.data[plane]).toBeCloseTo((100 / 255 - 0.456) / 0.224, 5);
    expect(input.data[2 * plane]).toBeCloseTo((200 / 255 - 0.406) / 0.225, 5);
  });
});
