import { createOnnxBuilder, type Dim, type TensorData } from '../onnx/builder.js';
import { UnsupportedGraphError, type OpContext, type OpMapper } from './context.js';
import type { TfGraphModel, TfNode } from './model-json.js';
import { basicOps } from './ops-basic.js';
import { convOps } from './ops-conv.js';

export const TFJS_OPSET = 13;

/** Every TF op the importer maps, one small function each. */
export const OP_MAPPERS: Readonly<Record<string, OpMapper>> = { ...basicOps, ...convOps };

export interface ConvertOptions {
  /** TF node names to expose as outputs; the graph is cut there. Default: the signature's outputs. */
  outputs?: string[];
  /** Symbolic batch dimension, so batches of any size can run. */
  dynamicBatch?: boolean;
}

export interface ConvertResult {
  onnx: Uint8Array;
  inputs: { name: string; dims: Dim[] }[];
  outputs: string[];
  /** TF ops in the converted part, with their counts. */
  ops: Record<string, number>;
}

/** Splits a TF input reference ('node', 'node:1', '^node') into node name and output index. */
export function parseInputRef(ref: string): { node: string; index: number; control: boolean } {
  if (ref.startsWith('^')) return { node: ref.slice(1), index: 0, control: true };
  const m = /^(.*):(\d+)$/.exec(ref);
  return m ? { node: m[1], index: Number(m[2]), control: false } : { node: ref, index: 0, control: false };
}

const onnxName = (node: string, index: number) => (index === 0 ? node : `${node}:${index}`);

/** Nodes the outputs depend on, inputs before users. */
function reachable(byName: Map<string, TfNode>, outputs: string[]): TfNode[] {
  const order: TfNode[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string) => {
    const node = byName.get(name);
    if (!node) throw new UnsupportedGraphError(name, '?', 'is referenced but not in the graph');
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new UnsupportedGraphError(name, node.op, 'the graph has a cycle');
    state.set(name, 'visiting');
    for (const ref of node.input ?? []) {
      const { node: dep, control } = parseInputRef(ref);
      if (!control) visit(dep);
    }
    state.set(name, 'done');
    order.push(node);
  };
  outputs.forEach(visit);
  return order;
}

/**
 * Converts a TF.js graph model to ONNX (opset 13), keeping the NHWC layout of the original
 * and wrapping NCHW-only ONNX ops in transposes (ONNX Runtime's optimizer cancels the pairs).
 * An op without a mapper fails the export, naming the op and the node.
 */
export function convertTfjsGraph(model: TfGraphModel, options: ConvertOptions = {}): ConvertResult {
  const byName = new Map(model.nodes.map((n) => [n.name, n]));
  const outputs = options.outputs ?? Object.values(model.signature?.outputs ?? {}).map((o) => o.name.replace(/:0$/, ''));
  if (outputs.length === 0) throw new Error('no outputs: pass the TF node names to cut the graph at');
  const b = createOnnxBuilder('tfjs-import');
  const materialized = new Set<string>();
  const inputs: ConvertResult['inputs'] = [];
  const ops: Record<string, number> = {};

  for (const node of reachable(byName, outputs)) {
    ops[node.op] = (ops[node.op] ?? 0) + 1;
    if (node.op === 'Const') continue; // materialized on first use
    if (node.op === 'Placeholder') {
      const dims = (node.attr?.shape?.shape?.dim ?? []).map((d, i): Dim => {
        const size = Number(d.size);
        return (i === 0 && options.dynamicBatch) || size < 0 ? (i === 0 ? 'batch' : `d${i}`) : size;
      });
      if (node.attr?.dtype?.type !== 'DT_FLOAT') throw new UnsupportedGraphError(node.name, node.op, 'only float32 inputs are supported');
      b.input(node.name, 'float32', dims);
      inputs.push({ name: node.name, dims });
      continue;
    }
    const mapper = OP_MAPPERS[node.op];
    if (!mapper) throw new UnsupportedGraphError(node.name, node.op, `op '${node.op}' is not supported by the importer`);
    const dataInputs = (node.input ?? []).map(parseInputRef).filter((r) => !r.control);
    const constOf = (i: number) => {
      const ref = dataInputs[i];
      const src = ref && byName.get(ref.node);
      const value = src?.op === 'Const' ? model.weights.get(src.name) : undefined;
      if (!value) throw new UnsupportedGraphError(node.name, node.op, `input ${i} must be a constant`);
      return value;
    };
    const ctx: OpContext = {
      b,
      node,
      output: node.name,
      inputCount: dataInputs.length,
      input(i) {
        const ref = dataInputs[i];
        if (!ref) return ctx.fail(`missing input ${i}`);
        const src = byName.get(ref.node)!;
        if (src.op === 'Const' && !materialized.has(src.name)) {
          const value = constOf(i);
          b.initializer(src.name, value.data as TensorData, value.shape);
          materialized.add(src.name);
        }
        return onnxName(ref.node, ref.index);
      },
      constInput: constOf,
      fail(message): never {
        throw new UnsupportedGraphError(node.name, node.op, message);
      },
    };
    mapper(ctx);
  }
  for (const o of outputs) b.output(o, 'float32');
  return {
    onnx: b.encode({ opset: TFJS_OPSET, producer: 'framewatch-tfjs-importer' }),
    inputs,
    outputs,
    ops,
  };
}
