import type { RgbImage, Transform } from '../../preprocessing/index.js';
import { driftSample, recordPredictions } from '../metrics/index.js';
import { FramewatchError, isFramewatchError } from '../errors/index.js';
import type { ReadyModel } from '../registry/index.js';
import type { NumericTensor } from '../runtime/index.js';
import type { Detection } from '../tasks/index.js';

/**
 * Runs the model's task on one item's outputs, with an optional score threshold override.
 * Any failure in the task is INFERENCE_FAILED: the client sent a valid input, the model's
 * outputs could not be turned into detections.
 */
export function postprocessOutputs(model: ReadyModel, outputs: Record<string, NumericTensor>, transform: Transform, threshold?: number): Detection[] {
  const params = threshold === undefined ? model.params : { ...model.params, scoreThreshold: threshold };
  try {
    return model.task.postprocess({
      outputs,
      outputNames: model.session.outputs.map((o) => o.name),
      transform,
      params,
      labels: model.manifest.labels,
    });
  } catch (err) {
    if (isFramewatchError(err)) throw err;
    throw new FramewatchError('INFERENCE_FAILED', `postprocessing failed: ${(err as Error).message}`, undefined, { cause: err });
  }
}

/**
 * What the metrics see of one inference: its detections by label and score, and, for a whole
 * picture, a drift sample. Drift statistics come from the model-sized pixels, never the
 * source frame; `sourceSize` is the picture's size before preprocessing.
 */
export function observeDetections(model: ReadyModel, detections: readonly Detection[], picture?: { pixels: RgbImage; sourceSize: { width: number; height: number } }): void {
  recordPredictions(model, detections);
  if (picture) model.drift?.observe(driftSample(picture.pixels, detections, picture.sourceSize));
}
