import { z } from 'zod';
import type { Task } from './types.js';

export const rawParamsSchema = z.object({ scoreThreshold: z.number().min(0).max(1).default(0) });

/**
 * Models served only as raw tensors (KServe v2 infer): no image preprocessing or decoding.
 * An image sent to /predict gets no detections from them.
 */
export const rawTensor: Task<z.infer<typeof rawParamsSchema>> = {
  name: 'raw-tensor',
  inputKind: 'tensor',
  paramsSchema: rawParamsSchema,
  postprocess: () => [],
};
