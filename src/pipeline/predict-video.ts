import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FramewatchError, isFramewatchError } from '../errors/index.js';
import { decodeOneFrame, detectPictureCues, seekToKeyframe, type VideoInfo } from '../media/ffmpeg.js';
import { pictureCues } from '../media/cues.js';
import { analyseAudio, joinAudioParts } from './audio/index.js';
import { renderAudioThumbnail, renderThumbnail, thumbnailScale } from '../media/thumbnail.js';
import type { ReadyModel, ReadyPipeline } from '../registry/index.js';
import { audioSampleBins, metrics } from '../metrics/index.js';
import { inferFrames, rangeStartS, type FrameRange, type StageTimings } from './infer-frames.js';
import { frameSteps } from './predict-pipeline.js';
import { mapPool } from './map-pool.js';
import type { AudioAnalysis, PictureCues, VideoPrediction, VideoSegment } from '../shared/job-result.js';
import { cueSpans } from './rules/cue-spans.js';
import type { VideoJobOptions } from '../shared/video.js';
import { sampleIntervalS } from './sampling.js';
import { profileSegmentPlans, trackSegmentPlans } from './segment-plans.js';
import { summarizeReview } from './segments.js';
import { createTracker, DEFAULT_TRACKER, textTrackKeys, type FrameDetections, type TrackerOptions } from './tracker.js';
import { mostCommon } from './colour.js';

export type { VideoPrediction, VideoSegment } from '../shared/job-result.js';

/** A video job's options (the contract), and how this process runs them. */
export type VideoOptions = VideoJobOptions & {
  /** Split into time chunks of this length (aligned to the sampling grid); unset = one range. */
  chunkSeconds?: number;
  /** Where segment thumbnails are written as <n>.jpg. */
  thumbnailDir: string;
  /** The voice model that hears speech (unset: the audio gives loud sounds only). */
  voice?: ReadyModel;
  signal?: AbortSignal;
  onProgress?: (progress: { framesDone: number; framesTotal: number }) => void;
};

/** Frames the sampler will deliver for these options (for progress). */
export function expectedFrames(info: Pick<VideoInfo, 'durationS'>, o: Pick<VideoOptions, 'fps' | 'startS' | 'endS' | 'maxFrames' | 'sampling'>): number {
  if (o.sampling?.keyframeTimes) return o.sampling.keyframeTimes.length;
  const end = Math.min(o.endS ?? info.durationS, info.durationS);
  const n = Math.max(0, Math.ceil((end - o.startS) * o.fps - 1e-9));
  return o.maxFrames === undefined ? n : Math.min(n, o.maxFrames);
}

const round = (v: number) => Math.round(v * 100) / 100;

/** Thumbnails cut at once at the end of a job. */
const THUMBNAIL_CONCURRENCY = 4;

/**
 * Decoder threads per provider. On CPU, ONNX Runtime already uses every core: one decoder
 * thread costs 0.61-0.63 s of ffmpeg CPU on the 60 s bench clip against 0.89-0.92 s with
 * ffmpeg's default (a thread per core), for the same frames. On CUDA the CPU is free, so
 * ffmpeg uses every core to keep the GPU fed (undefined = ffmpeg's choice).
 */
export const decoderThreadsFor = (provider: 'cpu' | 'cuda'): number | undefined => (provider === 'cpu' ? 1 : undefined);

/**
 * Splits the sampling grid into ranges of `chunkSeconds`: every range but the last holds
 * exactly its share of frames; the last runs to the end (or `endS`), as one unchunked decode
 * would. Without chunkSeconds, or for a short video, it is one range.
 */
export function planChunks(info: VideoInfo, o: Pick<VideoOptions, 'fps' | 'startS' | 'endS' | 'maxFrames' | 'sampling'>, chunkSeconds?: number): FrameRange[] {
  return withAudioParts(pictureChunks(info, o, chunkSeconds), o);
}

/**
 * Each chunk of a job in several hears its own part of the audio: from its first frame to the
 * next chunk's (the first from the job's start, the last to its end), so the parts tile the
 * job's range and run on whichever workers run the chunks.
 */
