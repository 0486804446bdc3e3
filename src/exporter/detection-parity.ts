// Whether two models' detections on one image agree, as a user would judge it: the same
// objects, at the same place, with about the same confidence. Used to judge a quantized
// variant against the float model it came from.
import { iou } from '../tasks/geometry.js';
import type { Detection } from '../tasks/index.js';

/** Below this IoU two boxes are taken for different objects, not for one object misplaced. */
const SAME_OBJECT_IOU = 0.5;

export interface ParityLimits {
  /** The manifest's score threshold: detections below it are not reported at all. */
  scoreThreshold: number;
  /** Smallest IoU of a matched pair's boxes (default 0.9). */
  minIou?: number;
  /** Largest score difference of a matched pair (default 0.05); also the margin above the threshold within which an unmatched detection is forgiven. */
  maxScoreDiff?: number;
}

export interface ParityResult {
  ok: boolean;
  /** Matched pairs: reference and candidate detection indices, IoU, score difference. */
  pairs: Array<{ label: string; iou: number; scoreDiff: number }>;
  failures: string[];
}

/**
 * Matches `candidate` to `reference` greedily by IoU, label by label (the pair with the
 * highest IoU first, each detection used once, pairs under IoU 0.5 not at all). A matched pair passes at IoU >= minIou and
 * scores within maxScoreDiff. A detection left unmatched on either side fails, unless its
 * score is within maxScoreDiff of the threshold (a borderline object may fall on either side).
 */
export function compareDetections(reference: readonly Detection[], candidate: readonly Detection[], limits: ParityLimits): ParityResult {
  const minIou = limits.minIou ?? 0.9;
  const maxScoreDiff = limits.maxScoreDiff ?? 0.05;
  const candidates: Array<{ r: number; c: number; iou: number }> = [];
  reference.forEach((a, r) => candidate.forEach((b, c) => {
    if (a.label === b.label) candidates.push({ r, c, iou: iou(a.box, b.box) });
  }));
  candidates.sort((x, y) => y.iou - x.iou || x.r - y.r || x.c - y.c);
  const usedR = new Set<number>(), usedC = new Set<number>();
  const result: ParityResult = { ok: true, pairs: [], failures: [] };
  const fail = (why: string) => {
    result.ok = false;
    result.failures.push(why);
  };
  for (const m of candidates) {
    if (m.iou < SAME_OBJECT_IOU || usedR.has(m.r) || usedC.has(m.c)) continue;
    usedR.add(m.r);
    usedC.add(m.c);
    const a = reference[m.r], b = candidate[m.c];
    const scoreDiff = Math.abs(a.score - b.score);
    result.pairs.push({ label: a.label, iou: m.iou, scoreDiff });
    if (m.iou < minIou || scoreDiff > maxScoreDiff) fail(`${a.label} ${a.score.toFixed(3)} vs ${b.score.toFixed(3)}, IoU ${m.iou.toFixed(3)}`);
  }
  const borderline = (d: Detection) => d.score < limits.scoreThreshold + maxScoreDiff;
  reference.forEach((d, i) => { if (!usedR.has(i) && !borderline(d)) fail(`${d.label} ${d.score.toFixed(3)} missing`); });
  candidate.forEach((d, i) => { if (!usedC.has(i) && !borderline(d)) fail(`${d.label} ${d.score.toFixed(3)} extra`); });
  return result;
}
