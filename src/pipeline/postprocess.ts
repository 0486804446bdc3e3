import type { Transform } from '../../preprocessing/index.js';
import type { ReadyModel } from '../registry/index.js';
import type { NumericTensor } from '../runtime/index.js';
import type { Detection } from '../tasks/index.js';

/** Runs the model's task on one item's outputs, with an optional score threshold override. */
export function postprocessOutputs(model: ReadyModel, outputs: Record<string, NumericTensor>, transform: Transform, threshold?: number): Detection[] {
  const params = threshold === undefined ? model.params : { ...model.params, scoreThreshold: threshold };
  return model.task.postprocess({
    outputs,
    outputNames: model.session.outputs.map((o) => o.name),
    transform,
    params,
    labels: model.manifest.labels,
  });
}
