import type { ModelInput } from '../../preprocessing/index.js';
import type { ModelSession, PlainTensor } from './session.js';

/** An output tensor with numeric data, as tasks/ consume it. */
export interface NumericTensor {
  readonly data: ArrayLike<number>;
  readonly dims: readonly number[];
  readonly type: string;
}

const TENSOR_ARRAYS = { float32: Float32Array, float16: Uint16Array, int64: BigInt64Array, int32: Int32Array, uint8: Uint8Array, bool: Uint8Array } as const;

/**
 * The typed array ONNX Runtime uses for a tensor type (float16 as raw Uint16 bits, bool as
 * Uint8): zero-filled with `source` elements, or a view of the `source` buffer.
 */
export function tensorArray(dtype: string, source: number | ArrayBuffer): PlainTensor['data'] {
  const Ctor = TENSOR_ARRAYS[dtype as keyof typeof TENSOR_ARRAYS];
  if (!Ctor) throw new RangeError(`unsupported tensor type '${dtype}'`);
  return new Ctor(source as ArrayBuffer);
}

const feed = (data: Float32Array | Uint8Array, dtype: string, dims: readonly number[]): PlainTensor => ({ type: dtype, data, dims: [...dims] });

/** Runs one preprocessed input through a session; returns the outputs by name. */
export async function runSingle(session: ModelSession, input: ModelInput): Promise<Record<string, NumericTensor>> {
  return (await session.run({ [session.inputs[0].name]: feed(input.data, input.dtype, input.dims) })) as Record<string, NumericTensor>;
}

/** Whether the session's first input takes a batch dimension larger than one. */
export const acceptsBatches = (session: ModelSession): boolean => session.inputs[0].shape[0] === -1;

/**
 * Runs inputs of one shape as a single batch [N, ...] and splits every output along its
 * first dimension. Sessions with a fixed batch of 1 run the inputs one by one.
 */
export async function runBatch(session: ModelSession, inputs: readonly ModelInput[]): Promise<Array<Record<string, NumericTensor>>> {
  if (inputs.length === 1 || !acceptsBatches(session)) {
    const results = [];
    for (const input of inputs) results.push(await runSingle(session, input));
    return results;
  }
  const [first] = inputs;
  const itemSize = first.data.length;
  for (const input of inputs) {
    if (input.dtype !== first.dtype || input.dims.join('x') !== first.dims.join('x')) {
      throw new RangeError(`batched inputs must share one shape: [${first.dims}] vs [${input.dims}]`);
    }
  }
  const batch = first.dtype === 'uint8' ? new Uint8Array(itemSize * inputs.length) : new Float32Array(itemSize * inputs.length);
  inputs.forEach((input, i) => batch.set(input.data, i * itemSize));
  // The batch buffer is ours alone: it moves to the worker instead of being copied.
  const outputs = await session.run({ [session.inputs[0].name]: feed(batch, first.dtype, [inputs.length, ...first.dims.slice(1)]) }, [batch.buffer as ArrayBuffer]);
  return inputs.map((_, i) =>
    Object.fromEntries(
      Object.entries(outputs).map(([name, out]) => {
        const data = out.data as Float32Array;
        const per = data.length / out.dims[0];
        return [name, { data: data.subarray(i * per, (i + 1) * per), dims: [1, ...out.dims.slice(1)], type: out.type }];
      }),
    ),
  );
}
