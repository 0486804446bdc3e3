import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FramewatchError, isFramewatchError, type ErrorCode } from '../errors/index.js';
import { sniffFile } from '../media/sniff.js';
import { sha256File, type ReadyModel, type ReadyPipeline } from '../registry/index.js';
import type { Detection } from '../tasks/index.js';
import { predictImage } from './predict-image.js';
import { predictPipelineImage } from './predict-pipeline.js';
import { predictVideo, type VideoOptions, type VideoPrediction, type VideoSegment } from './predict-video.js';
import { probeAndPlanSampling, type SamplingMode } from './sampling.js';
import type { ReviewSummary } from './segments.js';

export interface ScoreRecord {
  path: string;
  sha256: string;
  model: { name: string; version: number };
  kind: 'image' | 'video' | 'unknown';
  detections?: Detection[];
  frames?: number;
  /** Videos: which sampling ran (and was asked for), and the frames the motion gate kept from the model. */
  sampling?: VideoPrediction['video']['sampling'];
  motion?: VideoPrediction['video']['motion'];
  segments?: VideoSegment[];
  review?: ReviewSummary;
  /** Videos scored with a review profile: what its rules saw. */
  events?: VideoPrediction['events'];
  /** Videos: what the audio track said and the picture's cues, as in the prediction. */
  audio?: VideoPrediction['audio'];
  cues?: VideoPrediction['cues'];
  timings?: Record<string, number>;
  error?: { code: ErrorCode; message: string };
}

/** A video's record from its prediction: the same fields whether it ran in process or on a server (--server). */
export const videoRecord = (base: Pick<ScoreRecord, 'path' | 'sha256' | 'model'>, p: Pick<VideoPrediction, 'video' | 'segments' | 'review' | 'timings' | 'events' | 'audio' | 'cues'>): ScoreRecord => ({
  ...base, kind: 'video', frames: p.video.framesSampled, sampling: p.video.sampling, motion: p.video.motion, segments: p.segments, review: p.review, timings: p.timings,
  ...(p.events ? { events: p.events } : {}),
  ...(p.audio ? { audio: p.audio } : {}),
  ...(p.cues ? { cues: p.cues } : {}),
});

/** Video options for every file; `sampling` is the mode asked for, planned per file as the server does. */
export type ScoreVideoOptions = Omit<VideoOptions, 'thumbnailDir' | 'signal' | 'onProgress' | 'includeFrames' | 'sampling'> & { sampling: SamplingMode };

/**
 * Scores one file with the same pipeline as the server: images through predictImage (or
 * predictPipelineImage), videos through predictVideo (thumbnails to a scratch dir that is removed). A failure
 * becomes the record's error; it never throws for bad input.
 */
export async function scoreFile(
  model: ReadyModel | ReadyPipeline,
  path: string,
  options: { maxPixels: number; threshold?: number; video: ScoreVideoOptions; /** When the caller hashed the file already. */ sha256?: string },
): Promise<ScoreRecord> {
  const base = { path, sha256: options.sha256 ?? (await sha256File(path)), model: { name: model.name, version: model.version } };
  let kind: ScoreRecord['kind'] = 'unknown';
  try {
    const media = await sniffFile(path);
    if (media) kind = media.kind === 'image' ? 'image' : 'video';
    if (!media) throw new FramewatchError('UNSUPPORTED_MEDIA_TYPE', 'not a supported image or video format');
    const pipeline = 'steps' in model ? model : undefined;
    if (media.kind === 'image') {
      const imageOptions = { maxPixels: options.maxPixels, threshold: options.threshold };
      const result = pipeline ? await predictPipelineImage(pipeline, await readFile(path), imageOptions) : await predictImage(model as ReadyModel, await readFile(path), imageOptions);
      return { ...base, kind: 'image', detections: result.detections, frames: 1, timings: result.timings };
    }
    const { info, sampling } = await probeAndPlanSampling(path, options.video.sampling, options.video);
    const scratch = await mkdtemp(join(tmpdir(), 'framewatch-score-'));
    try {
      const result = await predictVideo(model, path, info, { ...options.video, sampling, threshold: options.threshold, includeFrames: false, thumbnailDir: scratch });
      return videoRecord(base, result);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  } catch (err) {
    const error = isFramewatchError(err) ? { code: err.code, message: err.message } : { code: 'INTERNAL' as const, message: (err as Error).message };
    return { ...base, kind, error };
  }
}
