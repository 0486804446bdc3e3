// Static int8 quantization of an ONNX graph in QDQ form, in two steps so that the ranges can be
// committed as a small JSON: calibrateRanges runs the float model on sample inputs and records
// each activation's range; quantizeQdq is then a pure function of the model bytes and those
// ranges. It puts QuantizeLinear/DequantizeLinear pairs around the quantized ops and stores
// their weights as int8 (bias int32), which onnxruntime fuses into QLinearConv / QLinearAdd /
// QLinearMul kernels at graphOptimizationLevel 'all'. The project's own graph edits (the
// normalization head and CenterNet's peak tail, nodes named framewatch_*) stay float.
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { FramewatchError } from '../../errors/index.js';
import { elemTypeCode, toAttribute, type Attr, type TensorData } from './builder.js';

const { onnx } = onnxProto;
type Graph = onnxProto.onnx.IGraphProto;
type Node = onnxProto.onnx.INodeProto;
type Initializer = onnxProto.onnx.ITensorProto;

export interface TensorRange {
  min: number;
  max: number;
}
/** Activation tensor name -> its calibrated range. */
export type ActivationRanges = Record<string, TensorRange>;

export type QuantizableOp = 'Conv' | 'Add' | 'Mul';
export const QUANTIZABLE_OPS: readonly QuantizableOp[] = ['Conv', 'Add', 'Mul'];

export interface QuantizeOptions {
  /** uint8 (asymmetric, zero point anywhere in 0..255) or int8 activations. Weights are int8 either way. */
  activations: 'u8' | 's8';
  /** One weight scale per output channel of a Conv (else one per tensor). */
  perChannel: boolean;
  /** Op kinds to quantize; default Conv only. */
  ops?: readonly QuantizableOp[];
  /** Quantize depthwise Convs (group = channels); default true. */
  depthwise?: boolean;
  /** Names of nodes to leave float (see headConvNames, firstConvName). */
  skipNodes?: readonly string[];
}

export interface CalibrateOptions {
  /** 'minmax': the extremes over all samples. 'percentile': per sample the low and high percentile, averaged. */
  method?: 'minmax' | 'percentile';
  /** For 'percentile': the high percentile (the low one is 100 - it). Default 99.99. */
  percentile?: number;
  intraOpThreads?: number;
}

/** A node to quantize: its activation inputs go through DQ, and `output` through Q then DQ. */
interface NodeUnit {
  node: Node;
  inputs: string[];
  output: string;
  /** A Relu right behind a Conv, absorbed by the Q of its output (whose range starts at 0). */
  foldedRelu?: Node;
}

const SIGNIFICANT_DIGITS = 6;
const PROJECT_EDIT_PREFIX = 'framewatch_';

function decode(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  const model = onnx.ModelProto.decode(bytes);
  if (!model.graph) throw new FramewatchError('EXPORT_FAILED', 'the ONNX file has no graph');
  return model;
}

function consumersOf(graph: Graph): Map<string, Node[]> {
  const consumers = new Map<string, Node[]>();
  for (const node of graph.node ?? []) {
    for (const input of node.input ?? []) consumers.set(input, [...(consumers.get(input) ?? []), node]);
  }
  return consumers;
}

const intAttr = (node: Node, name: string, fallback: number): number => {
  const attr = (node.attribute ?? []).find((a) => a.name === name);
  return attr?.i === undefined || attr.i === null ? fallback : Number(attr.i);
};

function floatsOf(t: Initializer): Float32Array {
  // Copied: protobufjs may hand out a Buffer view of the whole file, unaligned.
  if (t.rawData && t.rawData.length > 0) return new Float32Array(Uint8Array.from(t.rawData).buffer);
  return Float32Array.from(t.floatData ?? []);
}

const isFloatInitializer = (t: Initializer | undefined): t is Initializer => t?.dataType === onnx.TensorProto.DataType.FLOAT;

