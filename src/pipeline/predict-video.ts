import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { applyPreprocessing, type ModelInput } from '../../preprocessing/index.js';
import { FramewatchError } from '../errors/index.js';
import { sampleFrames, type SampledFrame, type VideoInfo } from '../media/ffmpeg.js';
import { renderThumbnail } from '../media/thumbnail.js';
import type { ReadyModel } from '../registry/index.js';
import { driftSample, metrics, recordPredictions } from '../metrics/index.js';
import type { NumericTensor } from '../runtime/index.js';
import type { Detection } from '../tasks/index.js';
import { createBoundedQueue } from './frame-queue.js';
import { postprocessOutputs } from './postprocess.js';
import { buildSegments, summarizeReview, type ReviewSummary, type SegmentLabel } from './segments.js';
import { createTracker, DEFAULT_TRACKER, type FrameDetections } from './tracker.js';

export interface VideoOptions {
  fps: number;
  startS: number;
  endS?: number;
  maxFrames?: number;
  labels?: string[];
  pad: number;
  mergeGap: number;
  threshold?: number;
  includeFrames: boolean;
  /** ffmpeg's decoder threads; undefined = per provider (decoderThreadsFor). */
  decodeThreads?: number;
  /** Where segment thumbnails are written as <n>.jpg. */
  thumbnailDir: string;
  signal?: AbortSignal;
  onProgress?: (progress: { framesDone: number; framesTotal: number }) => void;
}

export interface VideoSegment {
  index: number;
  startS: number;
  endS: number;
  labels: SegmentLabel[];
  bestFrame: { timeS: number; detections: Detection[] };
}

export interface VideoPrediction {
  model: { name: string; version: number };
  video: { durationS: number; fps: number; width: number; height: number; codec: string; framesSampled: number };
  frames?: FrameDetections[];
  tracks: Array<{ id: number; label: string; startS: number; endS: number; maxScore: number; hits: number }>;
  segments: VideoSegment[];
  review: ReviewSummary;
  timings: { decodeMs: number; preprocessMs: number; inferenceMs: number; postprocessMs: number; totalMs: number; framesPerSecond: number };
}

/** Frames the sampler will deliver for these options (for progress). */
export function expectedFrames(info: VideoInfo, o: Pick<VideoOptions, 'fps' | 'startS' | 'endS' | 'maxFrames'>): number {
  const end = Math.min(o.endS ?? info.durationS, info.durationS);
  const n = Math.max(0, Math.ceil((end - o.startS) * o.fps - 1e-9));
  return o.maxFrames === undefined ? n : Math.min(n, o.maxFrames);
}

const round = (v: number) => Math.round(v * 100) / 100;

/**
 * Decoder threads per provider. On CPU, ONNX Runtime already uses every core: one decoder
 * thread costs 0.61-0.63 s of ffmpeg CPU on the 60 s bench clip against 0.89-0.92 s with
 * ffmpeg's default (a thread per core), for the same frames. On CUDA the CPU is free, so
 * ffmpeg uses every core to keep the GPU fed (undefined = ffmpeg's choice).
 */
export const decoderThreadsFor = (provider: 'cpu' | 'cuda'): number | undefined => (provider === 'cpu' ? 1 : undefined);

/**
 * The video pipeline: ffmpeg samples frames on a pipe; a producer preprocesses each frame and
 * hands it to the batcher at once, into a bounded queue of frames in flight (two batches),
 * so ONNX Runtime already has the next frames while the consumer postprocesses, tracks and
 * builds segments, thumbnails and the review summary. A full queue pauses ffmpeg.
 */
