import { FramewatchError } from '../errors/index.js';
import { floatToHalf, halfToFloat, tensorArray, type PlainTensor } from '../runtime/index.js';

/** KServe v2 datatypes framewatch accepts, with ORT's type name and bytes per element. */
export const V2_TYPES = {
  FP32: { ort: 'float32', bytes: 4 },
  FP16: { ort: 'float16', bytes: 2 },
  INT64: { ort: 'int64', bytes: 8 },
  INT32: { ort: 'int32', bytes: 4 },
  UINT8: { ort: 'uint8', bytes: 1 },
  BOOL: { ort: 'bool', bytes: 1 },
} as const;
export type V2Datatype = keyof typeof V2_TYPES;

const ORT_TO_V2: Record<string, V2Datatype> = Object.fromEntries(Object.entries(V2_TYPES).map(([k, v]) => [v.ort, k as V2Datatype]));
export const v2TypeOf = (ortType: string): V2Datatype | undefined => ORT_TO_V2[ortType];

export interface V2InputTensor {
  name: string;
  shape: number[];
  datatype: string;
  data?: unknown;
  parameters?: { binary_data_size?: number };
}

export interface V2Request {
  id?: string;
  parameters?: { binary_data_output?: boolean };
  inputs: V2InputTensor[];
  outputs?: Array<{ name: string; parameters?: { binary_data?: boolean } }>;
}

/** What answering needs of a request once its inputs are decoded. */
export type V2RequestOptions = Pick<V2Request, 'id' | 'parameters' | 'outputs'>;

export type ModelInputSpec = { name: string; dtype: string; shape: number[] };

const bad = (message: string) => new FramewatchError('INVALID_INPUT', message);

/**
 * Flattens nested JSON arrays without recursion or intermediate arrays (a large tensor is
 * millions of values), and stops as soon as there are more values than the shape needs.
 */
function flatten(data: unknown, count: number, name: string): unknown[] {
  const values: unknown[] = [];
  const stack: Array<{ items: unknown[]; at: number }> = [{ items: Array.isArray(data) ? data : [data], at: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.at === top.items.length) {
      stack.pop();
      continue;
    }
    const v = top.items[top.at++];
    if (Array.isArray(v)) {
      if (stack.length > 32) throw bad(`input '${name}': data is nested deeper than 32 levels`);
      stack.push({ items: v, at: 0 });
    } else if (values.push(v) > count) break;
  }
  return values;
}

function fromJson(t: V2InputTensor, count: number): PlainTensor['data'] {
  const values = flatten(t.data, count, t.name);
  if (values.length !== count) throw bad(`input '${t.name}': shape [${t.shape}] needs ${count} values, got ${values.length > count ? 'more' : values.length}`);
  const num = (v: unknown) => {
    if (typeof v !== 'number' && typeof v !== 'boolean') throw bad(`input '${t.name}': data must be numbers`);
    return Number(v);
  };
  switch (t.datatype as V2Datatype) {
    case 'FP32': return Float32Array.from(values, num);
    case 'FP16': return Uint16Array.from(values, (v) => floatToHalf(num(v)));
    case 'INT64': return BigInt64Array.from(values, (v) => BigInt(Math.trunc(num(v))));
    case 'INT32': return Int32Array.from(values, num);
    case 'UINT8': return Uint8Array.from(values, num);
    case 'BOOL': return Uint8Array.from(values, (v) => (v === true || v === 1 ? 1 : 0));
  }
  throw bad(`input '${t.name}': datatype '${t.datatype}' is not supported`);
}

/** A copy (aligned and owned; Buffer.slice would share the pool) viewed as the ORT type's array. */
const fromBinary = (ortType: string, bytes: Uint8Array): PlainTensor['data'] => tensorArray(ortType, new Uint8Array(bytes).buffer);

/**
 * Turns a v2 request (JSON, plus the binary tensor extension's trailing bytes) into ORT
 * feeds, checking names, datatypes against the model, and shape x datatype against the data.
 */
