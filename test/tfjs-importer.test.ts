import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertTfjsGraph, decodeWeights, depthwiseToOihw, halfToFloat, hwioToOihw, type TfGraphModel, type TfNode } from '../src/exporter/tfjs/index.js';
import type { DecodedWeight } from '../src/exporter/tfjs/weights.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const b64 = (s: string) => Buffer.from(s).toString('base64');
const ints = (...v: number[]) => ({ list: { i: v.map(String) } });

/** Deterministic pseudo-random floats in [-1, 1). */
function random(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out[i] = (s / 2 ** 31) * 2 - 1;
  }
  return out;
}

/** A graph: Placeholder 'x' of the given NHWC shape, the nodes, and constant weights. */
function graph(inputShape: number[], nodes: TfNode[], consts: Record<string, DecodedWeight>): TfGraphModel {
  const constNodes: TfNode[] = Object.entries(consts).map(([name, w]) => ({ name, op: 'Const', attr: { dtype: { type: w.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } } }));
  return {
    nodes: [{ name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: inputShape.map((s) => ({ size: String(s) })) } } } as never }, ...constNodes, ...nodes],
    weights: new Map(Object.entries(consts)),
    sha256: '',
  };
}

const f32 = (shape: number[], seed = 3): DecodedWeight => ({ dtype: 'float32', shape, data: random(shape.reduce((a, b) => a * b, 1), seed) });
const i32 = (...v: number[]): DecodedWeight => ({ dtype: 'int32', shape: [v.length], data: Int32Array.from(v) });

