import type { z } from 'zod';
import type { Transform } from '../../preprocessing/index.js';

export type { Detection } from '../shared/job-result.js';
import type { Detection } from '../shared/job-result.js';

/** A raw output tensor, as ONNX Runtime returns it. */
export interface OutputTensor {
  readonly data: ArrayLike<number>;
  readonly dims: readonly number[];
}

export interface PostprocessInput<P> {
  /** Output tensors by name; batch index 0 is this image. */
  outputs: Record<string, OutputTensor>;
  outputNames: readonly string[];
  transform: Transform;
  params: P;
  labels: readonly string[];
}

/** A kind of model: how its parameters look and how its outputs become detections. */
export interface Task<P extends { scoreThreshold: number }> {
  readonly name: string;
  /** 'image' models take preprocessed pictures; 'tensor' models only raw v2 tensors; 'audio' models 16 kHz audio (and raw v2 tensors). */
  readonly inputKind: 'image' | 'tensor' | 'audio';
  readonly paramsSchema: z.ZodType<P>;
  postprocess(input: PostprocessInput<P>): Detection[];
}
