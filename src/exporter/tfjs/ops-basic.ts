import { float, int, ints } from '../onnx/builder.js';
import { attrBool, attrString } from './model-json.js';
import type { OpContext, OpMapper } from './context.js';

const unary = (onnxOp: string): OpMapper => (c) => c.b.node(onnxOp, [c.input(0)], [c.output]);
const binary = (onnxOp: string): OpMapper => (c) => c.b.node(onnxOp, [c.input(0), c.input(1)], [c.output]);

/** Relu6 as Clip(x, 0, 6); shared by the fused convolutions. */
export function relu6(c: OpContext, x: string, out: string): void {
  const lo = c.b.initializer(c.b.unique('relu6_min'), new Float32Array([0]), []);
  const hi = c.b.initializer(c.b.unique('relu6_max'), new Float32Array([6]), []);
  c.b.node('Clip', [x, lo, hi], [out]);
}

const TF_TO_ONNX_TYPE: Record<string, number> = { DT_FLOAT: 1, DT_INT32: 6, DT_INT64: 7, DT_BOOL: 9, DT_UINT8: 2 };

/** Axis list from a constant int32 input, as plain numbers. */
const constInts = (c: OpContext, i: number): number[] => Array.from(c.constInput(i).data as Int32Array);

export const basicOps: Record<string, OpMapper> = {
  Identity: unary('Identity'),
  Relu: unary('Relu'),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  Relu6: (c) => relu6(c, c.input(0), c.output),
  Add: binary('Add'),
  AddV2: binary('Add'),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  RealDiv: binary('Div'),
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  Equal: binary('Equal'),
  Mean: (c) => {
    // ONNX opset 13 ReduceMean takes axes as an attribute; TF gives them as a constant input.
    c.b.node('ReduceMean', [c.input(0)], [c.output], { axes: ints(constInts(c, 1)), keepdims: int(attrBool(c.node.attr?.keep_dims) ? 1 : 0) });
  },
  ConcatV2: (c) => {
    const n = c.inputCount - 1;
    const axis = constInts(c, n)[0];
    c.b.node('Concat', Array.from({ length: n }, (_, i) => c.input(i)), [c.output], { axis: int(axis) });
  },
  Cast: (c) => {
    const dst = c.node.attr?.DstT?.type ?? '';
    const to = TF_TO_ONNX_TYPE[dst];
    if (!to) c.fail(`cannot cast to ${dst}`);
    c.b.node('Cast', [c.input(0)], [c.output], { to: int(to) });
  },
  Reshape: (c) => {
    const shape = c.b.initializer(c.b.unique(`${c.node.name}/shape64`), BigInt64Array.from(constInts(c, 1), BigInt), [constInts(c, 1).length]);
    c.b.node('Reshape', [c.input(0), shape], [c.output]);
  },
  ExpandDims: (c) => {
    const axes = c.b.initializer(c.b.unique(`${c.node.name}/axes`), BigInt64Array.from(constInts(c, 1), BigInt), [constInts(c, 1).length]);
    c.b.node('Unsqueeze', [c.input(0), axes], [c.output]);
  },
  LeakyRelu: (c) => c.b.node('LeakyRelu', [c.input(0)], [c.output], { alpha: float(c.node.attr?.alpha?.f ?? 0.2) }),
};

/** data_format must be NHWC: NCHW graphs would need no transposes and are not exported by TF.js. */
export function requireNhwc(c: OpContext): void {
  const format = attrString(c.node.attr?.data_format) ?? 'NHWC';
  if (format !== 'NHWC') c.fail(`data_format ${format} is not supported (only NHWC)`);
}
