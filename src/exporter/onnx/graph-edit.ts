// Edits an exported ONNX graph: a normalization head in front of its input, and (for
// CenterNet) the peak-finding tail behind its heatmap. Both are plain ONNX ops, so the
// model file stays self-contained and any ONNX runtime replays them exactly.
import onnxProto from 'onnx-proto';
import type { PreprocessSpec } from '../../../preprocessing/index.js';
import { FramewatchError } from '../../errors/index.js';
import { PEAK_INDICES_OUTPUT, PEAK_SCORES_OUTPUT } from '../../tasks/index.js';
import { elemTypeCode, elemTypeOf, toAttribute, type Attr, type TensorData } from './builder.js';

const { onnx } = onnxProto;
type Graph = onnxProto.onnx.IGraphProto;
type Dim = onnxProto.onnx.TensorShapeProto.IDimension;

/** Name of the uint8 NHWC RGB input that a normalization head adds. */
export const IMAGE_INPUT = 'image';

function editor(graph: Graph, prefix: string) {
  const added: onnxProto.onnx.INodeProto[] = [];
  return {
    added,
    node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, Attr> = {}) {
      added.push({ opType, name: `${prefix}/${outputs[0]}`, input: inputs, output: outputs, attribute: Object.entries(attrs).map(([k, v]) => toAttribute(k, v)) });
    },
    constant(name: string, data: TensorData, dims: number[]): string {
      graph.initializer = [...(graph.initializer ?? []), {
        name, dataType: elemTypeCode(elemTypeOf(data)), dims, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(),
      }];
      return name;
    },
  };
}

const tensorValueInfo = (name: string, elemType: number, dims: Dim[]): onnxProto.onnx.IValueInfoProto => ({
  name, type: { tensorType: { elemType, shape: { dim: dims } } },
});

function decode(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  const model = onnx.ModelProto.decode(bytes);
  if (!model.graph) throw new FramewatchError('EXPORT_FAILED', 'the ONNX file has no graph');
  return model;
}

/**
 * Prepends the spec's normalization to the graph, so the model takes the resized pixels as
 * they come from the decoder: uint8 [N, H, W, 3] RGB. Transpose (NCHW models), Gather (BGR
 * models), Cast to float32, then Mul by scale/std and Add -mean/std per channel, skipping
 * steps that are identities. Returns the new model bytes.
 */
