import { performance } from 'node:perf_hooks';
import { applyPreprocessing, decoderScale, preprocessViews, type PreprocessSpec, type View } from '../../preprocessing/index.js';
import { FramewatchError } from '../errors/index.js';
import { sampleFrames, type SampledFrame, type VideoInfo } from '../media/ffmpeg.js';
import { createCueLog, type RawCues } from '../media/cues.js';
import { metrics } from '../metrics/index.js';
import type { ReadyModel, ReadyPipeline } from '../registry/index.js';
import type { NumericTensor } from '../runtime/index.js';
import { createBoundedQueue } from './frame-queue.js';
import { withColours } from './colour.js';
import { createMotionGate, type MotionOptions } from './motion.js';
import { observeDetections } from './postprocess.js';
import { postprocessViews, runViews } from './views.js';
import { readDetections } from './predict-pipeline.js';
import type { FrameDetections, StageTimings } from '../shared/job-result.js';
import type { FrameRange } from '../shared/video.js';

export type { FrameRange } from '../shared/video.js';
export type { StageTimings } from '../shared/job-result.js';


export interface InferFramesOptions {
  threshold?: number;
  /** ffmpeg's decoder threads; undefined = ffmpeg's choice. */
  decodeThreads?: number;
  signal?: AbortSignal;
  onProgress?: (framesDone: number) => void;
  /** Each frame's detections as soon as they are known, in time order (the redaction's face pass tracks them as they come). */
  onFrame?: (frame: FrameDetections) => void;
  /** Motion gating: frames too like the last inferred one skip the model. */
  motion?: MotionOptions;
  /** A pipeline's later steps, run on each inferred frame's detections (text-reader: read each line). */
  readers?: ReadyPipeline['steps'];
  /** Run the picture cue filters on every decoded frame of the range (exact sampling: the same decode). */
  cues?: boolean;
}

/** Time of frame `index` on the grid, to the millisecond (as results report it). */
export const frameTimeS = (range: Pick<FrameRange, 'gridStartS' | 'fps'>, index: number): number =>
  Math.round((range.gridStartS + index / range.fps) * 1000) / 1000;

export const rangeStartS = (range: FrameRange): number => range.keyframeTimes?.[0] ?? range.gridStartS + range.firstIndex / range.fps;

/** Where a grid range's decode ends: its end, its last frame's interval, or the video's end. */
const rangeEndS = (range: FrameRange, info: Pick<VideoInfo, 'durationS'>): number =>
  Math.min(info.durationS, range.endS ?? (range.frames !== undefined ? rangeStartS(range) + range.frames / range.fps : info.durationS));

/**
 * The size ffmpeg delivers a video's frames at for this model: its preprocessing's content
 * size, so that the full-size frame never crosses the pipe nor goes through sharp. A
 * pipeline's readers crop lines from the full-size frame, so it keeps the source size.
 */
export function videoDecoderScale(model: { manifest: { preprocessing: PreprocessSpec } }, info: Pick<VideoInfo, 'width' | 'height'>, readers?: ReadyPipeline['steps']) {
  return readers?.length ? undefined : decoderScale(model.manifest.preprocessing, info.width, info.height);
}

/**
 * Decodes one range with ffmpeg (at the model's size, see videoDecoderScale), preprocesses each frame and hands it to the batcher at once,
 * into a bounded queue of frames in flight (two batches), so ONNX Runtime already has the
 * next frames while this postprocesses. A full queue pauses ffmpeg. Returns each frame's
 * detections in source pixels.
 */
