import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPreprocessing, preprocessSpecSchema, withoutFolding } from '../preprocessing/index.js';
import type { RunningServer } from '../src/cli/serve.js';
import { resolvePackageFile } from '../src/exporter/index.js';
import { convertTfjsGraph, readTfjsGraphModel } from '../src/exporter/tfjs/index.js';
import { decodeImage } from '../src/media/image.js';
import { centernetDetection, centernetParamsSchema } from '../src/tasks/centernet-detection.js';
import { iou } from '../src/tasks/geometry.js';
import { loadTfjsReference, runTfjsReference } from './helpers/tfjs-reference.js';
import { postFile, startTestServer } from './helpers/server.js';

const OUTPUTS = ['tower_0/keypoints', 'tower_0/wh'];

describe('CenterNet converted from TF.js: parity with @tensorflow/tfjs', () => {
  it('matches raw outputs (heatmap within 1e-5; sizes allclose atol 1e-3, rtol 1e-5) and detections (same labels, IoU >= 0.95) on messi5.jpg', async () => {
    const modelJson = resolvePackageFile('@vladmandic/human', 'models/centernet.json');
    const manifest = JSON.parse(await readFile('models/object-detector/2/manifest.json', 'utf8'));
    const image = await decodeImage(await readFile('test/fixtures/messi5.jpg'), { maxPixels: 40e6 });
    // The raw converted graph takes float32 0-255, as the TF.js model does.
    const input = await applyPreprocessing(image, withoutFolding(preprocessSpecSchema.parse(manifest.preprocessing)));

    const converted = convertTfjsGraph(await readTfjsGraphModel(modelJson), { outputs: OUTPUTS, dynamicBatch: true });
    const session = await ort.InferenceSession.create(converted.onnx);
    const ours = await session.run({ 'tower_0/images': new ort.Tensor('float32', input.data as Float32Array, [...input.dims]) });
    await session.release();
    const reference = await runTfjsReference(await loadTfjsReference(modelJson), input.data as Float32Array, [...input.dims], OUTPUTS);

    // numpy.allclose(atol=1e-3, rtol=1e-5): the heatmap is a probability and meets 1e-3
    // absolute by far; the size map is in pixels (up to ~275), where float32 summation order
    // alone moves values by ~1e-5 relative (measured max abs diff ~1.2e-3 px).
    for (const name of OUTPUTS) {
      const a = ours[name].data as Float32Array;
      const b = reference[name].data;
      expect([...ours[name].dims]).toEqual(reference[name].dims);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) - 1e-5 * Math.abs(b[i]));
      expect(worst, `${name}: |ours - tfjs| - 1e-5 * |tfjs|`).toBeLessThanOrEqual(1e-3);
    }
    let heatmapDiff = 0;
    const heat = ours[OUTPUTS[0]].data as Float32Array;
    for (let i = 0; i < heat.length; i++) heatmapDiff = Math.max(heatmapDiff, Math.abs(heat[i] - reference[OUTPUTS[0]].data[i]));
    expect(heatmapDiff).toBeLessThanOrEqual(1e-5);

    const decode = (outputs: Record<string, { data: ArrayLike<number>; dims: readonly number[] }>) =>
      centernetDetection.postprocess({ outputs, outputNames: OUTPUTS, transform: input.transform, params: centernetParamsSchema.parse({}), labels: manifest.labels });
    const mine = decode(ours as never);
    const theirs = decode(reference);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.map((d) => d.label)).toEqual(theirs.map((d) => d.label));
    mine.forEach((d, i) => expect(iou(d.box, theirs[i].box)).toBeGreaterThanOrEqual(0.95));
  });
});

describe('the bundled graph: uint8 input and the peak search in ONNX', () => {
  it('gives the same detections as the raw converted graph decoded in JS, on six photos', async () => {
    const manifest = JSON.parse(await readFile('models/object-detector/2/manifest.json', 'utf8'));
    const spec = preprocessSpecSchema.parse(manifest.preprocessing);
    expect(spec.normalizeInModel).toBe(true);
    const raw = await ort.InferenceSession.create(convertTfjsGraph(await readTfjsGraphModel(resolvePackageFile('@vladmandic/human', 'models/centernet.json')), { outputs: OUTPUTS, dynamicBatch: true }).onnx);
    const bundled = await ort.InferenceSession.create('models/object-detector/2/model.onnx');
    expect(bundled.inputNames).toEqual(['image']);
    expect(bundled.outputNames).toEqual(['peaks/scores', 'peaks/indices', 'tower_0/wh']);
    const params = centernetParamsSchema.parse(manifest.postprocessing);
    let total = 0;
    for (const file of ['messi5.jpg', 'basketball1.png', 'fruits.jpg', 'home.jpg', 'licenseplate_motion.jpg', 'imageTextN.png']) {
      const image = await decodeImage(await readFile(`test/fixtures/${file}`), { maxPixels: 40e6 });
      const fed = await applyPreprocessing(image, spec);
      expect(fed.dtype).toBe('uint8');
      expect(fed.data).toBeInstanceOf(Uint8Array);
      const float = await applyPreprocessing(image, withoutFolding(spec));
      const decode = async (session: ort.InferenceSession, input: typeof fed) => {
        const outputs = await session.run({ [session.inputNames[0]]: new ort.Tensor(input.dtype, input.data, [...input.dims]) });
        return centernetDetection.postprocess({ outputs: outputs as never, outputNames: session.outputNames, transform: input.transform, params, labels: manifest.labels });
      };
      const inGraph = await decode(bundled, fed);
      const inJs = await decode(raw, float);
      expect(inGraph.map((d) => d.label), file).toEqual(inJs.map((d) => d.label));
      inGraph.forEach((d, i) => {
        expect(Math.abs(d.score - inJs[i].score)).toBeLessThan(1e-5);
        expect(iou(d.box, inJs[i].box)).toBeGreaterThan(0.999);
      });
      total += inGraph.length;
    }
    expect(total).toBeGreaterThan(10);
    await raw.release();
    await bundled.release();
  });
});

