import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type ElemType = 'float32' | 'float16' | 'int32' | 'int64' | 'uint8' | 'int8' | 'bool';

const ELEM: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  uint8: onnx.TensorProto.DataType.UINT8,
  int8: onnx.TensorProto.DataType.INT8,
  bool: onnx.TensorProto.DataType.BOOL,
};

export const elemTypeCode = (t: ElemType): number => ELEM[t];

export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

/** Attribute values with their ONNX type made explicit (ints and floats look alike in JS). */
export type Attr =
  | { int: number }
  | { ints: readonly number[] }
  | { float: number }
  | { floats: readonly number[] }
  | { string: string };

export const int = (v: number): Attr => ({ int: v });
export const ints = (v: readonly number[]): Attr => ({ ints: v });
export const float = (v: number): Attr => ({ float: v });
export const str = (v: string): Attr => ({ string: v });

export function toAttribute(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in a) return { name, type: T.INT, i: a.int };
  if ('ints' in a) return { name, type: T.INTS, ints: [...a.ints] };
  if ('float' in a) return { name, type: T.FLOAT, f: a.float };
  if ('floats' in a) return { name, type: T.FLOATS, floats: [...a.floats] };
  return { name, type: T.STRING, s: new TextEncoder().encode(a.string) };
}

export function elemTypeOf(data: TensorData): ElemType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int8Array) return 'int8';
  return 'uint8';
}

/** Dimension: a fixed size, or a symbolic name for a dynamic one. */
export type Dim = number | string;

/** Omitting dims leaves the shape unknown (for outputs whose shape ORT infers). */
const valueInfo = (name: string, type: ElemType, dims?: readonly Dim[]): onnxProto.onnx.IValueInfoProto => ({
  name,
  type: {
    tensorType: {
      elemType: ELEM[type],
      ...(dims ? { shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } : {}),
    },
  },
});

/** Builds an ONNX model node by node, then serializes it with onnx-proto. Deterministic. */
export function createOnnxBuilder(graphName: string) {
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  const inputs: onnxProto.onnx.IValueInfoProto[] = [];
  const outputs: onnxProto.onnx.IValueInfoProto[] = [];
  const used = new Set<string>();
  let counter = 0;

  return {
    /** A fresh tensor name derived from `base`. */
    unique(base: string): string {
      let name = `${base}__${counter++}`;
      while (used.has(name)) name = `${base}__${counter++}`;
      used.add(name);
      return name;
    },
    initializer(name: string, data: TensorData, dims: readonly number[]): string {
      used.add(name);
      initializers.push({
        name,
        dataType: ELEM[elemTypeOf(data)],
        dims: [...dims],
        rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(),
      });
      return name;
    },
    node(opType: string, nodeInputs: readonly string[], nodeOutputs: readonly string[], attrs: Record<string, Attr> = {}, name?: string): void {
      nodeOutputs.forEach((o) => used.add(o));
      nodes.push({
        opType,
        name: name ?? nodeOutputs[0],
        input: [...nodeInputs],
        output: [...nodeOutputs],
        attribute: Object.entries(attrs).map(([k, v]) => toAttribute(k, v)),
      });
    },
    input(name: string, type: ElemType, dims: readonly Dim[]): void {
      used.add(name);
      inputs.push(valueInfo(name, type, dims));
    },
    output(name: string, type: ElemType, dims?: readonly Dim[]): void {
      outputs.push(valueInfo(name, type, dims));
    },
    /** Serializes to ONNX bytes (IR version 8). `metadata` becomes metadata_props. */
    encode(opts: { opset: number; producer: string; metadata?: Record<string, string> }): Uint8Array {
      const model = onnx.ModelProto.create({
        irVersion: 8,
        producerName: opts.producer,
        opsetImport: [{ domain: '', version: opts.opset }],
        graph: { name: graphName, node: nodes, initializer: initializers, input: inputs, output: outputs },
        metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
      });
      return onnx.ModelProto.encode(model).finish();
    },
  };
}

export type OnnxBuilder = ReturnType<typeof createOnnxBuilder>;