export function prependNormalization(bytes: Uint8Array, spec: PreprocessSpec): Uint8Array {
  const model = decode(bytes);
  const graph = model.graph!;
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name));
  if (inputs.length !== 1) throw new FramewatchError('EXPORT_FAILED', `normalization can be folded only into a model with one input, found ${inputs.length}`);
  const original = inputs[0];
  const tensorType = original.type?.tensorType;
  const dims = tensorType?.shape?.dim ?? [];
  if (tensorType?.elemType !== onnx.TensorProto.DataType.FLOAT || dims.length !== 4) {
    throw new FramewatchError('EXPORT_FAILED', `normalization can be folded only into a float32 rank-4 input; '${original.name}' is not`);
  }
  const nchw = spec.layout === 'nchw';
  const channels = dims[nchw ? 1 : 3];
  if (channels.dimValue !== undefined && channels.dimValue !== null && Number(channels.dimValue) !== 3) {
    throw new FramewatchError('EXPORT_FAILED', `input '${original.name}' has ${channels.dimValue} channels along the ${spec.layout} channel axis, expected 3`);
  }
  if ((graph.node ?? []).some((n) => n.output?.includes(IMAGE_INPUT) || n.input?.includes(IMAGE_INPUT))) {
    throw new FramewatchError('EXPORT_FAILED', `the graph already uses the tensor name '${IMAGE_INPUT}'`);
  }
  const e = editor(graph, 'framewatch_normalize');
  const axis = nchw ? 1 : 3;
  const steps: Array<(from: string, to: string) => void> = [];
  if (nchw) steps.push((from, to) => e.node('Transpose', [from], [to], { perm: { ints: [0, 3, 1, 2] } }));
  if (spec.channelOrder === 'bgr') {
    const order = e.constant('framewatch_normalize/bgr_order', new BigInt64Array([2n, 1n, 0n]), [3]);
    steps.push((from, to) => e.node('Gather', [from, order], [to], { axis: { int: axis } }));
  }
  steps.push((from, to) => e.node('Cast', [from], [to], { to: { int: onnx.TensorProto.DataType.FLOAT } }));
  const perChannel = nchw ? [1, 3, 1, 1] : [3];
  const gain = spec.std.map((s) => spec.scale / s);
  const bias = spec.mean.map((m, c) => -m / spec.std[c]);
  if (gain.some((g) => g !== 1)) {
    const g = e.constant('framewatch_normalize/gain', new Float32Array(gain), perChannel);
    steps.push((from, to) => e.node('Mul', [from, g], [to]));
  }
  if (bias.some((b) => b !== 0)) {
    const b = e.constant('framewatch_normalize/bias', new Float32Array(bias), perChannel);
    steps.push((from, to) => e.node('Add', [from, b], [to]));
  }
  // Chain the steps: image -> ... -> the original input name, which the body already reads.
  steps.forEach((step, i) => step(i === 0 ? IMAGE_INPUT : `framewatch_normalize/${i}`, i === steps.length - 1 ? original.name! : `framewatch_normalize/${i + 1}`));
  const imageDims: Dim[] = nchw ? [dims[0], dims[2], dims[3], { dimValue: 3 }] : [dims[0], dims[1], dims[2], { dimValue: 3 }];
  graph.node = [...e.added, ...(graph.node ?? [])];
  graph.input = (graph.input ?? []).map((i) => (i === original ? tensorValueInfo(IMAGE_INPUT, onnx.TensorProto.DataType.UINT8, imageDims) : i));
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Appends CenterNet's peak search to the graph, as the original TF graph's tail did it: a
 * heatmap cell is a peak when it equals the max of its 3x3 neighbourhood (MaxPool, SAME);
 * TopK keeps the best `k` over all classes and cells. The heatmap [N, H, W, C] output is
 * replaced by `peaks/scores` [N, k] float32 and `peaks/indices` [N, k] int32, an index into
 * the heatmap flattened as [C, H, W].
 */
export function appendCenternetPeaks(bytes: Uint8Array, options: { heatmap: string; k: number }): Uint8Array {
  const model = decode(bytes);
  const graph = model.graph!;
  const heatmap = (graph.output ?? []).find((o) => o.name === options.heatmap);
  if (!heatmap) throw new FramewatchError('EXPORT_FAILED', `the graph has no output '${options.heatmap}' to decode peaks from`);
  const batch = heatmap.type?.tensorType?.shape?.dim?.[0] ?? { dimParam: 'batch' };
  const e = editor(graph, 'framewatch_peaks');
  const F = onnx.TensorProto.DataType;
  e.node('Transpose', [options.heatmap], ['peaks/nchw'], { perm: { ints: [0, 3, 1, 2] } });
  e.node('MaxPool', ['peaks/nchw'], ['peaks/pooled'], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] }, strides: { ints: [1, 1] } });
  e.node('Equal', ['peaks/pooled', 'peaks/nchw'], ['peaks/is_max']);
  e.node('Cast', ['peaks/is_max'], ['peaks/mask'], { to: { int: F.FLOAT } });
  e.node('Mul', ['peaks/mask', 'peaks/nchw'], ['peaks/kept']);
  e.node('Reshape', ['peaks/kept', e.constant('framewatch_peaks/flat_shape', new BigInt64Array([0n, -1n]), [2])], ['peaks/flat']);
  e.node('TopK', ['peaks/flat', e.constant('framewatch_peaks/k', new BigInt64Array([BigInt(options.k)]), [1])], [PEAK_SCORES_OUTPUT, 'peaks/indices_int64'], {
    axis: { int: -1 }, largest: { int: 1 }, sorted: { int: 1 },
  });
  e.node('Cast', ['peaks/indices_int64'], [PEAK_INDICES_OUTPUT], { to: { int: F.INT32 } });
  graph.node = [...(graph.node ?? []), ...e.added];
  graph.output = [
    tensorValueInfo(PEAK_SCORES_OUTPUT, F.FLOAT, [batch, { dimValue: options.k }]),
    tensorValueInfo(PEAK_INDICES_OUTPUT, F.INT32, [batch, { dimValue: options.k }]),
    ...(graph.output ?? []).filter((o) => o !== heatmap),
  ];
  return onnx.ModelProto.encode(model).finish();
}
