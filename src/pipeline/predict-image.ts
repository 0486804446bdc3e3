import { performance } from 'node:perf_hooks';
import { FramewatchError } from '../errors/index.js';
import { metrics } from '../metrics/index.js';
import { preprocessViews, toModelInput, type PreprocessSpec, type View } from '../../preprocessing/index.js';
import { decodeImage, decodeResized, type DecodeOptions } from '../media/image.js';
import type { ReadyModel, ReadyPipeline } from '../registry/index.js';
import type { Detection } from '../tasks/index.js';
import { observeDetections } from './postprocess.js';
import { postprocessViews, runViews } from './views.js';

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

/** Milliseconds from one performance.now() to another, to two decimals (as timings report them). */
export const ms = (from: number, to: number) => Math.round((to - from) * 100) / 100;

/** A model that hears audio (a voice detector), not pictures: its uploads are audio jobs. */
export const hearsAudio = (target: ReadyModel | ReadyPipeline): target is ReadyModel => !('steps' in target) && target.task.inputKind === 'audio';

/**
 * INVALID_INPUT (400) for a model that takes no pictures (a voice detector hears audio): its
 * image or video-frame route would otherwise fail inside ONNX Runtime, as a 500.
 */
export function assertImageModel(model: ReadyModel): void {
  if (!hearsAudio(model)) return;
  throw new FramewatchError('INVALID_INPUT', `model '${model.name}' takes audio (task '${model.task.name}'), not images or video frames; send it an audio file or a video`, {
    model: model.name, version: model.version, task: model.task.name,
  });
}

/**
 * Decodes an image for its model inputs; `views()` then makes them (the preprocessing step,
 * timed apart). Untiled: decode and resize in one libvips pass, and the tensor step (no copy
 * for models that normalize in the graph). Tiled: tiles are cut from the full-size picture,
 * so it is decoded whole first, as a video frame is.
 */
async function decodeForViews(bytes: Uint8Array, spec: PreprocessSpec, options: DecodeOptions): Promise<{ width: number; height: number; views: () => Promise<View[]> }> {
  if (spec.tiles) {
    const image = await decodeImage(bytes, options);
    return { width: image.width, height: image.height, views: () => preprocessViews(image, spec) };
  }
  const { pixels, plan, width, height } = await decodeResized(bytes, spec, options);
  return { width, height, views: async () => [{ input: toModelInput(pixels, plan, spec) }] };
}

/** Decode, preprocess, infer and postprocess one encoded image. */
export async function predictImage(model: ReadyModel, bytes: Uint8Array, options: ImagePredictOptions): Promise<ImagePrediction> {
  assertImageModel(model);
  const t0 = performance.now();
  // Untiled, decode and resize run as one libvips pass (timed as decode); the tensor step
  // after it is what is left of preprocessing. Tiled, preprocessing cuts and resizes the tiles.
  const spec = model.manifest.preprocessing;
  const { width, height, views: makeViews } = await decodeForViews(bytes, spec, { maxPixels: options.maxPixels });
  const t1 = performance.now();
  const views = await makeViews();
  const t2 = performance.now();
  const outputs = await runViews(model, views, 'interactive');
  const t3 = performance.now();
  const detections = postprocessViews(model, views, outputs, options.threshold);
  const t4 = performance.now();
  const input = views[0].input;
  const labels = { model: model.name, version: String(model.version) };
  metrics.decodeDuration.observe({ kind: 'image' }, (t1 - t0) / 1000);
  metrics.preprocessDuration.observe(labels, (t2 - t1) / 1000);
  observeDetections(model, detections, { pixels: input.pixels, sourceSize: { width, height } });
  return {
    model: { name: model.name, version: model.version },
    image: { width, height },
    detections,
    timings: { decodeMs: ms(t0, t1), preprocessMs: ms(t1, t2), inferenceMs: ms(t2, t3), postprocessMs: ms(t3, t4), totalMs: ms(t0, t4) },
  };
}
