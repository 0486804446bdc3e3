import { performance } from 'node:perf_hooks';
import type { Logger } from '../../logging/logger.js';
import { metrics } from '../../metrics/index.js';
import type { ModelRepository, ReadyModel } from '../../registry/index.js';
import { VOICE_MODEL } from '../audio/index.js';
import { frameSteps } from '../predict-pipeline.js';
import { rangeStartS } from '../infer-frames.js';
import { analyseRange, assembleChunks, decoderThreadsFor, expectedFrames, jobAudio, planChunks, type VideoPrediction } from '../predict-video.js';
import { FramewatchError } from '../../errors/index.js';
import type { JobRecord } from './store.js';
import { WORKER_ID, type ChunkPayload, type ChunkResult, type VideoJobSpec } from './spec.js';

/** The chunks of a job, in order, as payloads for whichever queue runs them. */
export function chunkPayloads(spec: VideoJobSpec, chunkSeconds: number | undefined): ChunkPayload[] {
  // An audio job is one chunk, one decode: it hears 10 silent hours in 46 s, and cutting it at
  // the video chunk length (60 s) would start an ffmpeg a minute.
  const ranges = isAudioJob(spec) ? planChunks(spec.info, spec.options) : planChunks(spec.info, spec.options, chunkSeconds);
  return ranges.map((range, index) => ({ index, range, spec }));
}

/** A job of a model that hears audio: its upload's picture, if any, is not decoded. */
export const isAudioJob = (spec: Pick<VideoJobSpec, 'info'>) => spec.info.hasVideo === false;

/** What a job's progress counts: sampled frames, or for an audio job the seconds of audio heard. */
export const progressTotal = (spec: VideoJobSpec) =>
  isAudioJob(spec) ? Math.ceil(Math.min(spec.options.endS ?? spec.info.durationS, spec.info.durationS) - spec.options.startS) : expectedFrames(spec.info, spec.options);

/** The first record of a job, before any chunk runs. */
export function newJobRecord(spec: VideoJobSpec, chunks: readonly ChunkPayload[]): JobRecord {
  const now = new Date().toISOString();
  return {
    jobId: spec.jobId,
    status: 'queued',
    createdAt: now,
    updatedAt: now,
    model: spec.model,
    input: { filename: spec.filename, bytes: spec.bytes, durationS: spec.info.durationS },
    progress: { framesDone: 0, framesTotal: progressTotal(spec), percent: 0 },
    chunks: chunks.map((c) => ({ index: c.index, startS: Math.round(rangeStartS(c.range) * 1000) / 1000, framesDone: 0 })),
  };
}

/** Work done as a percentage, to one decimal, never above 100 (a job's frames, a redaction stage's). */
export const percentDone = (done: number, total: number): number => Math.min(100, Math.round((done / Math.max(1, total)) * 1000) / 10);

/** Progress summed over the chunks. */
export function progressOf(record: JobRecord): JobRecord['progress'] {
  const framesDone = (record.chunks ?? []).reduce((sum, c) => sum + c.framesDone, 0);
  const framesTotal = Math.max(record.progress.framesTotal, framesDone);
  return { framesDone, framesTotal, percent: percentDone(framesDone, framesTotal) };
}

/**
 * What a job's model name runs: a model, or a pipeline's first step with its later steps as
 * readers of each frame's detections. The job and its result carry the name asked for.
 */
export function resolveVideoModel(repository: ModelRepository, asked: { name: string; version: number }) {
  return frameSteps(repository.resolveTarget(asked.name, asked.version));
}

/** The voice model that hears a job's speech, when the repository serves one (else its audio is loud sounds only). */
export function loadedVoiceModel(repository: Pick<ModelRepository, 'resolve'>): ReadyModel | undefined {
  try {
    return repository.resolve(VOICE_MODEL);
  } catch {
    return undefined;
  }
}

/** Stage one, on any worker: decode the chunk's range, run the model, return each frame's detections. */
export async function runChunk(
  repository: ModelRepository,
  { index, range, spec }: ChunkPayload,
  o: { signal?: AbortSignal; onProgress?: (framesDone: number) => void; logger?: Logger } = {},
): Promise<ChunkResult> {
  if (isAudioJob(spec)) return listenChunk(repository, { index, range, spec }, o);
  const steps = resolveVideoModel(repository, spec.model);
  const started = performance.now();
  // Both modes log here, on the worker that runs the chunk, so one job's chunks can be followed across workers.
  const log = o.logger?.child({ jobId: spec.jobId, chunk: index, worker: WORKER_ID });
  log?.info('video chunk started', { startS: rangeStartS(range) });
  const decodeThreads = spec.options.decodeThreads ?? decoderThreadsFor(steps.model.session.provider);
  const { frames, timings, framesInferred, cues, audio } = await analyseRange(steps, spec.path, spec.info, range, { ...spec.options, decodeThreads }, { ...o, voice: loadedVoiceModel(repository) });
  const durationMs = performance.now() - started;
  metrics.chunkDuration.observe({ model: spec.model.name }, durationMs / 1000);
  log?.info('video chunk finished', { frames: frames.length, framesInferred, durationMs: Math.round(durationMs) });
  return { index, frames: frames.map((f) => ({ ...f, detections: [...f.detections] })), timings, framesInferred, ...(cues ? { cues } : {}), ...(audio ? { audio } : {}), worker: WORKER_ID };
}

/**
 * An audio job's one chunk: the job's model (a voice detector) hears the audio over the job's
 * range; nothing is decoded from the picture. Audio that cannot be heard fails the job, since
 * hearing it is the whole job.
 */
async function listenChunk(repository: ModelRepository, { index, spec }: ChunkPayload, o: { signal?: AbortSignal; onProgress?: (secondsDone: number) => void }): Promise<ChunkResult> {
  const voice = repository.resolve(spec.model.name, spec.model.version);
  const started = performance.now();
  const audio = await jobAudio(spec.path, spec.info, spec.options, { voice, signal: o.signal, onProgress: (s) => o.onProgress?.(Math.floor(s)) });
  if (audio.status === 'undecodable' || audio.status === 'failed') {
    throw new FramewatchError(audio.error?.code === 'INVALID_MEDIA' ? 'INVALID_MEDIA' : 'INFERENCE_FAILED', audio.error?.message ?? 'the audio could not be heard');
  }
  metrics.chunkDuration.observe({ model: spec.model.name }, (performance.now() - started) / 1000);
  return { index, frames: [], timings: { decodeMs: audio.decodeMs ?? 0, preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 }, framesInferred: 0, audio, worker: WORKER_ID };
}

/** Stage two, once per job: merge the chunks in time order, then tracks, segments and thumbnails. */
export function finishJob(repository: ModelRepository, spec: VideoJobSpec, chunks: readonly ChunkResult[], thumbnailDir: string, startedAt: number): Promise<VideoPrediction> {
  const ordered = [...chunks].sort((a, b) => a.index - b.index);
  if (isAudioJob(spec)) return assembleChunks(spec.model, spec.path, spec.info, ordered, { ...spec.options, thumbnailDir }, startedAt);
  const { model } = resolveVideoModel(repository, spec.model);
  const decodeThreads = spec.options.decodeThreads ?? decoderThreadsFor(model.session.provider);
  return assembleChunks(spec.model, spec.path, spec.info, ordered, { ...spec.options, decodeThreads, thumbnailDir }, startedAt);
}
