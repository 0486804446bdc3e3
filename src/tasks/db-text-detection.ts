import { z } from 'zod';
import { mapPointToSource, type Point } from '../../preprocessing/index.js';
import { boundingBox, minAreaRect, pointInPolygon, polygonAreaPerimeter, rectCorners, type RotatedRect } from './geometry.js';
import type { Detection, Task } from './types.js';

/** DB (differentiable binarization) parameters, named after PaddleOCR's DBPostProcess. */
export const dbParamsSchema = z.object({
  /** Pixel probability above which a pixel is text (PaddleOCR `thresh`). */
  binaryThreshold: z.number().min(0).max(1).default(0.3),
  /** Minimum mean probability inside a box (PaddleOCR `box_thresh`). */
  scoreThreshold: z.number().min(0).max(1).default(0.6),
  unclipRatio: z.number().positive().default(1.5),
  minSize: z.number().nonnegative().default(3),
  maxCandidates: z.number().int().positive().default(1000),
});
export type DbParams = z.infer<typeof dbParamsSchema>;

interface Component {
  /** Row extremes: the points that can lie on the component's convex hull. */
  points: Point[];
}

/** 8-connected components of `prob > threshold`, largest first, at most `max`. */
export function findComponents(prob: ArrayLike<number>, width: number, height: number, threshold: number, max: number): Component[] {
  const seen = new Uint8Array(width * height);
  const stack = new Int32Array(width * height);
  const components: Array<Component & { size: number }> = [];
  for (let start = 0; start < width * height; start++) {
    if (seen[start] || !(prob[start] > threshold)) continue;
    const rowMin = new Map<number, number>();
    const rowMax = new Map<number, number>();
    let top = 0;
    let size = 0;
    stack[top++] = start;
    seen[start] = 1;
    while (top > 0) {
      const idx = stack[--top];
      size++;
      const x = idx % width;
      const y = (idx - x) / width;
      if (!(rowMin.get(y)! <= x)) rowMin.set(y, x);
      if (!(rowMax.get(y)! >= x)) rowMax.set(y, x);
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const n = ny * width + nx;
          if (!seen[n] && prob[n] > threshold) {
            seen[n] = 1;
            stack[top++] = n;
          }
        }
      }
    }
    const points: Point[] = [];
    for (const [y, x] of rowMin) points.push({ x, y }, { x: rowMax.get(y)!, y });
    components.push({ points, size });
  }
  components.sort((a, b) => b.size - a.size);
  return components.slice(0, max);
}

/** Mean probability of the pixels whose centres fall inside the quad (PaddleOCR's box_score_fast). */
export function meanInsideQuad(prob: ArrayLike<number>, width: number, height: number, quad: readonly Point[]): number {
  const bb = boundingBox(quad);
  const x0 = Math.max(0, Math.floor(bb.x)), x1 = Math.min(width - 1, Math.ceil(bb.x + bb.width));
  const y0 = Math.max(0, Math.floor(bb.y)), y1 = Math.min(height - 1, Math.ceil(bb.y + bb.height));
  let sum = 0, count = 0, boxSum = 0, boxCount = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const v = prob[y * width + x];
      boxSum += v;
      boxCount++;
      if (pointInPolygon({ x, y }, quad)) {
        sum += v;
        count++;
      }
    }
  }
  if (count > 0) return sum / count;
  return boxCount > 0 ? boxSum / boxCount : 0;
}

/** Grows a rectangle by DB's unclip distance (area * ratio / perimeter) on every side. */
export function unclipRect(rect: RotatedRect, ratio: number): RotatedRect {
  const { area, perimeter } = polygonAreaPerimeter(rectCorners(rect));
  const d = perimeter > 0 ? (area * ratio) / perimeter : 0;
  return { ...rect, width: rect.width + 2 * d, height: rect.height + 2 * d };
}

/** PP-OCR's DB detector: probability map [1, 1, H, W] to rotated text boxes in source pixels. */
export const dbTextDetection: Task<DbParams> = {
  name: 'db-text-detection',
  inputKind: 'image',
  paramsSchema: dbParamsSchema,
  postprocess({ outputs, outputNames, transform, params, labels }) {
    const map = outputs[outputNames[0]];
    const height = map.dims[map.dims.length - 2];
    const width = map.dims[map.dims.length - 1];
    const prob = map.data;
    const detections: Detection[] = [];
    for (const component of findComponents(prob, width, height, params.binaryThreshold, params.maxCandidates)) {
      const rect = minAreaRect(component.points);
      if (Math.min(rect.width, rect.height) < params.minSize) continue;
      const score = meanInsideQuad(prob, width, height, rectCorners(rect));
      if (score < params.scoreThreshold) continue;
      const grown = unclipRect(rect, params.unclipRatio);
      if (Math.min(grown.width, grown.height) < params.minSize + 2) continue;
      const polygon = rectCorners(grown).map((p) => {
        const s = mapPointToSource(transform, p);
        return { x: Math.round(s.x), y: Math.round(s.y) };
      });
      detections.push({ label: labels[0] ?? 'text', classId: 0, score, box: boundingBox(polygon), polygon });
    }
    return detections.sort((a, b) => b.score - a.score);
  },
};
