import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreprocessSpec } from '../preprocessing/index.js';
import type { RunningServer } from '../src/cli/serve.js';
import { exportModel } from '../src/exporter/index.js';
import { parseNamesProperty } from '../src/exporter/onnx/metadata.js';
import { loadImage } from '../src/media/image.js';
import { postRaw, startTestServer } from './helpers/server.js';
import { rawYoloOutput, writeYoloFixture } from './helpers/yolo-fixtures.js';

// A 1280x720 frame letterboxed to 640: scale 0.5, 140 px of padding above and below.
// Source box (x, y, w, h) -> model cx = (x + w/2) / 2, cy = (y + h/2) / 2 + 140.
const LETTERBOX = { resize: { mode: 'letterbox', width: 640, height: 640, padValue: 114 }, channelOrder: 'rgb', scale: 1 / 255, layout: 'nchw' } as const;

let dir: string;
let server: RunningServer;
let frame: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-yolo-'));
  frame = await sharp({ create: { width: 1280, height: 720, channels: 3, background: { r: 40, g: 90, b: 160 } } }).png().toBuffer();
  await writeFile(join(dir, 'frame.png'), frame);

  const raw = rawYoloOutput(3, [
    { cx: 100, cy: 215, w: 100, h: 50, cls: 0, score: 0.9 }, // person at source (100, 100, 200, 100)
    { cx: 102, cy: 216, w: 100, h: 50, cls: 0, score: 0.8 }, // same person again: NMS removes it
    { cx: 100, cy: 215, w: 100, h: 50, cls: 1, score: 0.85 }, // a car on the same spot: another class, kept
    { cx: 300, cy: 300, w: 50, h: 50, cls: 2, score: 0.2 }, // below the 0.25 default
    { cx: 400, cy: 300, w: 60, h: 40, cls: 2, score: 0.5 }, // dog at source (740, 280, 120, 80)
  ]);
  await writeYoloFixture(join(dir, 'raw.onnx'), raw, [1, 7, 5], "{0: 'person', 1: 'car', 2: 'dog'}");

  const e2e = new Float32Array(300 * 6);
  e2e.set([50, 190, 150, 240, 0.9, 0], 0); // person at source (100, 100, 200, 100)
  e2e.set([370, 280, 430, 320, 0.6, 2], 6); // dog at source (740, 280, 120, 80)
  e2e.set([10, 150, 20, 160, 0.1, 1], 12); // below threshold
  await writeYoloFixture(join(dir, 'e2e.onnx'), e2e, [1, 300, 6], "{0: 'person', 1: 'car', 2: 'dog'}");

  const decode = (b: Uint8Array, spec: PreprocessSpec) => loadImage(b, spec, { maxPixels: 40e6 });
  const common = { modelsDir: join(dir, 'models'), task: 'yolo-detection', project: 'yolo-users', preprocessing: LETTERBOX, golden: [join(dir, 'frame.png')], decode };
  await exportModel({ ...common, sourcePath: join(dir, 'raw.onnx'), name: 'yolo-raw' });
  await exportModel({ ...common, sourcePath: join(dir, 'e2e.onnx'), name: 'yolo-e2e' });
  server = await startTestServer({ modelsDir: join(dir, 'models') });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const predict = async (name: string, query = '') => {
  const res = await postRaw(`${server.url}/v1/models/${name}/predict${query}`, frame, 'image/png');
  expect(res.status).toBe(200);
  return res.body.detections as Array<{ label: string; classId: number; score: number; box: object }>;
};

describe('YOLO (Ultralytics) layouts', () => {
  it('raw [1, 4+nc, N]: decodes, keeps the best per class, maps the letterbox back to source pixels', async () => {
    const dets = await predict('yolo-raw');
    expect(dets.map((d) => [d.label, d.score]).map(([l, s]) => [l, Number((s as number).toFixed(2))])).toEqual([
      ['person', 0.9],
      ['car', 0.85],
      ['dog', 0.5],
    ]);
    expect(dets[0].box).toEqual({ x: 100, y: 100, width: 200, height: 100 });
    expect(dets[1].box).toEqual({ x: 100, y: 100, width: 200, height: 100 });
    expect(dets[2].box).toEqual({ x: 740, y: 280, width: 120, height: 80 });
  });

  it('raw: the threshold query lets the low-score dog through', async () => {
    const dets = await predict('yolo-raw', '?threshold=0.1');
    expect(dets.map((d) => d.label).sort()).toEqual(['car', 'dog', 'dog', 'person']);
  });

  it('end-to-end [1, 300, 6]: reads x1, y1, x2, y2, score, class', async () => {
    const dets = await predict('yolo-e2e');
    expect(dets).toEqual([
      { label: 'person', classId: 0, score: expect.closeTo(0.9, 5), box: { x: 100, y: 100, width: 200, height: 100 } },
      { label: 'dog', classId: 2, score: expect.closeTo(0.6, 5), box: { x: 740, y: 280, width: 120, height: 80 } },
    ]);
  });

  it('takes labels from the ONNX metadata `names`', async () => {
    const models = (await (await fetch(`${server.url}/v1/models/yolo-raw`)).json()) as any;
    expect(models.versions[0]).toMatchObject({ status: 'READY', task: 'yolo-detection', labelCount: 3 });
    expect(parseNamesProperty(`{0: 'person', 1: "traffic light", 2: 'it\\'s'}`)).toEqual(['person', 'traffic light', "it's"]);
    expect(parseNamesProperty(undefined)).toBeUndefined();
  });
});