export function decodeV2Inputs(
  request: V2Request,
  binary: Uint8Array,
  modelInputs: readonly ModelInputSpec[],
): Record<string, PlainTensor> {
  if (!Array.isArray(request.inputs) || request.inputs.length === 0) throw bad("'inputs' must be a non-empty array");
  const feeds: Record<string, PlainTensor> = {};
  let offset = 0;
  for (const t of request.inputs) {
    const spec = modelInputs.find((m) => m.name === t.name);
    if (!spec) throw bad(`unexpected input '${t.name}'; the model takes ${modelInputs.map((m) => `'${m.name}'`).join(', ')}`);
    const type = V2_TYPES[t.datatype as V2Datatype];
    if (!type) throw bad(`input '${t.name}': datatype '${t.datatype}' is not one of ${Object.keys(V2_TYPES).join(', ')}`);
    if (type.ort !== spec.dtype) throw bad(`input '${t.name}': datatype ${t.datatype} does not match the model's ${v2TypeOf(spec.dtype) ?? spec.dtype}`);
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad(`input '${t.name}': 'shape' must be non-negative integers`);
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => spec.shape[i] !== -1 && spec.shape[i] !== d)) {
      throw bad(`input '${t.name}': shape [${t.shape}] does not fit the model's [${spec.shape}] (-1 = any)`);
    }
    const count = t.shape.reduce((a, b) => a * b, 1);
    const size = t.parameters?.binary_data_size;
    let data: PlainTensor['data'];
    if (size !== undefined) {
      if (size !== count * type.bytes) throw bad(`input '${t.name}': binary_data_size ${size} != shape x datatype size ${count * type.bytes}`);
      if (offset + size > binary.length) throw bad(`input '${t.name}': the body holds ${binary.length - offset} binary bytes, ${size} declared`);
      data = fromBinary(type.ort, binary.subarray(offset, offset + size));
      offset += size;
    } else {
      if (t.data === undefined) throw bad(`input '${t.name}' has neither 'data' nor binary_data_size`);
      data = fromJson(t, count);
    }
    feeds[t.name] = { type: type.ort, data, dims: t.shape };
  }
  if (offset !== binary.length) throw bad(`${binary.length - offset} trailing binary bytes are not claimed by any input`);
  for (const m of modelInputs) if (!feeds[m.name]) throw bad(`missing input '${m.name}'`);
  return feeds;
}

export interface V2OutputTensor {
  name: string;
  datatype: V2Datatype;
  shape: number[];
  data?: Array<number | boolean>;
  parameters?: { binary_data_size: number };
}

/** Outputs as v2 JSON, or as binary chunks (binary tensor extension) when asked. */
export function encodeV2Outputs(
  outputs: Record<string, PlainTensor>,
  request: V2RequestOptions,
): { tensors: V2OutputTensor[]; chunks: Uint8Array[] } {
  const wanted = request.outputs?.length ? request.outputs : Object.keys(outputs).map((name) => ({ name, parameters: undefined }));
  const tensors: V2OutputTensor[] = [];
  const chunks: Uint8Array[] = [];
  for (const w of wanted) {
    const t = outputs[w.name];
    if (!t) throw bad(`unknown output '${w.name}'; the model gives ${Object.keys(outputs).map((n) => `'${n}'`).join(', ')}`);
    const datatype = v2TypeOf(t.type);
    if (!datatype) throw new FramewatchError('INFERENCE_FAILED', `output '${w.name}' has type ${t.type}, which v2 cannot carry`);
    const binary = w.parameters?.binary_data ?? request.parameters?.binary_data_output ?? false;
    const base = { name: w.name, datatype, shape: [...t.dims] };
    if (binary) {
      const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      chunks.push(bytes);
      tensors.push({ ...base, parameters: { binary_data_size: bytes.byteLength } });
    } else {
      const data = datatype === 'FP16' ? Array.from(t.data as unknown as Uint16Array, halfToFloat)
        : datatype === 'BOOL' ? Array.from(t.data as Uint8Array, (v) => v !== 0)
        : Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
      tensors.push({ ...base, data });
    }
  }
  return { tensors, chunks };
}

/**
 * Splits a request body (JSON, or the binary tensor extension's JSON header plus tensor bytes)
 * and decodes its inputs into ORT feeds. Pure: it runs inline for small bodies and in the
 * decode worker for large ones.
 */
export function decodeV2Request(
  body: Uint8Array | undefined,
  headerLength: string | string[] | undefined,
  modelInputs: readonly ModelInputSpec[],
): { request: V2RequestOptions; feeds: Record<string, PlainTensor> } {
  if (!body || body.length === 0) throw bad('the request body is empty');
  const jsonLength = headerLength === undefined ? body.length : Number(headerLength);
  if (!Number.isInteger(jsonLength) || jsonLength < 0 || jsonLength > body.length) {
    throw bad(`'Inference-Header-Content-Length' must be an integer in [0, ${body.length}]`);
  }
  let request: V2Request;
  try {
    request = JSON.parse(Buffer.from(body.buffer, body.byteOffset, jsonLength).toString('utf8'));
  } catch {
    throw bad('the inference request JSON is malformed');
  }
  if (typeof request !== 'object' || request === null) throw bad('the inference request must be a JSON object');
  const feeds = decodeV2Inputs(request, body.subarray(jsonLength), modelInputs);
  return { request: { id: request.id, parameters: request.parameters, outputs: request.outputs }, feeds };
}
