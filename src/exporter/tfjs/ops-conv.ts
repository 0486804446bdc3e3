import { int, ints, str, type Attr } from '../onnx/builder.js';
import { TO_NCHW, TO_NHWC, type OpContext, type OpMapper } from './context.js';
import { attrBool, attrInts, attrString, attrStrings } from './model-json.js';
import { relu6, requireNhwc } from './ops-basic.js';

/** TF HWIO filter [kh, kw, in, out] to ONNX OIHW [out, in, kh, kw]. */
export function hwioToOihw(data: Float32Array, [kh, kw, ci, co]: number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let h = 0; h < kh; h++)
    for (let w = 0; w < kw; w++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + h) * kw + w] = data[((h * kw + w) * ci + i) * co + o];
  return out;
}

/** TF depthwise filter [kh, kw, c, m] to ONNX grouped weights [c*m, 1, kh, kw] (group = c). */
export function depthwiseToOihw(data: Float32Array, [kh, kw, c, m]: number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let h = 0; h < kh; h++)
    for (let w = 0; w < kw; w++)
      for (let ch = 0; ch < c; ch++)
        for (let k = 0; k < m; k++) out[((ch * m + k) * kh + h) * kw + w] = data[((h * kw + w) * c + ch) * m + k];
  return out;
}

/** TF padding to ONNX attributes. TF's SAME puts the odd pixel at the end: ONNX SAME_UPPER. */
function paddingAttrs(c: OpContext): Record<string, Attr> {
  const padding = attrString(c.node.attr?.padding);
  if (padding === 'SAME') return { auto_pad: str('SAME_UPPER') };
  if (padding === 'VALID') return { auto_pad: str('VALID') };
  if (padding === 'EXPLICIT') {
    const p = attrInts(c.node.attr?.explicit_paddings); // NHWC pairs: [0,0, top,bottom, left,right, 0,0]
    return { pads: ints([p[2], p[4], p[3], p[5]]) };
  }
  return c.fail(`padding '${padding}' is not supported`);
}

/** Spatial pair from a TF NHWC 4-list ([1, h, w, 1]). */
function spatial(c: OpContext, name: string, fallback: number): number[] {
  const v = attrInts(c.node.attr?.[name]);
  if (v.length === 0) return [fallback, fallback];
  if (v.length !== 4 || v[0] !== 1 || v[3] !== 1) c.fail(`${name} ${JSON.stringify(v)} must be [1, h, w, 1]`);
  return [v[1], v[2]];
}

/** Wraps an NCHW ONNX op between transposes so the graph stays NHWC like the TF original. */
function inNchw(c: OpContext, emit: (x: string) => string): void {
  const x = c.b.unique(`${c.node.name}/nchw_in`);
  c.b.node('Transpose', [c.input(0)], [x], { perm: ints(TO_NCHW) });
  const y = emit(x);
  c.b.node('Transpose', [y], [c.output], { perm: ints(TO_NHWC) });
}

function applyActivation(c: OpContext, activation: string | undefined, x: string): string {
  if (!activation) return x;
  const y = c.b.unique(`${c.node.name}/${activation.toLowerCase()}`);
  if (activation === 'Relu') c.b.node('Relu', [x], [y]);
  else if (activation === 'Relu6') relu6(c, x, y);
  else if (activation === 'Sigmoid') c.b.node('Sigmoid', [x], [y]);
  else c.fail(`fused activation '${activation}' is not supported`);
  return y;
}

const convolution = (kind: 'conv' | 'depthwise', fused: boolean): OpMapper => (c) => {
  requireNhwc(c);
  const filter = c.constInput(1);
  if (filter.dtype !== 'float32' || filter.shape.length !== 4) c.fail('the filter must be a constant float32 4-D tensor');
  const [kh, kw, ci, m] = filter.shape;
  const weights = kind === 'conv' ? hwioToOihw(filter.data as Float32Array, filter.shape) : depthwiseToOihw(filter.data as Float32Array, filter.shape);
  const wDims = kind === 'conv' ? [m, ci, kh, kw] : [ci * m, 1, kh, kw];
  const w = c.b.initializer(`${c.node.name}/weights_oihw`, weights, wDims);
  let bias: string | undefined;
  let activation: string | undefined;
  if (fused) {
    const ops = attrStrings(c.node.attr?.fused_ops);
    if (ops[0] !== 'BiasAdd' || ops.length > 2 || Number(c.node.attr?.num_args?.i ?? 1) !== 1) {
      c.fail(`fused_ops ${JSON.stringify(ops)} are not supported (only BiasAdd plus one activation)`);
    }
    bias = c.input(2);
    activation = ops[1];
  }
  inNchw(c, (x) => {
    const y = c.b.unique(`${c.node.name}/conv`);
    c.b.node('Conv', bias ? [x, w, bias] : [x, w], [y], {
      kernel_shape: ints([kh, kw]),
      strides: ints(spatial(c, 'strides', 1)),
      dilations: ints(spatial(c, 'dilations', 1)),
      group: int(kind === 'conv' ? 1 : ci),
      ...paddingAttrs(c),
    });
    return applyActivation(c, activation, y);
  });
};

export const convOps: Record<string, OpMapper> = {
  Conv2D: convolution('conv', false),
  _FusedConv2D: convolution('conv', true),
  DepthwiseConv2dNative: convolution('depthwise', false),
  FusedDepthwiseConv2dNative: convolution('depthwise', true),
  MaxPool: (c) => {
    requireNhwc(c);
    inNchw(c, (x) => {
      const y = c.b.unique(`${c.node.name}/pool`);
      c.b.node('MaxPool', [x], [y], { kernel_shape: ints(spatial(c, 'ksize', 1)), strides: ints(spatial(c, 'strides', 1)), ...paddingAttrs(c) });
      return y;
    });
  },
  ResizeBilinear: (c) => {
    const [h, w] = Array.from(c.constInput(1).data as Int32Array);
    const alignCorners = attrBool(c.node.attr?.align_corners);
    const halfPixel = attrBool(c.node.attr?.half_pixel_centers);
    if (alignCorners && halfPixel) c.fail('align_corners and half_pixel_centers cannot both be true');
    const mode = alignCorners ? 'align_corners' : halfPixel ? 'half_pixel' : 'asymmetric';
    inNchw(c, (x) => {
      // sizes = [N, C] of the input (dynamic) followed by the constant [h, w].
      const shape = c.b.unique(`${c.node.name}/shape`);
      c.b.node('Shape', [x], [shape]);
      const nc = c.b.unique(`${c.node.name}/nc`);
      const starts = c.b.initializer(c.b.unique(`${c.node.name}/starts`), new BigInt64Array([0n]), [1]);
      const ends = c.b.initializer(c.b.unique(`${c.node.name}/ends`), new BigInt64Array([2n]), [1]);
      c.b.node('Slice', [shape, starts, ends], [nc]);
      const hw = c.b.initializer(c.b.unique(`${c.node.name}/hw`), new BigInt64Array([BigInt(h), BigInt(w)]), [2]);
      const sizes = c.b.unique(`${c.node.name}/sizes`);
      c.b.node('Concat', [nc, hw], [sizes], { axis: int(0) });
      const y = c.b.unique(`${c.node.name}/resized`);
      c.b.node('Resize', [x, '', '', sizes], [y], { mode: str('linear'), coordinate_transformation_mode: str(mode) });
      return y;
    });
  },
};
