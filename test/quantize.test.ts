import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { preprocessSpecSchema, type ModelInput } from '../preprocessing/index.js';
import { FramewatchError } from '../src/errors/index.js';
import { createOnnxBuilder } from '../src/exporter/onnx/builder.js';
import { calibrateRanges, quantizeQdq, type ActivationRanges } from '../src/exporter/onnx/quantize.js';
import { loadImage } from '../src/media/image.js';
import { centernetDetection, centernetParamsSchema } from '../src/tasks/centernet-detection.js';
import { iou } from '../src/tasks/geometry.js';

const DIR = 'models/object-detector/2';
const manifest = JSON.parse(await readFile(`${DIR}/manifest.json`, 'utf8'));
const spec = preprocessSpecSchema.parse(manifest.preprocessing);
const params = centernetParamsSchema.parse(manifest.postprocessing);
const feed = (input: ModelInput) => ({ image: new ort.Tensor(input.dtype, input.data, [...input.dims]) });
const load = async (path: string) => (await loadImage(await readFile(path), spec, { maxPixels: 40e6 })).input;
const opTypes = (bytes: Uint8Array) => onnxProto.onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType);

async function detect(model: Uint8Array, input: ModelInput, options: ort.InferenceSession.SessionOptions = {}) {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3, ...options });
  try {
    const outputs = await session.run(feed(input));
    return centernetDetection.postprocess({ outputs: outputs as never, outputNames: session.outputNames, transform: input.transform, params, labels: manifest.labels });
  } finally {
    await session.release();
  }
}

describe('int8 QDQ quantization of the bundled object detector', () => {
  let model: Uint8Array;
  let ranges: ActivationRanges;
  let int8: Uint8Array;
  beforeAll(async () => {
    model = new Uint8Array(await readFile(`${DIR}/model.onnx`));
    ranges = await calibrateRanges(model, [feed(await load(`${DIR}/${manifest.golden[0].input}`))]);
    int8 = quantizeQdq(model, ranges, { activations: 'u8', perChannel: true });
  }, 30_000);

  it('calibrates ranges rounded to 6 significant digits, the pixels at 0..255', () => {
    expect(Object.keys(ranges).length).toBeGreaterThan(80);
    for (const { min, max } of Object.values(ranges)) {
      expect(min).toBe(Number(min.toPrecision(6)));
      expect(max).toBe(Number(max.toPrecision(6)));
      expect(min).toBeLessThanOrEqual(max);
    }
    expect(Object.values(ranges)[0]).toEqual({ min: 0, max: 255 });
  });

  it('writes a QDQ graph that ORT fuses into QLinearConv, and whose arithmetic finds the confident person in basketball1.png where float32 does', async () => {
    const ops = opTypes(int8);
    expect(ops).toContain('QuantizeLinear');
    expect(ops).toContain('DequantizeLinear');
    const photo = await load('test/fixtures/basketball1.png');
    const dir = await mkdtemp(join(tmpdir(), 'framewatch-int8-'));
    try {
      const fused = await detect(int8, photo, { optimizedModelFilePath: join(dir, 'optimized.onnx') });
      const optimized = opTypes(new Uint8Array(await readFile(join(dir, 'optimized.onnx'))));
      expect(optimized.filter((op) => op === 'QLinearConv').length).toBe(opTypes(model).filter((op) => op === 'Conv').length);
      // The quantization itself is judged on the QDQ graph as written (basic optimization
      // keeps each DequantizeLinear and runs the Conv in float: the int8 values' arithmetic,
      // the same on every CPU). The fused int8 kernels' results depend on the CPU's int8
      // instructions: on the AMD EPYC (AVX2, no VNNI) of 2026-12-04 they find this person at
      // 0.39 (IoU 0.85), where the QDQ arithmetic gives 0.65 (IoU 0.92) and float32 0.78;
      // tune's parity check is what keeps such a variant out (bench/RESULTS.md).
      const written = await detect(int8, photo, { graphOptimizationLevel: 'basic' });
      const float = await detect(model, photo);
      const person = (found: typeof float) => found.filter((d) => d.label === 'person').map((d) => ({ score: Number(d.score.toFixed(2)), box: d.box }));
      console.log(`int8 on basketball1.png: ${JSON.stringify({ float: person(float).map((p) => p.score), qdq: person(written).map((p) => p.score), fused: person(fused).map((p) => p.score) })}`);
      // The confident people: one below threshold + 0.05 may fall on either side (the bench's
      // parity rule). basketball1.png has one at 0.78 and one at 0.32.
      const people = float.filter((d) => d.label === 'person' && d.score >= params.scoreThreshold + 0.05);
      expect(people.length).toBeGreaterThan(0);
      for (const p of people) {
        const best = Math.max(0, ...written.filter((d) => d.label === 'person').map((d) => iou(d.box, p.box)));
        expect(best, `person at ${JSON.stringify(p.box)}`).toBeGreaterThanOrEqual(0.9);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is deterministic: the same model and ranges give the same bytes', () => {
    expect(Buffer.from(quantizeQdq(model, ranges, { activations: 'u8', perChannel: true })).equals(Buffer.from(int8))).toBe(true);
  });

  it('refuses a model with nothing to quantize (no Conv) with EXPORT_FAILED', () => {
    const b = createOnnxBuilder('no-conv');
    b.input('x', 'float32', [1, 4]);
    b.node('Relu', ['x'], ['y']);
    b.output('y', 'float32', [1, 4]);
    const bytes = b.encode({ opset: 13, producer: 'test' });
    const attempt = () => quantizeQdq(bytes, { x: { min: -1, max: 1 }, y: { min: 0, max: 1 } }, { activations: 'u8', perChannel: true });
    expect(attempt).toThrow(FramewatchError);
    expect(attempt).toThrow(expect.objectContaining({ code: 'EXPORT_FAILED' }));
  });
});