export async function predictVideo(model: ReadyModel, path: string, info: VideoInfo, o: VideoOptions): Promise<VideoPrediction> {
  const t0 = performance.now();
  const timings = { decodeMs: 0, preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 };
  const framesTotal = expectedFrames(info, o);
  // Frames per batch: the model's cap for bulk items (1 on CPU, where frames run faster alone).
  const batchSize = model.batching.bulkMaxBatchSize;
  type Submitted = { frame: SampledFrame; input: ModelInput; outputs: Promise<Record<string, NumericTensor>> };
  const queue = createBoundedQueue<Submitted>(Math.max(2, batchSize * 2));
  const spec = model.manifest.preprocessing;
  const metricLabels = { model: model.name, version: String(model.version) };
  // Stops ffmpeg when the caller cancels or when inference fails first.
  const stop = new AbortController();
  const onCancel = () => stop.abort();
  o.signal?.addEventListener('abort', onCancel, { once: true });
  // inferenceMs: wall time with at least one of this video's frames in the batcher.
  let pending = 0;
  let busySince = 0;
  const settled = () => {
    if (--pending === 0) timings.inferenceMs += performance.now() - busySince;
  };

  const producer = (async () => {
    const frames = sampleFrames(path, info, {
      fps: o.fps, startS: o.startS, endS: o.endS, maxFrames: o.maxFrames, signal: stop.signal, threads: o.decodeThreads ?? decoderThreadsFor(model.session.provider),
    });
    try {
      for (let t = performance.now(), next = await frames.next(); !next.done; t = performance.now(), next = await frames.next()) {
        const t1 = performance.now();
        timings.decodeMs += t1 - t;
        const input = await applyPreprocessing(next.value.image, spec);
        const t2 = performance.now();
        timings.preprocessMs += t2 - t1;
        metrics.preprocessDuration.observe(metricLabels, (t2 - t1) / 1000);
        if (pending++ === 0) busySince = t2;
        // Bulk priority: the batcher forms batches from these and lets image requests go first.
        const outputs = model.batcher.run(input, 'bulk');
        outputs.then(settled, settled);
        await queue.push({ frame: next.value, input, outputs });
      }
      queue.close();
    } catch (err) {
      queue.close(err);
    }
  })();

  const tracker = createTracker(DEFAULT_TRACKER);
  const frames: FrameDetections[] = [];
  // Best frames of open tracks, JPEG-encoded, with a count of the tracks that point at them.
  const keptFrames = new Map<number, { jpeg: Buffer; timeS: number; detections: Detection[]; refs: number }>();
  const bestOf = new Map<number, number>(); // track id -> frame index
  let framesDone = 0;
  try {
    for (let batch = await queue.take(batchSize); batch.length > 0; batch = await queue.take(batchSize)) {
      if (o.signal?.aborted) throw new FramewatchError('CANCELLED', 'the job was cancelled');
      const outputs = await Promise.all(batch.map((b) => b.outputs));
      const t3 = performance.now();
      for (const [i, { frame, input }] of batch.entries()) {
        const detections = postprocessOutputs(model, outputs[i], input.transform, o.threshold);
        recordPredictions(model, detections);
        model.drift?.observe(driftSample(input.pixels, detections, frame.image));
        const record = { index: frame.index, timeS: Math.round(frame.timeS * 1000) / 1000, detections };
        if (o.includeFrames) frames.push(record);
        const improved = tracker.update(record);
        if (improved.length > 0) {
          const jpeg = await sharp(frame.image.data, { raw: { width: frame.image.width, height: frame.image.height, channels: 3 } }).jpeg({ quality: 92 }).toBuffer();
          keptFrames.set(frame.index, { jpeg, timeS: record.timeS, detections, refs: 0 });
          for (const { track } of improved) {
            const previous = bestOf.get(track.id);
            if (previous !== undefined) release(previous);
            bestOf.set(track.id, frame.index);
            keptFrames.get(frame.index)!.refs++;
          }
          if (keptFrames.get(frame.index)!.refs === 0) keptFrames.delete(frame.index);
        }
      }
      timings.postprocessMs += performance.now() - t3;
      framesDone += batch.length;
      metrics.videoFrames.inc(metricLabels, batch.length);
      o.onProgress?.({ framesDone, framesTotal: Math.max(framesTotal, framesDone) });
    }
  } finally {
    o.signal?.removeEventListener('abort', onCancel);
    stop.abort();
    queue.close();
    await producer;
  }
  function release(frameIndex: number) {
    const kept = keptFrames.get(frameIndex);
    if (kept && --kept.refs <= 0) keptFrames.delete(frameIndex);
  }

  const tracks = tracker.finish();
  const segments = buildSegments(tracks, info.durationS, { pad: o.pad, mergeGap: o.mergeGap, labels: o.labels });
  const wanted = o.labels ? new Set(o.labels) : undefined;
  await mkdir(o.thumbnailDir, { recursive: true });
  const videoSegments: VideoSegment[] = [];
  for (const [index, segment] of segments.entries()) {
    const best = tracks.filter((t) => segment.trackIds.includes(t.id)).sort((a, b) => b.maxScore - a.maxScore)[0];
    const kept = keptFrames.get(bestOf.get(best.id)!)!;
    const detections = kept.detections.filter((d) => !wanted || wanted.has(d.label));
    const { data, info: raw } = await sharp(kept.jpeg).raw().toBuffer({ resolveWithObject: true });
    await writeFile(join(o.thumbnailDir, `${index}.jpg`), await renderThumbnail({ data, width: raw.width, height: raw.height }, detections));
    videoSegments.push({ index, startS: segment.startS, endS: segment.endS, labels: segment.labels, bestFrame: { timeS: kept.timeS, detections } });
  }
  const totalMs = performance.now() - t0;
  const review = summarizeReview(videoSegments, info.durationS);
  metrics.decodeDuration.observe({ kind: 'video' }, timings.decodeMs / 1000);
  metrics.reviewFlaggedRatio.observe({ model: model.name }, review.flaggedRatio);
  return {
    model: { name: model.name, version: model.version },
    video: { durationS: info.durationS, fps: round(info.fps), width: info.width, height: info.height, codec: info.codec, framesSampled: framesDone },
    ...(o.includeFrames ? { frames } : {}),
    tracks: tracks.map(({ id, label, startS, endS, maxScore, hits }) => ({ id, label, startS, endS, maxScore, hits })),
    segments: videoSegments,
    review,
    timings: {
      decodeMs: round(timings.decodeMs),
      preprocessMs: round(timings.preprocessMs),
      inferenceMs: round(timings.inferenceMs),
      postprocessMs: round(timings.postprocessMs),
      totalMs: round(totalMs),
      framesPerSecond: round(framesDone / (totalMs / 1000)),
    },
  };
}