function withAudioParts(ranges: FrameRange[], o: Pick<VideoOptions, 'startS' | 'endS'>): FrameRange[] {
  if (ranges.length < 2) return ranges;
  return ranges.map((range, i) => ({
    ...range,
    audio: { startS: i === 0 ? o.startS : rangeStartS(range), ...(i < ranges.length - 1 ? { endS: rangeStartS(ranges[i + 1]) } : o.endS !== undefined ? { endS: o.endS } : {}) },
  }));
}

/**
 * The sampling grid (or the keyframes) cut into chunks of `chunkSeconds`, without the audio
 * parts: frames decoded apart, chunk by chunk, are the frames of one decode (a redaction's
 * detect parts use it too).
 */
export function pictureChunks(info: Pick<VideoInfo, 'durationS'>, o: Pick<VideoOptions, 'fps' | 'startS' | 'endS' | 'maxFrames' | 'sampling'>, chunkSeconds?: number): FrameRange[] {
  if (o.sampling?.keyframeTimes) return keyframeChunks(o.sampling.keyframeTimes, o, chunkSeconds);
  const total = expectedFrames(info, o);
  const perChunk = chunkSeconds ? Math.max(1, Math.round(chunkSeconds * o.fps)) : Infinity;
  const grid = { gridStartS: o.startS, fps: o.fps };
  if (total <= perChunk) return [{ ...grid, firstIndex: 0, frames: o.maxFrames, endS: o.endS }];
  const ranges: FrameRange[] = [];
  for (let first = 0; first < total; first += perChunk) {
    const last = first + perChunk >= total;
    ranges.push(
      last
        ? { ...grid, firstIndex: first, frames: o.maxFrames === undefined ? undefined : total - first, endS: o.endS }
        : { ...grid, firstIndex: first, frames: perChunk, endS: o.startS + (first + perChunk) / o.fps },
    );
  }
  return ranges;
}

/** Keyframe sampling: the keyframes split into chunks of `chunkSeconds` by their times. */
function keyframeChunks(times: readonly number[], o: Pick<VideoOptions, 'fps' | 'startS'>, chunkSeconds?: number): FrameRange[] {
  const bucketOf = (t: number) => (chunkSeconds ? Math.floor((t - o.startS) / chunkSeconds) : 0);
  const ranges: FrameRange[] = [];
  let first = 0;
  for (let i = 1; i <= times.length; i++) {
    if (i < times.length && bucketOf(times[i]) === bucketOf(times[first])) continue;
    const chunk = times.slice(first, i);
    ranges.push({ gridStartS: o.startS, fps: o.fps, firstIndex: first, frames: chunk.length, keyframeTimes: chunk });
    first = i;
  }
  return ranges;
}

/** Adds up the stage timings of several chunks. */
export function sumTimings(all: readonly StageTimings[]): StageTimings {
  const sum = { decodeMs: 0, preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 };
  for (const t of all) for (const k of Object.keys(sum) as Array<keyof StageTimings>) sum[k] += t[k];
  return sum;
}

/**
 * Decodes the one sampled frame a thumbnail shows, by seeking to it: grid index `index`, or
 * the keyframe at `timeS`; at the thumbnail's size (ffmpeg scales it before the pipe).
 */
export async function decodeFrameAt(path: string, info: VideoInfo, o: Pick<VideoOptions, 'fps' | 'startS' | 'decodeThreads' | 'sampling'>, frame: FrameDetections) {
  const seek = o.sampling?.mode === 'keyframes'
    ? seekToKeyframe(frame.timeS, o.sampling.keyframeTimes?.find((t) => t > frame.timeS + 1e-6))
    : { startS: o.startS + frame.index / o.fps };
  const scale = thumbnailScale(info.width, info.height);
  const options = { fps: o.fps, ...seek, threads: o.decodeThreads, scale };
  return decodeOneFrame(path, info, options, `the frame at ${frame.timeS} s could not be decoded for its thumbnail`);
}

/** Tracks shorter than this (seconds) are dropped by default: at 2 fps a one- or two-sample flicker spans 0-0.5 s. */
export const DEFAULT_MIN_TRACK_S = 1;

/**
 * The tracker a video job runs. A lost track survives one missed sample whatever the sampling
 * (keyframes may be seconds apart): max(3 s, 1.5 sample intervals). Detections start tracks
 * from 0.4 up, or from the asked threshold when it is higher (then every detection is high).
 */
