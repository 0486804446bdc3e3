import { performance } from 'node:perf_hooks';
import type { VideoInfo } from '../../media/ffmpeg.js';
import type { ModelRepository, ReadyModel } from '../../registry/index.js';
import { FACE_TRACK_ID_BASE } from '../../shared/redaction.js';
import { inferFrames } from '../infer-frames.js';
import { createTracker, DEFAULT_TRACKER, type TrackerOptions } from '../tracker.js';
import type { RedactionTarget } from './plan.js';

// Faces as a redaction target: the job's own tracks know nothing of faces, so the redaction
// samples the kept video itself, runs the served face detector through its batcher (the
// video job's path, `inferFrames`, tiles included) and tracks what it finds.

/** The served model that finds faces; its newest READY version is used. */
export const FACE_MODEL = 'face-detector';

/**
 * Tuned to fail safe, since a face the tracker drops is a face left visible: every detection
 * the model reports (it already holds back those under its own threshold) starts a track and
 * counts at once (minHits 1), so one sample is enough to mask; a track survives 3 s unseen (an
 * occlusion), and the mask plan interpolates across the gap.
 */
export const FACE_TRACKER: TrackerOptions = { ...DEFAULT_TRACKER, minHits: 1, highScore: 0, maxGapS: 3 };

/** BlazeFace places a box to a model pixel or two: in a 512-px tile run at 256, up to 4 source pixels (see RedactionTarget.minMarginPx). */
export const FACE_MIN_MARGIN_PX = 4;

export interface FaceTracks {
  model: { name: string; version: number };
  targets: RedactionTarget[];
  /** Each track's span, for the audit. */
  spans: Array<{ trackId: number; startS: number; endS: number }>;
  samples: number;
  detections: number;
  detectS: number;
  trackS: number;
}

/** The face model, or the catalogue's MODEL_NOT_FOUND (404) / MODEL_NOT_READY (503) when it is not served. */
export const resolveFaceModel = (repository: Pick<ModelRepository, 'resolve'>): ReadyModel => repository.resolve(FACE_MODEL);

/** Finds and tracks the faces of a video, sampled at `fps` from its start; ids start at FACE_TRACK_ID_BASE + 1. */
export async function detectFaceTracks(
  model: ReadyModel,
  path: string,
  info: VideoInfo,
  o: { fps: number; signal?: AbortSignal; onProgress?: (samplesDone: number) => void },
): Promise<FaceTracks> {
  const t0 = performance.now();
  const { frames } = await inferFrames(model, path, info, { gridStartS: 0, fps: o.fps, firstIndex: 0 }, { signal: o.signal, onProgress: o.onProgress, frameAtTime: true });
  const t1 = performance.now();
  const tracker = createTracker(FACE_TRACKER);
  for (const frame of frames) tracker.update(frame);
  const tracks = tracker.finish();
  const t2 = performance.now();
  return {
    model: { name: model.name, version: model.version },
    targets: tracks.map((t) => ({ trackId: FACE_TRACK_ID_BASE + t.id, label: 'face', trajectory: t.trajectory, minMarginPx: FACE_MIN_MARGIN_PX })),
    spans: tracks.map((t) => ({ trackId: FACE_TRACK_ID_BASE + t.id, startS: t.startS, endS: t.endS })),
    samples: frames.length,
    detections: frames.reduce((n, f) => n + f.detections.length, 0),
    detectS: (t1 - t0) / 1000,
    trackS: (t2 - t1) / 1000,
  };
}

/** Frames the detect pass samples from a video of `durationS` at `fps` (the progress total). */
export const faceSamplesPlanned = (durationS: number, fps: number): number => Math.max(1, Math.ceil(durationS * fps));
