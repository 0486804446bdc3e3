import { performance } from 'node:perf_hooks';
import { applyPreprocessing } from '../../preprocessing/index.js';
import { driftSample, metrics, recordPredictions } from '../metrics/index.js';
import { decodeImage } from '../media/image.js';
import type { ReadyModel } from '../registry/index.js';
import type { Detection } from '../tasks/index.js';
import { postprocessOutputs } from './postprocess.js';

export interface ImagePredictOptions {
  maxPixels: number;
  /** Overrides the model's score threshold (0-1). */
  threshold?: number;
}

export interface ImagePrediction {
  model: { name: string; version: number };
  image: { width: number; height: number };
  detections: Detection[];
  timings: { decodeMs: number; preprocessMs: number; inferenceMs: number; postprocessMs: number; totalMs: number };
}

const ms = (from: number, to: number) => Math.round((to - from) * 100) / 100;

/** Decode, preprocess, infer and postprocess one encoded image. */
export async function predictImage(model: ReadyModel, bytes: Uint8Array, options: ImagePredictOptions): Promise<ImagePrediction> {
  const t0 = performance.now();
  const image = await decodeImage(bytes, { maxPixels: options.maxPixels });
  const t1 = performance.now();
  const input = await applyPreprocessing(image, model.manifest.preprocessing);
  const t2 = performance.now();
  const outputs = await model.batcher.run(input, 'interactive');
  const t3 = performance.now();
  const detections = postprocessOutputs(model, outputs, input.transform, options.threshold);
  const t4 = performance.now();
  const labels = { model: model.name, version: String(model.version) };
  metrics.decodeDuration.observe({ kind: 'image' }, (t1 - t0) / 1000);
  metrics.preprocessDuration.observe(labels, (t2 - t1) / 1000);
  recordPredictions(model, detections);
  model.drift?.observe(driftSample(image, detections));
  return {
    model: { name: model.name, version: model.version },
    image: { width: image.width, height: image.height },
    detections,
    timings: { decodeMs: ms(t0, t1), preprocessMs: ms(t1, t2), inferenceMs: ms(t2, t3), postprocessMs: ms(t3, t4), totalMs: ms(t0, t4) },
  };
}