/** Every node that could be quantized with `ops`, with the tensors it needs ranges for. */
function planUnits(graph: Graph, ops: readonly string[], depthwise: boolean, skip: ReadonlySet<string>): NodeUnit[] {
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const consumers = consumersOf(graph);
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name!));
  const isActivation = (name: string) => name !== '' && !initializers.has(name);
  const units: NodeUnit[] = [];
  for (const node of graph.node ?? []) {
    const inputs = node.input ?? [];
    const output = node.output?.[0] ?? '';
    if (!ops.includes(node.opType ?? '') || skip.has(node.name ?? '') || (node.name ?? '').startsWith(PROJECT_EDIT_PREFIX) || graphOutputs.has(output)) continue;
    if (node.opType === 'Conv') {
      const weight = initializers.get(inputs[1]);
      const bias = inputs[2] ? initializers.get(inputs[2]) : undefined;
      if (!isActivation(inputs[0]) || !isFloatInitializer(weight) || weight.dims?.length !== 4 || (inputs[2] && !isFloatInitializer(bias))) continue;
      const group = intAttr(node, 'group', 1);
      if (!depthwise && group > 1 && Number(weight.dims[1]) === 1) continue;
      const next = consumers.get(output) ?? [];
      const relu = next.length === 1 && next[0].opType === 'Relu' && !graphOutputs.has(output) ? next[0] : undefined;
      if (relu && graphOutputs.has(relu.output![0])) continue;
      units.push({ node, inputs: [inputs[0]], output: relu ? relu.output![0] : output, foldedRelu: relu });
    } else if (inputs.length === 2 && inputs.every(isActivation)) {
      units.push({ node, inputs: [...inputs], output });
    }
  }
  return units;
}

/** The activation tensors calibrateRanges records: those of every quantizable node, whatever the options. */
export function calibrationTensors(modelBytes: Uint8Array): string[] {
  const units = planUnits(decode(modelBytes).graph!, QUANTIZABLE_OPS, true, new Set());
  return [...new Set(units.flatMap((u) => [...u.inputs, u.output]))];
}

/** Conv nodes from which a graph output is reached through no other Conv: the model's output heads. */
export function headConvNames(modelBytes: Uint8Array): string[] {
  const graph = decode(modelBytes).graph!;
  const producer = new Map<string, Node>();
  for (const node of graph.node ?? []) for (const o of node.output ?? []) producer.set(o, node);
  const heads = new Set<string>();
  const seen = new Set<string>();
  const walk = (tensor: string) => {
    const node = producer.get(tensor);
    if (!node || seen.has(node.name!)) return;
    seen.add(node.name!);
    if (node.opType === 'Conv') heads.add(node.name!);
    else for (const input of node.input ?? []) walk(input);
  };
  for (const o of graph.output ?? []) walk(o.name!);
  return [...heads];
}

/** The first Conv in graph order: the one that sees the pixels. */
export function firstConvName(modelBytes: Uint8Array): string | undefined {
  return (decode(modelBytes).graph!.node ?? []).find((n) => n.opType === 'Conv')?.name ?? undefined;
}

const roundRange = (x: number) => Number(x.toPrecision(SIGNIFICANT_DIGITS));

