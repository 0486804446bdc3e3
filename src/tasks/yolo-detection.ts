import { z } from 'zod';
import { cornersToBox, emptyCandidates, finishDetections } from './box-candidates.js';
import type { Task } from './types.js';
import { FramewatchError } from '../errors/index.js';

export const yoloParamsSchema = z.object({
  scoreThreshold: z.number().min(0).max(1).default(0.25),
  iouThreshold: z.number().min(0).max(1).default(0.7),
  maxDetections: z.number().int().positive().default(300),
});
export type YoloParams = z.infer<typeof yoloParamsSchema>;

/**
 * Ultralytics YOLO (v8, 11) outputs, in input pixels:
 * - raw `[1, 4 + nc, N]`: rows cx, cy, w, h, then one score per class (no objectness);
 * - end-to-end `[1, K, 6]`: x1, y1, x2, y2, score, class (NMS already applied in the model).
 */
export const yoloDetection: Task<YoloParams> = {
  name: 'yolo-detection',
  inputKind: 'image',
  paramsSchema: yoloParamsSchema,
  postprocess({ outputs, outputNames, transform, params, labels }) {
    const out = outputs[outputNames[0]];
    const [, a, b] = out.dims;
    const d = out.data;
    const found = emptyCandidates();
    const endToEnd = b === 6;
    if (endToEnd) {
      // End-to-end layout: one row of six per kept detection.
      for (let k = 0; k < a; k++) {
        const r = k * 6;
        if (d[r + 4] < params.scoreThreshold) continue;
        found.boxes.push(cornersToBox(d[r], d[r + 1], d[r + 2], d[r + 3]));
        found.scores.push(d[r + 4]);
        found.classIds.push(Math.round(d[r + 5]));
      }
    } else {
      const nc = a - 4;
      if (nc < 1) throw new FramewatchError('INFERENCE_FAILED', `output dims [${out.dims}] are neither [1, 4+nc, N] nor [1, K, 6]`);
      for (let n = 0; n < b; n++) {
        let best = 0;
        for (let c = 1; c < nc; c++) if (d[(4 + c) * b + n] > d[(4 + best) * b + n]) best = c;
        const score = d[(4 + best) * b + n];
        if (score < params.scoreThreshold) continue;
        const cx = d[n], cy = d[b + n], w = d[2 * b + n], h = d[3 * b + n];
        found.boxes.push(cornersToBox(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2));
        found.scores.push(score);
        found.classIds.push(best);
      }
    }
    // End-to-end models already ran NMS; an IoU threshold of 1 suppresses nothing.
    return finishDetections(found, { ...params, iouThreshold: endToEnd ? 1 : params.iouThreshold, labels, transform });
  },
};
