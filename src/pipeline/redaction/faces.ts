import { performance } from 'node:perf_hooks';
import type { VideoInfo } from '../../media/ffmpeg.js';
import type { ModelRepository, ReadyModel } from '../../registry/index.js';
import { FACE_TRACK_ID_BASE } from '../../shared/redaction.js';
import { inferFrames } from '../infer-frames.js';
import { createTracker, DEFAULT_TRACKER, type FrameDetections, type Track, type TrackerOptions } from '../tracker.js';
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

const faceTarget = (t: Track): RedactionTarget => ({ trackId: FACE_TRACK_ID_BASE + t.id, label: 'face', trajectory: t.trajectory, minMarginPx: FACE_MIN_MARGIN_PX });

/**
 * Finds and tracks the faces of a video, sampled at `fps` from its start (ids from
 * FACE_TRACK_ID_BASE + 1): `done` is the finished pass; before it, `targetsAt(timeS)`
 * waits until the pass has gone far enough past `timeS` that no later sample can change the
 * masks there (faceLookaheadS), then gives the face targets as they are. A redaction
 * encodes behind it instead of after it. The tracker only appends to a track, so the
 * targets then are those of the finished pass, as far as `timeS` is concerned.
 */
export function followFaces(
  model: ReadyModel,
  path: string,
  info: VideoInfo,
  o: { fps: number; signal?: AbortSignal; onProgress?: (samplesDone: number) => void; leadS?: number },
) {
  const t0 = performance.now();
  const tracker = createTracker(FACE_TRACKER);
  let trackMs = 0;
  let frontierS = -Infinity;
  let finished = false;
  let failure: unknown;
  const waiting: Array<{ untilS: number; wake: () => void }> = [];
  const wakeReady = () => {
    for (const w of waiting.filter((w) => finished || failure !== undefined || frontierS >= w.untilS)) [waiting.splice(waiting.indexOf(w), 1), w.wake()];
  };
  const onFrame = (frame: FrameDetections) => {
    const t = performance.now();
    tracker.update(frame);
    trackMs += performance.now() - t;
    frontierS = frame.timeS;
    wakeReady();
  };
  const done = inferFrames(model, path, info, { gridStartS: 0, fps: o.fps, firstIndex: 0 }, { signal: o.signal, onProgress: o.onProgress, onFrame })
    .then(({ frames }): FaceTracks => {
      const detectS = (performance.now() - t0 - trackMs) / 1000;
      const tracks = tracker.finish();
      return {
        model: { name: model.name, version: model.version },
        targets: tracks.map(faceTarget),
        spans: tracks.map((t) => ({ trackId: FACE_TRACK_ID_BASE + t.id, startS: t.startS, endS: t.endS })),
        samples: frames.length,
        detections: frames.reduce((n, f) => n + f.detections.length, 0),
        detectS,
        trackS: trackMs / 1000,
      };
    })
    .catch((err) => {
      failure = err;
      throw err;
    })
    .finally(() => {
      finished = true;
      wakeReady();
    });
  done.catch(() => undefined); // the caller awaits it; a failure also reaches targetsAt
  const lookaheadS = faceLookaheadS(o.fps, o.leadS ?? 0);
  return {
    done,
    /** The face targets that mask `timeS`, once the pass is far enough past it (rejects with the pass's error). */
    async targetsAt(timeS: number): Promise<RedactionTarget[]> {
      if (!finished && frontierS < timeS + lookaheadS) await new Promise<void>((wake) => waiting.push({ untilS: timeS + lookaheadS, wake }));
      if (failure !== undefined) throw failure;
      return tracker.finish().map(faceTarget);
    },
  };
}

/**
 * How far past a time the face pass must be before the masks at that time are final: a track
 * seen before it may be seen again up to the tracker's gap later (the plan interpolates across
 * the gap), and one first seen up to `leadS` after it is masked from it, grown by its speed
 * to its next sample, up to a gap after that. One sample more for rounding.
 */
export const faceLookaheadS = (fps: number, leadS: number) => leadS + FACE_TRACKER.maxGapS + 1 / fps;

/** Frames the detect pass samples from a video of `durationS` at `fps` (the progress total). */
export const faceSamplesPlanned = (durationS: number, fps: number): number => Math.max(1, Math.ceil(durationS * fps));
