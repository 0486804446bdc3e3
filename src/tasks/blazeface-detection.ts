import { z } from 'zod';
import type { Box } from '../../preprocessing/index.js';
import { FramewatchError } from '../errors/index.js';
import { emptyCandidates, finishDetections, type Candidates } from './box-candidates.js';
import { iou } from './geometry.js';
import type { OutputTensor, Task } from './types.js';

export const blazefaceParamsSchema = z.object({
  scoreThreshold: z.number().min(0).max(1).default(0.5),
  iouThreshold: z.number().min(0).max(1).default(0.3),
  maxDetections: z.number().int().positive().default(100),
  /** The square model input side; box offsets are in these pixels. */
  inputSize: z.number().int().positive().default(256),
  /** MediaPipe's SsdAnchorsCalculator `strides`: one per layer; layers of one stride share a grid. */
  strides: z.array(z.number().int().positive()).min(1).default([16, 32, 32, 32]),
  /** Anchors per cell that each layer adds (aspect ratio 1 plus the interpolated scale). */
  anchorsPerLayer: z.number().int().positive().default(2),
  /** Score and box outputs, one pair per distinct stride, in anchor order. */
  scoreOutputs: z.array(z.string()).min(1).default(['Identity:0', 'Identity_1:0']),
  boxOutputs: z.array(z.string()).min(1).default(['Identity_2:0', 'Identity_3:0']),
  /** MediaPipe's weighted NMS (overlapping boxes averaged by score) instead of plain NMS. */
  weightedNms: z.boolean().default(true),
});
export type BlazefaceParams = z.infer<typeof blazefaceParamsSchema>;

/** One anchor centre in model-input pixels (MediaPipe's fixed_anchor_size: width and height 1). */
export interface Anchor {
  x: number;
  y: number;
}

/**
 * SSD anchors as MediaPipe's SsdAnchorsCalculator makes them for BlazeFace: consecutive
 * layers of one stride are merged into one grid, each cell gets `anchorsPerLayer` anchors per
 * merged layer, all at the cell centre (anchor_offset 0.5), row by row.
 */
export function blazefaceAnchors(inputSize: number, strides: readonly number[], anchorsPerLayer: number): Anchor[] {
  const anchors: Anchor[] = [];
  for (let layer = 0; layer < strides.length;) {
    let last = layer;
    while (last + 1 < strides.length && strides[last + 1] === strides[layer]) last++;
    const perCell = (last - layer + 1) * anchorsPerLayer;
    const cells = Math.ceil(inputSize / strides[layer]);
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let a = 0; a < perCell; a++) anchors.push({ x: ((x + 0.5) / cells) * inputSize, y: ((y + 0.5) / cells) * inputSize });
      }
    }
    layer = last + 1;
  }
  return anchors;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** Rows of [anchors, width] tensors, concatenated in output order (the anchors' order). */
function concatRows(outputs: Record<string, OutputTensor>, names: readonly string[]): { rows: number; width: number; at: (row: number, col: number) => number } {
  const parts = names.map((name) => {
    const t = outputs[name];
    if (!t) throw new FramewatchError('INFERENCE_FAILED', `output '${name}' is missing; the model has ${Object.keys(outputs).join(', ')}`);
    return { data: t.data, rows: t.dims[t.dims.length - 2], width: t.dims[t.dims.length - 1] };
  });
  const starts = parts.map((_, i) => parts.slice(0, i).reduce((n, p) => n + p.rows, 0));
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const at = (row: number, col: number) => {
    let i = parts.length - 1;
    while (starts[i] > row) i--;
    return parts[i].data[(row - starts[i]) * parts[i].width + col];
  };
  return { rows, width: parts[0].width, at };
}

/**
 * Decodes BlazeFace's raw outputs: per anchor a score logit and 16 regressors (box centre
 * offset, width, height, then six keypoints, dropped), in model-input pixels.
 */
export function decodeBlazeface(outputs: Record<string, OutputTensor>, params: BlazefaceParams, anchors: readonly Anchor[]): Candidates {
  const scores = concatRows(outputs, params.scoreOutputs);
  const boxes = concatRows(outputs, params.boxOutputs);
  if (scores.rows !== anchors.length || boxes.rows !== anchors.length) {
    throw new FramewatchError('INFERENCE_FAILED', `the model gives ${scores.rows} scores and ${boxes.rows} boxes, the anchors number ${anchors.length} (strides [${params.strides}])`);
  }
  const found = emptyCandidates();
  for (let i = 0; i < anchors.length; i++) {
    const score = sigmoid(scores.at(i, 0));
    if (score < params.scoreThreshold) continue;
    const cx = anchors[i].x + boxes.at(i, 0), cy = anchors[i].y + boxes.at(i, 1);
    const w = boxes.at(i, 2), h = boxes.at(i, 3);
    found.boxes.push({ x: cx - w / 2, y: cy - h / 2, width: w, height: h });
    found.scores.push(score);
    found.classIds.push(0);
  }
  return found;
}

/**
 * MediaPipe's weighted NMS: the best remaining box takes every box overlapping it above the
 * threshold, and its box becomes their score-weighted mean (its score stays the best one).
 */
export function weightedNonMaxSuppression(c: Candidates, iouThreshold: number): Candidates {
  const order = Array.from(c.scores.keys()).sort((a, b) => c.scores[b] - c.scores[a]);
  const out = emptyCandidates();
  const taken = new Set<number>();
  for (const i of order) {
    if (taken.has(i)) continue;
    const cluster = order.filter((j) => !taken.has(j) && iou(c.boxes[i], c.boxes[j]) > iouThreshold);
    cluster.forEach((j) => taken.add(j));
    taken.add(i);
    const weight = cluster.reduce((s, j) => s + c.scores[j], 0);
    const mean = (pick: (b: Box) => number) => cluster.reduce((s, j) => s + pick(c.boxes[j]) * c.scores[j], 0) / weight;
    out.boxes.push(weight > 0 ? { x: mean((b) => b.x), y: mean((b) => b.y), width: mean((b) => b.width), height: mean((b) => b.height) } : c.boxes[i]);
    out.scores.push(c.scores[i]);
    out.classIds.push(c.classIds[i]);
  }
  return out;
}

const anchorCache = new Map<string, Anchor[]>();
function cachedAnchors(p: BlazefaceParams): Anchor[] {
  const key = `${p.inputSize}:${p.strides.join(',')}:${p.anchorsPerLayer}`;
  let anchors = anchorCache.get(key);
  if (!anchors) anchorCache.set(key, (anchors = blazefaceAnchors(p.inputSize, p.strides, p.anchorsPerLayer)));
  return anchors;
}

/**
 * MediaPipe BlazeFace face detection (keijiro's Barracuda ONNX export): SSD anchors, box
 * offsets in input pixels, sigmoid scores, weighted NMS. One label, `face`.
 */
export const blazefaceDetection: Task<BlazefaceParams> = {
  name: 'blazeface-detection',
  inputKind: 'image',
  paramsSchema: blazefaceParamsSchema,
  postprocess({ outputs, transform, params, labels }) {
    let found = decodeBlazeface(outputs, params, cachedAnchors(params));
    if (params.weightedNms) found = weightedNonMaxSuppression(found, params.iouThreshold);
    return finishDetections(found, { ...params, labels, transform });
  },
};
