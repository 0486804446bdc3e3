import { mapBoxToSource, type Box, type Transform } from '../../preprocessing/index.js';
import { nonMaxSuppression } from './geometry.js';
import type { Detection } from './types.js';

/** Candidate boxes in model-input pixels, collected by a decoder before NMS. */
export interface Candidates {
  boxes: Box[];
  scores: number[];
  classIds: number[];
}

export const emptyCandidates = (): Candidates => ({ boxes: [], scores: [], classIds: [] });

/** Box from corner coordinates (x1, y1, x2, y2). */
export const cornersToBox = (x1: number, y1: number, x2: number, y2: number): Box => ({ x: x1, y: y1, width: x2 - x1, height: y2 - y1 });

/**
 * The shared tail of every detector: keep the best `maxCandidates`, run class-aware NMS,
 * cap at `maxDetections`, and map boxes back to source pixels.
 */
export function finishDetections(
  c: Candidates,
  opts: { iouThreshold: number; maxDetections: number; maxCandidates?: number; labels: readonly string[]; transform: Transform },
): Detection[] {
  let order = Array.from(c.scores.keys()).sort((a, b) => c.scores[b] - c.scores[a]);
  if (opts.maxCandidates !== undefined) order = order.slice(0, opts.maxCandidates);
  const boxes = order.map((i) => c.boxes[i]);
  const scores = order.map((i) => c.scores[i]);
  const classIds = order.map((i) => c.classIds[i]);
  return nonMaxSuppression(boxes, scores, opts.iouThreshold, opts.maxDetections, classIds).map((k) => ({
    label: opts.labels[classIds[k]] ?? String(classIds[k]),
    classId: classIds[k],
    score: scores[k],
    box: mapBoxToSource(opts.transform, boxes[k]),
  }));
}
