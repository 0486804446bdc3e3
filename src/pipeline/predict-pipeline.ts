import { performance } from 'node:perf_hooks';
import { applyPreprocessing, type Point, type RgbImage } from '../../preprocessing/index.js';
import { decodeImage } from '../media/image.js';
import { warpQuad } from '../media/warp.js';
import { metrics } from '../metrics/index.js';
import type { ReadyModel, ReadyPipeline } from '../registry/index.js';
import type { Priority } from '../runtime/index.js';
import type { Detection } from '../tasks/index.js';
import { assertImageModel, ms, type ImagePredictOptions } from './predict-image.js';
import { mapPool } from './map-pool.js';
import { observeDetections, postprocessOutputs } from './postprocess.js';

/** Crops of one image in flight at once in a later step: its batcher groups them by width bucket. */
const CROPS_IN_FLIGHT = 4;

export interface PipelinePrediction {
  model: { name: string; version: number; kind: 'pipeline' };
  steps: Array<{ model: string; version: number; items: number; ms: number }>;
  image: { width: number; height: number };
  detections: Detection[];
  timings: { decodeMs: number; totalMs: number };
}

/**
 * One picture through one model's batcher: its detections in the picture's pixels. A whole
 * picture (`drift`: a pipeline's first step) feeds its model's drift window, as an image sent
 * to the model alone does; the crops of later steps do not.
 */
async function runStep(model: ReadyModel, image: RgbImage, o: { threshold?: number; priority?: Priority; drift?: boolean } = {}): Promise<Detection[]> {
  const input = await applyPreprocessing(image, model.manifest.preprocessing);
  const outputs = await model.batcher.run(input, o.priority ?? 'interactive');
  const detections = postprocessOutputs(model, outputs, input.transform, o.threshold);
  observeDetections(model, detections, o.drift ? { pixels: input.pixels, sourceSize: image } : undefined);
  return detections;
}

const corners = (d: Detection): Point[] =>
  d.polygon ?? [{ x: d.box.x, y: d.box.y }, { x: d.box.x + d.box.width, y: d.box.y }, { x: d.box.x + d.box.width, y: d.box.y + d.box.height }, { x: d.box.x, y: d.box.y + d.box.height }];

/** What runs on each video frame: a model alone, or a pipeline's first step with its later steps reading what it found. */
export function frameSteps(target: ReadyModel | ReadyPipeline): { model: ReadyModel; readers: ReadyPipeline['steps'] } {
  if (!('steps' in target)) {
    assertImageModel(target);
    return { model: target, readers: [] };
  }
  const [first, ...readers] = target.steps;
  return { model: first.model, readers };
}

/**
 * The steps after the first, on each detection's crop of `source` (its quad warped upright):
 * what a step reads (`text`, `textScore`) is merged into the detection. `onStep` hears when
 * each step began. Video frames read as bulk work (behind interactive requests, outside their
 * queue limit), as their first step runs.
 */
export async function readDetections(
  steps: ReadyPipeline['steps'],
  source: RgbImage,
  detections: Detection[],
  o: { priority?: Priority; onStep?: (model: ReadyModel, startedAt: number) => void } = {},
): Promise<Detection[]> {
  for (const step of steps) {
    const t = performance.now();
    detections = await mapPool(detections, CROPS_IN_FLIGHT, async (d) => {
      let crop: RgbImage;
      try {
        crop = warpQuad(source, corners(d));
      } catch {
        return d; // a degenerate quad (a line of zero height): nothing to read, the detection stays
      }
      const [read] = await runStep(step.model, crop, { priority: o.priority });
      return read?.text === undefined ? d : { ...d, text: read.text, textScore: read.textScore };
    });
    o.onStep?.(step.model, t);
  }
  return detections;
}

/**
 * An image through a pipeline: step 0 on the whole picture (with the threshold override),
 * then each later step on every detection's crop (its quad warped upright), each through its
 * own model's batcher, so steps of different requests overlap. What a later step reads
 * (`text`, `textScore`) is merged into the detection.
 */
export async function predictPipelineImage(pipeline: ReadyPipeline, bytes: Uint8Array, options: ImagePredictOptions): Promise<PipelinePrediction> {
  const t0 = performance.now();
  const source = await decodeImage(bytes, { maxPixels: options.maxPixels });
  const t1 = performance.now();
  const steps: PipelinePrediction['steps'] = [];
  const observe = (model: ReadyModel, from: number, items: number) => {
    const to = performance.now();
    metrics.pipelineStepDuration.observe({ pipeline: pipeline.name, version: String(pipeline.version), step: model.name }, (to - from) / 1000);
    steps.push({ model: model.name, version: model.version, items, ms: ms(from, to) });
  };
  const { model: first, readers: later } = frameSteps(pipeline);
  const t = performance.now();
  let detections = await runStep(first, source, { threshold: options.threshold, drift: true });
  observe(first, t, 1);
  detections = await readDetections(later, source, detections, { onStep: (model, from) => observe(model, from, detections.length) });
  const t2 = performance.now();
  metrics.pipelineDuration.observe({ pipeline: pipeline.name, version: String(pipeline.version) }, (t2 - t0) / 1000);
  return {
    model: { name: pipeline.name, version: pipeline.version, kind: 'pipeline' },
    steps,
    image: { width: source.width, height: source.height },
    detections,
    timings: { decodeMs: ms(t0, t1), totalMs: ms(t0, t2) },
  };
}
