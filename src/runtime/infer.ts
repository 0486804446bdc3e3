import type { ModelInput } from '../../preprocessing/index.js';
import { ort, type ModelSession } from './session.js';

/** An output tensor with numeric data, as tasks/ consume it. */
export interface NumericTensor {
  readonly data: ArrayLike<number>;
  readonly dims: readonly number[];
  readonly type: string;
}

/** Runs one preprocessed input through a session; returns the outputs by name. */
export async function runSingle(session: ModelSession, input: ModelInput): Promise<Record<string, NumericTensor>> {
  const tensor = new ort.Tensor(input.dtype, input.data, [...input.dims]);
  return (await session.run({ [session.inputs[0].name]: tensor })) as unknown as Record<string, NumericTensor>;
}
