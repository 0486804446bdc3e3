import { iou, type Detection } from '../tasks/index.js';

/** What a tuned candidate must keep of the version it came from, per image (issue 27's bar). */
export const PARITY = { minIou: 0.9, maxScoreDiff: 0.05 } as const;

export interface ImageParity {
  image: string;
  ok: boolean;
  /** Detections of the source version, matched in the candidate, and the worst of the matches. */
  detections: number;
  matched: number;
  minIou: number;
  maxScoreDiff: number;
  /** Detections only one side has, at a score more than maxScoreDiff above the threshold. */
  unmatched: number;
}

/**
 * How a candidate's detections compare with the source version's on one image. Pairs are
 * matched greedily per label, best IoU first; a pair passes at IoU >= 0.9 and a score within
 * 0.05. A detection only one side has fails, unless its score is within 0.05 of the threshold
 * (it crossed the threshold by that much, which the score bar allows).
 */
export function compareDetections(image: string, source: readonly Detection[], candidate: readonly Detection[], threshold: number): ImageParity {
  const pairs = source.flatMap((s, i) => candidate.map((c, j) => ({ i, j, iou: s.label === c.label ? iou(s.box, c.box) : 0 })))
    .filter((p) => p.iou > 0)
    .sort((a, b) => b.iou - a.iou);
  const usedS = new Set<number>(), usedC = new Set<number>();
  let minIou = 1, maxScoreDiff = 0;
  for (const p of pairs) {
    if (usedS.has(p.i) || usedC.has(p.j)) continue;
    usedS.add(p.i);
    usedC.add(p.j);
    minIou = Math.min(minIou, p.iou);
    maxScoreDiff = Math.max(maxScoreDiff, Math.abs(source[p.i].score - candidate[p.j].score));
  }
  const clearOfThreshold = (d: Detection) => d.score > threshold + PARITY.maxScoreDiff;
  const unmatched = source.filter((d, i) => !usedS.has(i) && clearOfThreshold(d)).length
    + candidate.filter((d, j) => !usedC.has(j) && clearOfThreshold(d)).length;
  const matched = usedS.size;
  return {
    image, detections: source.length, matched, minIou: matched ? minIou : 1, maxScoreDiff, unmatched,
    ok: unmatched === 0 && (matched === 0 || (minIou >= PARITY.minIou && maxScoreDiff <= PARITY.maxScoreDiff)),
  };
}
