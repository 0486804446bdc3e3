import { z } from 'zod';
import { cornersToBox, emptyCandidates, finishDetections } from './box-candidates.js';
import type { Task } from './types.js';
import { FramewatchError } from '../errors/index.js';

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
  /**
   * Export-time: the exporter appends the peak search (3x3 max-pool, TopK of maxCandidates)
   * to the graph, which then outputs peaks/scores and peaks/indices instead of the heatmap.
   */
  decodeInModel: z.boolean().optional(),
});

/** Outputs of the in-graph peak search: the K best 3x3 peaks, and their index into the heatmap flattened as [C, H, W]. */
export const PEAK_SCORES_OUTPUT = 'peaks/scores';
export const PEAK_INDICES_OUTPUT = 'peaks/indices';
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
    const peakScores = outputs[PEAK_SCORES_OUTPUT];
    const peakIndices = outputs[PEAK_INDICES_OUTPUT];
    if (!(heat || (peakScores && peakIndices)) || !sizes) {
      throw new FramewatchError('INFERENCE_FAILED', `outputs '${params.sizeOutput}' and either '${params.heatmapOutput}' or '${PEAK_SCORES_OUTPUT}' with '${PEAK_INDICES_OUTPUT}' are required`);
    }
    const [, H, W] = sizes.dims;
    const wh = sizes.data;
    const found = emptyCandidates();
    const add = (x: number, y: number, c: number, score: number) => {
      const s = (y * W + x) * 4;
      const cx = x * params.stride, cy = y * params.stride;
      found.boxes.push(cornersToBox(cx - wh[s], cy - wh[s + 1], cx + wh[s + 2], cy + wh[s + 3]));
      found.scores.push(score);
      found.classIds.push(c);
    };
    if (peakScores && peakIndices) {
      // The graph found the peaks; they come sorted, best first.
      for (let i = 0; i < peakScores.data.length && peakScores.data[i] >= params.scoreThreshold; i++) {
        const index = peakIndices.data[i];
        const c = Math.floor(index / (H * W));
        const cell = index - c * H * W;
        add(cell % W, Math.floor(cell / W), c, peakScores.data[i]);
      }
    } else {
      const C = heat!.dims[3];
      const h = heat!.data;
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const cell = (y * W + x) * C;
          for (let c = 0; c < C; c++) {
            const v = h[cell + c];
            if (v >= params.scoreThreshold && isPeak(h, x, y, c, W, H, C, v)) add(x, y, c, v);
          }
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
