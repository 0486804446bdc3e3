import { z } from 'zod';
import { cornersToBox, emptyCandidates, finishDetections } from './box-candidates.js';
import type { Task } from './types.js';

export const centernetParamsSchema = z.object({
  scoreThreshold: z.number().min(0).max(1).default(0.3),
  iouThreshold: z.number().min(0).max(1).default(0.5),
  maxDetections: z.number().int().positive().default(100),
  /** Peaks kept before NMS (the original graph's TopK). */
  maxCandidates: z.number().int().positive().default(100),
  /** Input pixels per heatmap cell. */
  stride: z.number().positive().default(4),
  heatmapOutput: z.string().default('tower_0/keypoints'),
  sizeOutput: z.string().default('tower_0/wh'),
});
export type CenternetParams = z.infer<typeof centernetParamsSchema>;

/**
 * CenterNet decoding, as the original graph's tail does it: a class peak is a heatmap cell
 * equal to the max of its 3x3 neighbourhood (SAME max-pool); its box is the cell centre
 * times the stride, minus left/top and plus right/bottom distances from the size map.
 * Heatmap [1, H, W, C] and sizes [1, H, W, 4], both NHWC.
 */
export const centernetDetection: Task<CenternetParams> = {
  name: 'centernet-detection',
  inputKind: 'image',
  paramsSchema: centernetParamsSchema,
  postprocess({ outputs, transform, params, labels }) {
    const heat = outputs[params.heatmapOutput];
    const sizes = outputs[params.sizeOutput];
    if (!heat || !sizes) throw new Error(`outputs '${params.heatmapOutput}' and '${params.sizeOutput}' are required`);
    const [, H, W, C] = heat.dims;
    const h = heat.data;
    const wh = sizes.data;
    const found = emptyCandidates();
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const cell = (y * W + x) * C;
        for (let c = 0; c < C; c++) {
          const v = h[cell + c];
          if (v < params.scoreThreshold || !isPeak(h, x, y, c, W, H, C, v)) continue;
          const s = (y * W + x) * 4;
          const cx = x * params.stride, cy = y * params.stride;
          found.boxes.push(cornersToBox(cx - wh[s], cy - wh[s + 1], cx + wh[s + 2], cy + wh[s + 3]));
          found.scores.push(v);
          found.classIds.push(c);
        }
      }
    }
    return finishDetections(found, { ...params, labels, transform });
  },
};

function isPeak(h: ArrayLike<number>, x: number, y: number, c: number, W: number, H: number, C: number, v: number): boolean {
  for (let dy = -1; dy <= 1; dy++) {
    const ny = y + dy;
    if (ny < 0 || ny >= H) continue;
    for (let dx = -1; dx <= 1; dx++) {
      const nx = x + dx;
      if (nx < 0 || nx >= W) continue;
      if (h[(ny * W + nx) * C + c] > v) return false;
    }
  }
  return true;
}
