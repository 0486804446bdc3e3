import { touchesInnerEdge, type View } from '../../preprocessing/index.js';
import type { ReadyModel } from '../registry/index.js';
import type { NumericTensor, Priority } from '../runtime/index.js';
import { nonMaxSuppression, type Detection } from '../tasks/index.js';
import { postprocessOutputs } from './postprocess.js';

type Outputs = Record<string, NumericTensor>;

/** Hands every view of one picture to the model's batcher at once. */
export const runViews = (model: ReadyModel, views: readonly View[], priority: Priority): Promise<Outputs[]> =>
  Promise.all(views.map((v) => model.batcher.run(v.input, priority)));

/**
 * Merges the detections of a picture's views (the whole picture, then its tiles). A tile's box
 * cut by the tile's inner border is dropped: another view sees that object whole. A box of the
 * whole view narrower and shorter than the tiles' overlap is dropped too: such an object lies
 * whole inside some tile, which sees it at a higher resolution and places it better. What is
 * left goes through NMS, best score first.
 */
export function mergeViewDetections(views: readonly View[], perView: readonly Detection[][], opts: { iouThreshold: number; maxDetections: number; minOverlap: number }): Detection[] {
  const picture = { width: views[0].input.transform.sourceWidth, height: views[0].input.transform.sourceHeight };
  const all = perView.flatMap((detections, i) => {
    const tile = views[i].tile;
    if (tile) return detections.filter((d) => !touchesInnerEdge(d.box, tile, picture));
    return detections.filter((d) => d.box.width >= opts.minOverlap || d.box.height >= opts.minOverlap);
  });
  const kept = nonMaxSuppression(all.map((d) => d.box), all.map((d) => d.score), opts.iouThreshold, opts.maxDetections, all.map((d) => d.classId));
  return kept.map((k) => all[k]);
}

/** A view set's detections in source pixels: one view as the task gives them, several merged. */
export function postprocessViews(model: ReadyModel, views: readonly View[], outputs: readonly Outputs[], threshold?: number): Detection[] {
  const perView = views.map((v, i) => postprocessOutputs(model, outputs[i], v.input.transform, threshold));
  if (views.length === 1) return perView[0];
  const params = model.params as { iouThreshold?: number; maxDetections?: number };
  const minOverlap = model.manifest.preprocessing.tiles?.minOverlap ?? 0;
  return mergeViewDetections(views, perView, { iouThreshold: params.iouThreshold ?? 0.5, maxDetections: params.maxDetections ?? 100, minOverlap });
}