export function videoTrackerOptions(o: Pick<VideoOptions, 'fps' | 'sampling' | 'threshold' | 'minTrackS'>): TrackerOptions {
  return {
    ...DEFAULT_TRACKER,
    maxGapS: Math.max(DEFAULT_TRACKER.maxGapS, 1.5 * sampleIntervalS(o.sampling, o.fps)),
    highScore: Math.max(DEFAULT_TRACKER.highScore, o.threshold ?? 0),
    minTrackS: o.minTrackS ?? DEFAULT_MIN_TRACK_S,
  };
}

export type AssembleOptions = Pick<VideoOptions, 'fps' | 'startS' | 'labels' | 'query' | 'pad' | 'mergeGap' | 'includeFrames' | 'decodeThreads' | 'thumbnailDir' | 'sampling' | 'motion' | 'threshold' | 'minTrackS' | 'profile'>;

/**
 * Turns the per-frame detections of a whole video (every chunk, merged in time order) into
 * the result: tracks, segments and the review summary, computed once so that tracks and
 * segments crossing a chunk boundary are the same as without chunks. Thumbnails are cut at
 * the end, one per segment, by seeking to the segment's best frame.
 */
export async function assembleVideo(
  model: { name: string; version: number },
  path: string,
  info: VideoInfo,
  frames: readonly FrameDetections[],
  stages: StageTimings,
  o: AssembleOptions,
  startedAt: number,
  framesInferred = frames.length,
  found: { cues?: PictureCues; audio?: AudioAnalysis } = {},
): Promise<VideoPrediction> {
  const ordered = [...frames].sort((a, b) => a.index - b.index);
  // Text readers: one track per line of text (readings folded, near-identical ones merged).
  const tracker = createTracker(videoTrackerOptions(o), textTrackKeys());
  for (const frame of ordered) tracker.update(frame);
  const tracks = tracker.finish();
  const summaries = tracks.map(({ id, label, text, startS, endS, maxScore, hits, trajectory, colourVotes }) => {
    const colour = mostCommon(colourVotes);
    return { id, label, ...(text !== undefined ? { text } : {}), startS, endS, maxScore, hits, ...(colour ? { colour } : {}), trajectory };
  });
  const planOptions = { pad: o.pad, mergeGap: o.mergeGap, labels: o.labels, query: o.query };
  const cues = cueSpans(found);
  const { plans, events } = o.profile
    ? profileSegmentPlans(o.profile, summaries, ordered, info, planOptions, cues)
    : { plans: trackSegmentPlans(tracks, ordered, info.durationS, planOptions, cues), events: undefined };
  const t0 = performance.now();
  await mkdir(o.thumbnailDir, { recursive: true });
  // Each thumbnail is its own ffmpeg seek (a process start and a file open): a few at once.
  const videoSegments = await mapPool([...plans.entries()], THUMBNAIL_CONCURRENCY, async ([index, plan]): Promise<VideoSegment> => {
    const thumbnail = info.hasVideo === false
      ? await renderAudioThumbnail(plan.fields.labels.map((l) => l.label), plan.fields.startS, plan.fields.endS)
      : await renderThumbnail(await decodeFrameAt(path, info, o, plan.frame), plan.detections, info.width);
    await writeFile(join(o.thumbnailDir, `${index}.jpg`), thumbnail);
    return { index, ...plan.fields, bestFrame: { timeS: plan.frame.timeS, detections: [...plan.detections] } };
  });
  const thumbnailMs = performance.now() - t0;
  const totalMs = performance.now() - startedAt;
  const review = summarizeReview(videoSegments, info.durationS);
  metrics.decodeDuration.observe({ kind: 'video' }, stages.decodeMs / 1000);
  metrics.reviewFlaggedRatio.observe({ model: model.name }, review.flaggedRatio);
  return {
    model: { name: model.name, version: model.version },
    video: {
      durationS: info.durationS, fps: round(info.fps), width: info.width, height: info.height, ...(info.hasVideo === false ? { hasVideo: false } : {}), codec: info.codec, framesSampled: ordered.length,
      sampling: { mode: o.sampling?.mode ?? 'exact', requested: o.sampling?.requested ?? 'exact', ...(o.sampling?.keyframeIntervalS !== undefined ? { keyframeIntervalS: o.sampling.keyframeIntervalS } : {}) },
      sampledTimes: ordered.map((f) => f.timeS),
      motion: { enabled: o.motion?.enabled ?? false, ...(o.motion?.enabled ? { maxSkipS: o.motion.maxSkipS } : {}), framesInferred, framesSkipped: ordered.length - framesInferred },
    },
    ...(o.includeFrames ? { frames: ordered } : {}),
    ...(o.profile ? { profile: { name: o.profile.name, ...(o.profile.version !== undefined ? { version: o.profile.version } : {}) }, events } : {}),
    tracks: summaries,
    ...(found.audio ? { audio: found.audio } : {}),
    ...(found.cues ? { cues: found.cues } : {}),
    segments: videoSegments,
    review,
    timings: {
      decodeMs: round(stages.decodeMs),
      preprocessMs: round(stages.preprocessMs),
      inferenceMs: round(stages.inferenceMs),
      postprocessMs: round(stages.postprocessMs),
      thumbnailMs: round(thumbnailMs),
      totalMs: round(totalMs),
      framesPerSecond: round(ordered.length / (totalMs / 1000)),
    },
  };
}