async function runOnnx(model: TfGraphModel, output: string, x: Float32Array, shape: number[]) {
  const { onnx } = convertTfjsGraph(model, { outputs: [output] });
  const session = await ort.InferenceSession.create(onnx);
  const out = (await session.run({ x: new ort.Tensor('float32', x, shape) }))[output];
  await session.release();
  return { data: out.data as Float32Array, dims: [...out.dims] };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// Odd spatial sizes with stride 2 make TF's SAME padding asymmetric, where mistakes show.
const SHAPE = [1, 7, 9, 3];
const X = random(7 * 9 * 3, 11);

describe('TF.js importer: each op matches @tensorflow/tfjs', () => {
  it.each([
    ['SAME', 1], ['SAME', 2], ['VALID', 2],
  ])('_FusedConv2D %s stride %i with BiasAdd + Relu6', async (padding, stride) => {
    const filter = f32([3, 3, 3, 4], 5);
    const bias = f32([4], 6);
    const model = graph(SHAPE, [{
      name: 'y', op: '_FusedConv2D', input: ['x', 'w', 'b'],
      attr: { strides: ints(1, stride, stride, 1), padding: { s: b64(padding) }, dilations: ints(1, 1, 1, 1), data_format: { s: b64('NHWC') }, fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu6')] } }, num_args: { i: '1' } },
    }], { w: filter, b: bias });
    const got = await runOnnx(model, 'y', X, SHAPE);
    const ref = tf.clipByValue(tf.add(tf.conv2d(tf.tensor4d(X, SHAPE as never), tf.tensor4d(filter.data as Float32Array, [3, 3, 3, 4]), stride, padding.toLowerCase() as 'same'), tf.tensor1d(bias.data as Float32Array)), 0, 6);
    expect(got.dims).toEqual(ref.shape);
    expect(maxAbsDiff(got.data, ref.dataSync())).toBeLessThan(1e-5);
  });

  it.each([[1], [2]])('FusedDepthwiseConv2dNative SAME stride %i, channel multiplier 2, BiasAdd + Relu', async (stride) => {
    const filter = f32([3, 3, 3, 2], 7);
    const bias = f32([6], 8);
    const model = graph(SHAPE, [{
      name: 'y', op: 'FusedDepthwiseConv2dNative', input: ['x', 'w', 'b'],
      attr: { strides: ints(1, stride, stride, 1), padding: { s: b64('SAME') }, dilations: ints(1, 1, 1, 1), data_format: { s: b64('NHWC') }, fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } }, num_args: { i: '1' } },
    }], { w: filter, b: bias });
    const got = await runOnnx(model, 'y', X, SHAPE);
    const ref = tf.relu(tf.add(tf.depthwiseConv2d(tf.tensor4d(X, SHAPE as never), tf.tensor4d(filter.data as Float32Array, [3, 3, 3, 2]), stride, 'same'), tf.tensor1d(bias.data as Float32Array)));
    expect(got.dims).toEqual(ref.shape);
    expect(maxAbsDiff(got.data, ref.dataSync())).toBeLessThan(1e-5);
  });

  it.each([
    [false, false], [true, false], [false, true],
  ])('ResizeBilinear align_corners=%s half_pixel_centers=%s', async (alignCorners, halfPixel) => {
    const model = graph(SHAPE, [{
      name: 'y', op: 'ResizeBilinear', input: ['x', 'size'],
      attr: { align_corners: { b: alignCorners }, half_pixel_centers: { b: halfPixel } },
    }], { size: i32(12, 5) });
    const got = await runOnnx(model, 'y', X, SHAPE);
    const ref = tf.image.resizeBilinear(tf.tensor4d(X, SHAPE as never), [12, 5], alignCorners, halfPixel);
    expect(got.dims).toEqual([1, 12, 5, 3]);
    expect(maxAbsDiff(got.data, ref.dataSync())).toBeLessThan(1e-5);
  });

  it('MaxPool 3x3 SAME, Mean keep_dims, ConcatV2, Mul/Add/Sub, Sigmoid, Relu6 chained', async () => {
    const model = graph(SHAPE, [
      { name: 'pool', op: 'MaxPool', input: ['x'], attr: { ksize: ints(1, 3, 3, 1), strides: ints(1, 2, 2, 1), padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') } } },
      { name: 'mean', op: 'Mean', input: ['pool', 'axes'], attr: { keep_dims: { b: true } } },
      { name: 'scaled', op: 'Mul', input: ['pool', 'mean'] },
      { name: 'shifted', op: 'Sub', input: ['scaled', 'k'] },
      { name: 'sig', op: 'Sigmoid', input: ['shifted'] },
      { name: 'r6', op: 'Relu6', input: ['scaled'] },
      { name: 'sum', op: 'Add', input: ['sig', 'r6'] },
      { name: 'y', op: 'ConcatV2', input: ['sum', 'pool', 'axis'] },
    ], { axes: i32(1, 2), k: { dtype: 'float32', shape: [], data: new Float32Array([0.25]) }, axis: i32(3) });
    const got = await runOnnx(model, 'y', X, SHAPE);
    const x = tf.tensor4d(X, SHAPE as never);
    const pool = tf.maxPool(x, 3, 2, 'same');
    const scaled = tf.mul(pool, tf.mean(pool, [1, 2], true));
    const ref = tf.concat([tf.add(tf.sigmoid(tf.sub(scaled, 0.25)), tf.clipByValue(scaled, 0, 6)), pool], 3);
    expect(got.dims).toEqual(ref.shape);
    expect(maxAbsDiff(got.data, ref.dataSync())).toBeLessThan(1e-5);
  });

  it('fails on an unknown op, naming the op and the node', () => {
    const model = graph(SHAPE, [{ name: 'tower/weird', op: 'Erfinv', input: ['x'] }], {});
    expect(() => convertTfjsGraph(model, { outputs: ['tower/weird'] })).toThrow(/node 'tower\/weird' \(op Erfinv\).*not supported/);
  });

  it('ignores unsupported ops outside the part it was asked for', () => {
    const model = graph(SHAPE, [
      { name: 'y', op: 'Relu', input: ['x'] },
      { name: 'tail', op: 'TopKV2', input: ['y'] },
    ], {});
    expect(convertTfjsGraph(model, { outputs: ['y'] }).ops).toEqual({ Placeholder: 1, Relu: 1 });
  });
});

describe('weights', () => {
  it('decodes float16 weights', () => {
    expect([0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00].map(halfToFloat)).toEqual([1, -2, 0.333251953125, 2 ** -24, Infinity]);
    const bytes = new Uint8Array(new Uint16Array([0x3c00, 0x4200]).buffer);
    const w = decodeWeights([{ name: 'a', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' } }], bytes);
    expect([...w.get('a')!.data]).toEqual([1, 3]);
  });

  it('dequantizes uint8 weights as q * scale + min, and reads int32 after them', () => {
    const bytes = new Uint8Array([0, 10, 255, 0, 7, 0, 0, 0]);
    const w = decodeWeights([
      { name: 'q', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
      { name: 'pad', shape: [1], dtype: 'bool' },
      { name: 'i', shape: [1], dtype: 'int32' },
    ], bytes);
    expect([...w.get('q')!.data]).toEqual([-1, 4, 126.5]);
    expect([...w.get('i')!.data]).toEqual([7]);
  });

  it('rejects shards that are too short', () => {
    expect(() => decodeWeights([{ name: 'a', shape: [4], dtype: 'float32' }], new Uint8Array(8))).toThrow(/needs bytes/);
  });

  it('permutes HWIO and depthwise filters to ONNX layout', () => {
    // 1x1 kernel, 2 in, 3 out: HWIO [1,1,2,3] -> OIHW [3,2,1,1] is a transpose of the 2x3 matrix.
    expect([...hwioToOihw(Float32Array.from([1, 2, 3, 4, 5, 6]), [1, 1, 2, 3])]).toEqual([1, 4, 2, 5, 3, 6]);
    // 1x2 kernel, 1 channel, multiplier 2: [1,2,1,2] -> [2,1,1,2].
    expect([...depthwiseToOihw(Float32Array.from([1, 2, 3, 4]), [1, 2, 1, 2])]).toEqual([1, 3, 2, 4]);
  });
});