function extremes(data: Float32Array): TensorRange {
  let min = Infinity, max = -Infinity;
  for (const v of data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/** The low and high percentile of data, from a 2048-bin histogram over its extremes. */
function percentiles(data: Float32Array, high: number): TensorRange {
  const { min, max } = extremes(data);
  if (!(max > min)) return { min, max };
  const bins = new Float64Array(2048);
  const width = (max - min) / bins.length;
  for (const v of data) bins[Math.min(bins.length - 1, Math.floor((v - min) / width))]++;
  const binReaching = (fraction: number) => {
    let count = 0;
    for (let i = 0; i < bins.length; i++) {
      count += bins[i];
      if (count >= fraction * data.length) return i;
    }
    return bins.length - 1;
  };
  return { min: min + binReaching(1 - high / 100) * width, max: min + (binReaching(high / 100) + 1) * width };
}

/**
 * Runs the float model on `feeds` (inputs preprocessed as serving does, e.g. the golden
 * samples through loadImage) with every quantizable activation added as an output, and
 * returns each one's range, rounded to 6 significant digits so that the last bits of a CPU's
 * float arithmetic do not change the quantized model.
 */
export async function calibrateRanges(
  modelBytes: Uint8Array,
  feeds: ReadonlyArray<ort.InferenceSession.FeedsType>,
  options: CalibrateOptions = {},
): Promise<ActivationRanges> {
  if (feeds.length === 0) throw new FramewatchError('EXPORT_FAILED', 'calibration needs at least one sample input');
  const model = decode(modelBytes);
  const tensors = calibrationTensors(modelBytes);
  const known = new Set((model.graph!.output ?? []).map((o) => o.name));
  model.graph!.output = [...(model.graph!.output ?? []), ...tensors.filter((t) => !known.has(t)).map((name) => ({ name }))];
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish(), {
    graphOptimizationLevel: 'basic', intraOpNumThreads: options.intraOpThreads ?? 2, interOpNumThreads: 1,
  });
  const perSample: TensorRange[][] = [];
  try {
    for (const feed of feeds) {
      const outputs = await session.run(feed, tensors);
      perSample.push(tensors.map((name) => {
        const data = outputs[name].data;
        if (!(data instanceof Float32Array)) return { min: NaN, max: NaN };
        return options.method === 'percentile' ? percentiles(data, options.percentile ?? 99.99) : extremes(data);
      }));
    }
  } finally {
    await session.release();
  }
  const ranges: ActivationRanges = {};
  tensors.forEach((name, i) => {
    const samples = perSample.map((s) => s[i]);
    if (samples.some((r) => !Number.isFinite(r.min) || !Number.isFinite(r.max))) return;
    const combined = options.method === 'percentile'
      ? { min: samples.reduce((a, r) => a + r.min, 0) / samples.length, max: samples.reduce((a, r) => a + r.max, 0) / samples.length }
      : { min: Math.min(...samples.map((r) => r.min)), max: Math.max(...samples.map((r) => r.max)) };
    ranges[name] = { min: roundRange(combined.min), max: roundRange(combined.max) };
  });
  return ranges;
}

interface QuantParams {
  scale: number;
  zeroPoint: number;
}

/** Asymmetric activation parameters; the range is widened to hold 0, which must be exact. */
function activationParams(range: TensorRange, kind: 'u8' | 's8'): QuantParams {
  const lo = Math.min(range.min, 0), hi = Math.max(range.max, 0);
  const scale = hi > lo ? Math.fround((hi - lo) / 255) : 1;
  const qmin = kind === 'u8' ? 0 : -128;
  return { scale, zeroPoint: Math.min(qmin + 255, Math.max(qmin, Math.round(qmin - lo / scale))) };
}

/** Symmetric int8 weights, one scale per output channel (axis 0) or one for the tensor. */
function quantizeWeights(weights: Float32Array, channels: number, perChannel: boolean): { values: Int8Array; scales: Float32Array } {
  const perGroup = perChannel ? weights.length / channels : weights.length;
  const scales = new Float32Array(perChannel ? channels : 1);
  for (let c = 0; c < scales.length; c++) {
    let maxAbs = 0;
    for (let i = c * perGroup; i < (c + 1) * perGroup; i++) maxAbs = Math.max(maxAbs, Math.abs(weights[i]));
    scales[c] = maxAbs > 0 ? maxAbs / 127 : 1;
  }
  const values = new Int8Array(weights.length);
  for (let i = 0; i < weights.length; i++) values[i] = Math.max(-127, Math.min(127, Math.round(weights[i] / scales[Math.floor(i / perGroup)])));
  return { values, scales };
}

function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): { values: Int32Array; scales: Float32Array } {
  const scales = Float32Array.from(bias, (_, c) => inputScale * weightScales[weightScales.length === 1 ? 0 : c]);
  const values = Int32Array.from(bias, (b, c) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(b / scales[weightScales.length === 1 ? 0 : c]))));
  return { values, scales: weightScales.length === 1 ? scales.subarray(0, 1) : scales };
}

/** Collects the nodes and initializers that the rewrite adds. */
function additions() {
  const initializers: Initializer[] = [];
  return {
    initializers,
    constant(name: string, data: TensorData, dims: number[]): string {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
      const dataType = data instanceof Int8Array ? elemTypeCode('int8') : elemTypeCode(data instanceof Uint8Array ? 'uint8' : data instanceof Int32Array ? 'int32' : 'float32');
      initializers.push({ name, dataType, dims, rawData: bytes });
      return name;
    },
    node(opType: string, inputs: string[], output: string, attrs: Record<string, Attr> = {}): Node {
      return { opType, name: `framewatch_qdq/${output}`, input: inputs, output: [output], attribute: Object.entries(attrs).map(([k, v]) => toAttribute(k, v)) };
    },
  };
}