/**
 * The whole video pipeline in this process: the chunks (one range unless chunkSeconds is
 * set) one after the other, then assembleVideo. The job queues run the same two stages,
 * spread over workers. A pipeline runs its first step on each frame and its later steps on
 * that step's detections; the result carries the name asked for.
 */
export async function predictVideo(target: ReadyModel | ReadyPipeline, path: string, info: VideoInfo, o: VideoOptions): Promise<VideoPrediction> {
  const startedAt = performance.now();
  const steps = frameSteps(target);
  const decodeThreads = o.decodeThreads ?? decoderThreadsFor(steps.model.session.provider);
  const framesTotal = expectedFrames(info, o);
  const chunks: RangeAnalysis[] = [];
  let done = 0;
  for (const range of planChunks(info, o, o.chunkSeconds)) {
    const before = done;
    const chunk = await analyseRange(steps, path, info, range, { ...o, decodeThreads }, {
      signal: o.signal,
      voice: o.voice,
      onProgress: (n) => o.onProgress?.({ framesDone: before + n, framesTotal: Math.max(framesTotal, before + n) }),
    });
    chunks.push(chunk);
    done += chunk.frames.length;
  }
  if (o.signal?.aborted) throw new FramewatchError('CANCELLED', 'the job was cancelled');
  return assembleChunks({ name: target.name, version: target.version }, path, info, chunks, { ...o, decodeThreads }, startedAt);
}

/** What one range (a chunk) of a video gives: its frames' detections, its picture cues where they are on, and its part of the job's audio. */
export type RangeAnalysis = Awaited<ReturnType<typeof inferFrames>> & { audio?: AudioAnalysis };

/** Cues are on by default where they come with the decode (exact sampling), off where they need a decode of their own. */
export const cuesOn = (o: Pick<VideoJobOptions, 'cues' | 'sampling'>): boolean => o.cues ?? o.sampling?.mode !== 'keyframes';

/**
 * A part of the job's audio track (all of it for a job of one chunk): speech (with the voice model, when one is
 * loaded) and loud sounds over the job's whole time range. A voice model that fails leaves
 * the job standing: its audio is 'failed', with the error.
 */
export async function jobAudio(path: string, info: VideoInfo, o: Pick<VideoJobOptions, 'startS' | 'endS'>, run: { signal?: AbortSignal; voice?: ReadyModel; onProgress?: (secondsDone: number) => void }): Promise<AudioAnalysis> {
  const started = performance.now();
  try {
    const audio = await analyseAudio(path, info, { voice: run.voice, signal: run.signal, startS: o.startS, endS: o.endS, onProgress: run.onProgress });
    metrics.audioDuration.observe((performance.now() - started) / 1000);
    if (run.voice && audio.speechRatio !== undefined) {
      metrics.speechRatio.observe({ model: run.voice.name, version: String(run.voice.version) }, audio.speechRatio);
      run.voice.drift?.observeBins(audioSampleBins({ speechRatio: audio.speechRatio, spans: audio.speech }));
    }
    return audio;
  } catch (err) {
    if (!isFramewatchError(err) || err.code === 'CANCELLED') throw err;
    return { status: 'failed', error: { code: err.code, message: err.message }, speech: [], loud: [] };
  }
}

