import type { z } from 'zod';
import type { Box, Point, Transform } from '../../preprocessing/index.js';

/** One detection in source-image pixels; x and y are the top-left corner. */
export interface Detection {
  label: string;
  classId: number;
  score: number;
  box: Box;
  /** Rotated quad for text boxes: top-left, top-right, bottom-right, bottom-left. */
  polygon?: Point[];
  /** What a text recognizer read in the box, and its confidence (0-1). */
  text?: string;
  textScore?: number;
}

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
  /** 'image' models take preprocessed pictures; 'tensor' models only raw v2 tensors. */
  readonly inputKind: 'image' | 'tensor';
  readonly paramsSchema: z.ZodType<P>;
  postprocess(input: PostprocessInput<P>): Detection[];
}