describe('object-detector on real photos over HTTP', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({ modelsDir: 'models' });
  });
  afterAll(() => server?.close());

  const detect = async (file: string) => {
    const bytes = await readFile(`test/fixtures/${file}`);
    const { status, body } = await postFile(`${server.url}/v1/models/object-detector/predict`, bytes, file);
    expect(status).toBe(200);
    return body as { image: { width: number; height: number }; detections: { label: string; score: number; box: { x: number; y: number; width: number; height: number } }[] };
  };
  const centre = (b: { x: number; y: number; width: number; height: number }) => ({ x: b.x + b.width / 2, y: b.y + b.height / 2 });

  it('messi5.jpg: the player and the ball', async () => {
    const { detections } = await detect('messi5.jpg');
    const player = detections.filter((d) => d.label === 'person').sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)[0];
    const ball = detections.find((d) => d.label === 'sports ball');
    expect(player).toBeDefined();
    expect(ball).toBeDefined();
    // The player fills the middle of the frame; the ball is small, low and right of centre.
    expect(centre(player.box).x).toBeGreaterThan(150);
    expect(centre(player.box).x).toBeLessThan(400);
    expect(player.box.height).toBeGreaterThan(150);
    expect(ball!.box.width).toBeLessThan(100);
    expect(centre(ball!.box).y).toBeGreaterThan(250);
  });

  it('basketball1.png: two people, one on each side', async () => {
    const people = (await detect('basketball1.png')).detections.filter((d) => d.label === 'person');
    expect(people.length).toBeGreaterThanOrEqual(2);
    const xs = people.map((p) => centre(p.box).x).sort((a, b) => a - b);
    expect(xs[0]).toBeLessThan(320);
    expect(xs[xs.length - 1]).toBeGreaterThan(320);
  });

  it('licenseplate_motion.jpg: a car', async () => {
    const car = (await detect('licenseplate_motion.jpg')).detections.find((d) => d.label === 'car');
    expect(car).toBeDefined();
    expect(car!.box.width).toBeGreaterThan(200);
  });

  it.each(['fruits.jpg', 'home.jpg'])('%s: no person above the threshold', async (file) => {
    const { detections } = await detect(file);
    expect(detections.filter((d) => d.label === 'person')).toEqual([]);
    expect(detections.length).toBeGreaterThan(0); // the fruit, the furniture: the threshold loop below has items
    for (const d of detections) expect(d.score).toBeGreaterThanOrEqual(0.3);
  });

  it('an EXIF-rotated JPEG (pixels stored sideways, orientation 6) is read upright: same size, the player where he stands', async () => {
    const upright = await detect('messi5.jpg');
    const sideways = await sharp(await readFile('test/fixtures/messi5.jpg')).rotate(270).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
    expect((await sharp(sideways).metadata()).width).toBe(342); // stored 342 wide, shown 548 wide
    const { status, body } = await postFile(`${server.url}/v1/models/object-detector/predict`, sideways, 'sideways.jpg');
    expect(status).toBe(200);
    expect(body.image).toEqual({ width: 548, height: 342 });
    const biggest = (ds: typeof upright.detections) => ds.filter((d) => d.label === 'person').sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)[0];
    expect(iou(biggest(body.detections).box, biggest(upright.detections).box)).toBeGreaterThan(0.8);
  });

  it('boxes stay inside the image', async () => {
    const { image, detections } = await detect('messi5.jpg');
    expect(detections.length).toBeGreaterThan(0);
    for (const d of detections) {
      expect(d.box.x).toBeGreaterThanOrEqual(0);
      expect(d.box.y).toBeGreaterThanOrEqual(0);
      expect(d.box.x + d.box.width).toBeLessThanOrEqual(image.width);
      expect(d.box.y + d.box.height).toBeLessThanOrEqual(image.height);
    }
  });
});