/**
 * One range of a video job, on whichever process runs it: decode and infer (inferFrames), with
 * the picture cues from the same decode. Keyframe sampling decodes keyframes only, so there
 * the job's first range also runs the cues of the whole job in a decode of their own. The
 * range also hears its part of the job's audio, in its own decode (audio=false turns it off).
 */
export async function analyseRange(
  steps: ReturnType<typeof frameSteps>,
  path: string,
  info: VideoInfo,
  range: FrameRange,
  o: Omit<AssembleOptions, 'thumbnailDir'> & Pick<VideoJobOptions, 'cues' | 'endS' | 'audio'>,
  run: { signal?: AbortSignal; onProgress?: (framesDone: number) => void; voice?: ReadyModel },
): Promise<RangeAnalysis> {
  const cues = cuesOn(o);
  const first = range.firstIndex === 0;
  // One failure stops the others' ffmpeg: they share a signal, aborted with the caller's.
  const stop = new AbortController();
  const onCancel = () => stop.abort();
  run.signal?.addEventListener('abort', onCancel, { once: true });
  const stopOnFailure = <T>(p: Promise<T>) => p.catch((err: unknown) => (stop.abort(), Promise.reject(err)));
  const inferred = stopOnFailure(inferFrames(steps.model, path, info, range, {
    threshold: o.threshold, decodeThreads: o.decodeThreads, signal: stop.signal, motion: o.motion, readers: steps.readers, onProgress: run.onProgress, cues,
  }));
  const ownCues = cues && range.keyframeTimes && first
    ? stopOnFailure(detectPictureCues(path, info, { startS: o.startS, endS: o.endS, threads: o.decodeThreads, signal: stop.signal }, Math.min(o.endS ?? info.durationS, info.durationS)))
    : undefined;
  // A job of one chunk hears its whole range beside it; chunks of a longer job each hear their part.
  const audioPart = range.audio ?? (first ? o : undefined);
  const audio = audioPart && o.audio !== false ? stopOnFailure(jobAudio(path, info, audioPart, { signal: stop.signal, voice: run.voice })) : undefined;
  try {
    const settled = await Promise.allSettled([inferred, ownCues, audio]);
    // The first failure that is not the others' cancellation it caused.
    const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length) throw failures.find((e) => !(isFramewatchError(e) && e.code === 'CANCELLED')) ?? failures[0];
    const value = <T>(r: PromiseSettledResult<T>) => (r.status === 'fulfilled' ? r.value : undefined);
    const [result, cuesFound, audioFound] = [value(settled[0])!, value(settled[1]), value(settled[2])];
    return { ...result, ...(cuesFound ? { cues: cuesFound } : {}), ...(audioFound ? { audio: audioFound } : {}) };
  } finally {
    run.signal?.removeEventListener('abort', onCancel);
  }
}

/** assembleVideo over the ranges' results, merged in time order. */
export function assembleChunks(model: { name: string; version: number }, path: string, info: VideoInfo, chunks: readonly RangeAnalysis[], o: AssembleOptions & Pick<VideoJobOptions, 'cues' | 'audio'>, startedAt: number) {
  const raw = chunks.flatMap((c) => (c.cues ? [c.cues] : []));
  const cues = cuesOn(o) ? pictureCues(raw, info) : undefined;
  const heard = chunks.flatMap((c) => (c.audio ? [c.audio] : []));
  const audio: AudioAnalysis = o.audio === false ? { status: 'off', speech: [], loud: [] } : joinAudioParts(heard) ?? { status: 'none', speech: [], loud: [] };
  const framesInferred = chunks.reduce((sum, c) => sum + c.framesInferred, 0);
  return assembleVideo(model, path, info, chunks.flatMap((c) => c.frames), sumTimings(chunks.map((c) => c.timings)), o, startedAt, framesInferred, { cues, audio });
}