/** DQ nodes for a Conv's weight (and bias), given the scale of its input. */
function convWeightNodes(unit: NodeUnit, initializers: Map<string, Initializer>, inputScale: number, perChannel: boolean, add: ReturnType<typeof additions>): Node[] {
  const [, weightName, biasName] = unit.node.input!;
  const weight = initializers.get(weightName)!;
  const channels = Number(weight.dims![0]);
  const { values, scales } = quantizeWeights(floatsOf(weight), channels, perChannel);
  const base = `${unit.node.output![0]}/weight`;
  const axis: Record<string, Attr> = perChannel ? { axis: { int: 0 } } : {};
  const scaleDims = perChannel ? [channels] : [];
  const nodes = [add.node('DequantizeLinear', [
    add.constant(`${base}/quantized`, values, weight.dims!.map(Number)),
    add.constant(`${base}/scale`, scales, scaleDims),
    add.constant(`${base}/zero_point`, new Int8Array(scales.length), scaleDims),
  ], `${base}/dequantized`, axis)];
  unit.node.input![1] = `${base}/dequantized`;
  if (biasName) {
    const bias = quantizeBias(floatsOf(initializers.get(biasName)!), inputScale, scales);
    const biasBase = `${unit.node.output![0]}/bias`;
    nodes.push(add.node('DequantizeLinear', [
      add.constant(`${biasBase}/quantized`, bias.values, [channels]),
      add.constant(`${biasBase}/scale`, bias.scales, scaleDims),
      add.constant(`${biasBase}/zero_point`, new Int32Array(bias.scales.length), scaleDims),
    ], `${biasBase}/dequantized`, axis));
    unit.node.input![2] = `${biasBase}/dequantized`;
  }
  return nodes;
}

/**
 * Quantizes the graph's Convs (and the other `ops`) to int8 in QDQ form, from the ranges that
 * calibrateRanges recorded. A node is quantized when all of its activations have a range; a
 * Relu right behind a Conv is folded into the Q of the Conv's output. Deterministic: the same
 * bytes and ranges give the same bytes. Throws EXPORT_FAILED when nothing can be quantized.
 */
export function quantizeQdq(modelBytes: Uint8Array, ranges: ActivationRanges, options: QuantizeOptions): Uint8Array {
  const model = decode(modelBytes);
  const graph = model.graph!;
  const opset = (model.opsetImport ?? []).find((o) => !o.domain)?.version;
  if (opset === undefined || opset === null || Number(opset) < 13) {
    throw new FramewatchError('EXPORT_FAILED', `int8 quantization needs ONNX opset 13 or newer, the model has ${opset ?? 'none'}`);
  }
  const units = planUnits(graph, options.ops ?? ['Conv'], options.depthwise ?? true, new Set(options.skipNodes ?? []))
    .filter((u) => [...u.inputs, u.output].every((t) => ranges[t] !== undefined));
  if (units.length === 0) {
    throw new FramewatchError('EXPORT_FAILED', `the model has no ${(options.ops ?? ['Conv']).join('/')} node with constant weights and calibrated ranges to quantize`);
  }
  const params = new Map<string, QuantParams>();
  for (const unit of units) for (const t of [...unit.inputs, unit.output]) params.set(t, activationParams(ranges[t], options.activations));

  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const add = additions();
  const zeroPoint = (zp: number) => (options.activations === 'u8' ? new Uint8Array([zp]) : new Int8Array([zp]));
  const dequantized = (t: string) => `${t}/dequantized`;
  const qdqPair = (t: string): Node[] => {
    const { scale, zeroPoint: zp } = params.get(t)!;
    const q = [add.constant(`${t}/scale`, new Float32Array([scale]), []), add.constant(`${t}/zero_point`, zeroPoint(zp), [])];
    return [add.node('QuantizeLinear', [t, ...q], `${t}/quantized`), add.node('DequantizeLinear', [`${t}/quantized`, ...q], dequantized(t))];
  };

  const unitOf = new Map(units.map((u) => [u.node, u]));
  const folded = new Set(units.flatMap((u) => (u.foldedRelu ? [u.foldedRelu] : [])));
  const produced = new Set((graph.node ?? []).flatMap((n) => n.output ?? []));
  const nodes: Node[] = [...params.keys()].filter((t) => !produced.has(t)).flatMap(qdqPair);
  for (const node of graph.node ?? []) {
    if (folded.has(node)) continue;
    const unit = unitOf.get(node);
    if (unit?.foldedRelu) node.output = [unit.output];
    node.input = (node.input ?? []).map((i) => (params.has(i) ? dequantized(i) : i));
    if (unit && node.opType === 'Conv') nodes.push(...convWeightNodes(unit, initializers, params.get(unit.inputs[0])!.scale, options.perChannel, add));
    nodes.push(node);
    for (const o of node.output ?? []) if (params.has(o)) nodes.push(...qdqPair(o));
  }
  graph.node = nodes;
  const used = new Set(nodes.flatMap((n) => n.input ?? []));
  graph.initializer = [...(graph.initializer ?? []).filter((t) => used.has(t.name!)), ...add.initializers];
  graph.input = (graph.input ?? []).filter((i) => !initializers.has(i.name!) || used.has(i.name!));
  return onnx.ModelProto.encode(model).finish();
}