export async function inferFrames(
  model: ReadyModel,
  path: string,
  info: VideoInfo,
  range: FrameRange,
  o: InferFramesOptions,
): Promise<{ frames: FrameDetections[]; timings: StageTimings; framesInferred: number; cues?: RawCues }> {
  const timings: StageTimings = { decodeMs: 0, preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 };
  // Frames per batch: the model's cap for bulk items (1 on CPU, where frames run faster alone).
  const batchSize = model.batching.bulkMaxBatchSize;
  // outputs is undefined for a frame the motion gate kept from the model.
  // views: the frame's model inputs (the whole frame, then its tiles when the spec tiles).
  type Submitted = { frame: SampledFrame; views: View[]; outputs?: Promise<Array<Record<string, NumericTensor>>> };
  const gate = createMotionGate(o.motion);
  const queue = createBoundedQueue<Submitted>(Math.max(2, batchSize * 2));
  const spec = model.manifest.preprocessing;
  const metricLabels = { model: model.name, version: String(model.version) };
  // Stops ffmpeg when the caller cancels or when inference fails first.
  const stop = new AbortController();
  const onCancel = () => stop.abort();
  o.signal?.addEventListener('abort', onCancel, { once: true });
  // inferenceMs: wall time with at least one of this range's frames in the batcher.
  let pending = 0;
  let busySince = 0;
  const settled = () => {
    if (--pending === 0) timings.inferenceMs += performance.now() - busySince;
  };

  const scale = videoDecoderScale(model, info, o.readers);
  const cues = o.cues && !range.keyframeTimes ? createCueLog(rangeStartS(range)) : undefined;
  const producer = (async () => {
    const startS = rangeStartS(range);
    const frames = sampleFrames(path, info, {
      fps: range.fps, startS, endS: range.endS, maxFrames: range.frames, keyframeTimes: range.keyframeTimes, signal: stop.signal, threads: o.decodeThreads, scale, cues,
    });
    try {
      for (let t = performance.now(), next = await frames.next(); !next.done; t = performance.now(), next = await frames.next()) {
        const t1 = performance.now();
        timings.decodeMs += t1 - t;
        const views = next.value.scaledFrom ? [{ input: await applyPreprocessing(next.value.image, spec, next.value.scaledFrom) }] : await preprocessViews(next.value.image, spec);
        const input = views[0].input;
        const t2 = performance.now();
        timings.preprocessMs += t2 - t1;
        metrics.preprocessDuration.observe(metricLabels, (t2 - t1) / 1000);
        if (!gate.shouldInfer(next.value.timeS, input.pixels)) {
          await queue.push({ frame: next.value, views });
          continue;
        }
        if (pending++ === 0) busySince = t2;
        // Bulk priority: the batcher forms batches from these and lets image requests go first.
        const outputs = runViews(model, views, 'bulk');
        outputs.then(settled, settled);
        await queue.push({ frame: next.value, views, outputs });
      }
      queue.close();
    } catch (err) {
      queue.close(err);
    }
  })();

  const frames: FrameDetections[] = [];
  // What a skipped frame carries forward: the last inferred frame's detections.
  let carried: FrameDetections['detections'] = [];
  try {
    for (let batch = await queue.take(batchSize); batch.length > 0; batch = await queue.take(batchSize)) {
      if (o.signal?.aborted) throw new FramewatchError('CANCELLED', 'the job was cancelled');
      const outputs = await Promise.all(batch.map((b) => b.outputs));
      const t3 = performance.now();
      for (const [i, { frame, views }] of batch.entries()) {
        const inferred = outputs[i];
        let detections = inferred ? postprocessViews(model, views, inferred, o.threshold) : carried;
        if (inferred && o.readers?.length) detections = await readDetections(o.readers, frame.image, [...detections], { priority: 'bulk' });
        else if (inferred) detections = withColours(detections, frame.image, info);
        if (inferred) {
          carried = detections;
          observeDetections(model, detections, { pixels: views[0].input.pixels, sourceSize: info });
        }
        const index = range.firstIndex + frame.index;
        const timeS = range.keyframeTimes ? Math.round(frame.timeS * 1000) / 1000 : frameTimeS(range, index);
        frames.push({ index, timeS, detections });
        o.onFrame?.(frames.at(-1)!);
      }
      timings.postprocessMs += performance.now() - t3;
      metrics.videoFrames.inc(metricLabels, batch.length);
      o.onProgress?.(frames.length);
    }
  } finally {
    o.signal?.removeEventListener('abort', onCancel);
    stop.abort();
    queue.close();
    await producer;
  }
  const cuesFound = cues?.finish(rangeEndS(range, info), 1 / (info.fps || range.fps));
  return { frames, timings, framesInferred: gate.counts.framesInferred, ...(cuesFound ? { cues: cuesFound } : {}) };
}
