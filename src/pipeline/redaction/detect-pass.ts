import { performance } from 'node:perf_hooks';
import type { VideoInfo } from '../../media/ffmpeg.js';
import type { ModelRepository, ReadyModel } from '../../registry/index.js';
import { FACE_TRACK_ID_BASE, TEXT_TRACK_ID_BASE } from '../../shared/redaction.js';
import { inferFrames } from '../infer-frames.js';
import { createTracker, DEFAULT_TRACKER, type FrameDetections, type Track, type TrackerOptions } from '../tracker.js';
import type { RedactionTarget } from './plan.js';

// A redaction's own detect passes, for what the job's tracks do not hold: faces (no job looks
// for them), and text where the job's model reads none (an object detector's job). Each
// samples the kept video, runs a served model through its batcher (the video job's path,
// `inferFrames`, tiles included) and tracks what it finds as the frames come; the encoder
// runs behind it (`targetsAt`).

/** What a pass looks for: the served model, how its tracks are kept, and their ids and masks. */
export interface PassKind {
  model: string;
  label: string;
  /** Track ids are this plus the pass's own tracker id (1, 2, ...). */
  idBase: number;
  tracker: TrackerOptions;
  minMarginPx?: number;
  minMarginShare?: { x: number; y: number };
}

/**
 * Tuned to fail safe, since a target the tracker drops is one left visible: every detection
 * the model reports (it already holds back those under its own threshold) starts a track and
 * counts at once (minHits 1), so one sample is enough to mask; a track survives 3 s unseen (an
 * occlusion), and the mask plan interpolates across the gap.
 */
export const PASS_TRACKER: TrackerOptions = { ...DEFAULT_TRACKER, minHits: 1, highScore: 0, maxGapS: 3 };

/** BlazeFace places a box to a model pixel or two: in a 512-px tile run at 256, up to 4 source pixels (see RedactionTarget.minMarginPx). */
export const FACE_MIN_MARGIN_PX = 4;

/** A text line's mask reaches half its height above and below it: a number plate's characters fill about half of it. */
export const TEXT_MIN_MARGIN = { x: 0.15, y: 0.5 };

export const FACE_PASS: PassKind = { model: 'face-detector', label: 'face', idBase: FACE_TRACK_ID_BASE, tracker: PASS_TRACKER, minMarginPx: FACE_MIN_MARGIN_PX };
export const TEXT_PASS: PassKind = { model: 'text-detector', label: 'text', idBase: TEXT_TRACK_ID_BASE, tracker: PASS_TRACKER, minMarginShare: TEXT_MIN_MARGIN };

export interface PassTracks {
  model: { name: string; version: number };
  targets: RedactionTarget[];
  /** Each track's span, for the audit. */
  spans: Array<{ trackId: number; startS: number; endS: number }>;
  samples: number;
  detections: number;
  detectS: number;
  trackS: number;
}

/** A pass's model, or the catalogue's MODEL_NOT_FOUND (404) / MODEL_NOT_READY (503) when it is not served. */
export const resolvePassModel = (repository: Pick<ModelRepository, 'resolve'>, kind: PassKind): ReadyModel => repository.resolve(kind.model);
export const resolveFaceModel = (repository: Pick<ModelRepository, 'resolve'>): ReadyModel => resolvePassModel(repository, FACE_PASS);

/** Tracks a kind's detections frame by frame, in time order (ids from kind.idBase + 1): every detection is the kind's target, whatever the model calls it. */
function passTracker(kind: PassKind) {
  const tracker = createTracker(kind.tracker);
  const targetOf = (t: Track): RedactionTarget => ({
    trackId: kind.idBase + t.id, label: kind.label, trajectory: t.trajectory,
    ...(kind.minMarginPx !== undefined ? { minMarginPx: kind.minMarginPx } : {}), ...(kind.minMarginShare ? { minMarginShare: kind.minMarginShare } : {}),
  });
  let trackMs = 0;
  return {
    update(frame: FrameDetections) {
      const t = performance.now();
      tracker.update({ ...frame, detections: frame.detections.map((d) => ({ ...d, label: kind.label })) });
      trackMs += performance.now() - t;
    },
    targets: () => tracker.finish().map(targetOf),
    trackMs: () => trackMs,
    /** The finished pass over `frames` (those it was updated with). */
    finish(model: { name: string; version: number }, frames: readonly FrameDetections[], detectS: number): PassTracks {
      const tracks = tracker.finish();
      return {
        model: { name: model.name, version: model.version },
        targets: tracks.map(targetOf),
        spans: tracks.map((t) => ({ trackId: kind.idBase + t.id, startS: t.startS, endS: t.endS })),
        samples: frames.length,
        detections: frames.reduce((n, f) => n + f.detections.length, 0),
        detectS,
        trackS: trackMs / 1000,
      };
    },
  };
}

/**
 * A pass's tracks from detections found apart, in time order (the shared mode's detect parts,
 * joined): the tracks one pass over the same samples finds, since the tracker sees the same
 * frames in the same order.
 */
export function trackDetections(kind: PassKind, model: { name: string; version: number }, frames: readonly FrameDetections[], detectS: number): PassTracks {
  const tracker = passTracker(kind);
  for (const frame of frames) tracker.update(frame);
  return tracker.finish(model, frames, detectS);
}

/**
 * Finds and tracks a kind's targets in a video, sampled at `fps` from its start (ids from
 * kind.idBase + 1): `done` is the finished pass; before it, `targetsAt(timeS)` waits until the
 * pass has gone far enough past `timeS` that no later sample can change the masks there
 * (passLookaheadS), then gives the targets as they are. A redaction encodes behind it instead
 * of after it. The tracker only appends to a track, so the targets then are those of the
 * finished pass, as far as `timeS` is concerned.
 */
export function followDetections(
  kind: PassKind,
  model: ReadyModel,
  path: string,
  info: VideoInfo,
  o: { fps: number; signal?: AbortSignal; onProgress?: (samplesDone: number) => void; leadS?: number },
) {
  const t0 = performance.now();
  const tracker = passTracker(kind);
  // The targets as of the last frame tracked: the encoder asks on every frame, the tracker changes once a sample.
  let targets: RedactionTarget[] | undefined;
  let frontierS = -Infinity;
  let finished = false;
  let failure: unknown;
  const waiting: Array<{ untilS: number; wake: () => void }> = [];
  const wakeReady = () => {
    for (const w of waiting.filter((w) => finished || failure !== undefined || frontierS >= w.untilS)) [waiting.splice(waiting.indexOf(w), 1), w.wake()];
  };
  const onFrame = (frame: FrameDetections) => {
    tracker.update(frame);
    targets = undefined;
    frontierS = frame.timeS;
    wakeReady();
  };
  const done = inferFrames(model, path, info, { gridStartS: 0, fps: o.fps, firstIndex: 0 }, { signal: o.signal, onProgress: o.onProgress, onFrame })
    .then(({ frames }): PassTracks => tracker.finish(model, frames, (performance.now() - t0 - tracker.trackMs()) / 1000))
    .catch((err) => {
      failure = err;
      throw err;
    })
    .finally(() => {
      finished = true;
      wakeReady();
    });
  done.catch(() => undefined); // the caller awaits it; a failure also reaches targetsAt
  const lookaheadS = passLookaheadS(kind, o.fps, o.leadS ?? 0);
  return {
    done,
    /** The targets that mask `timeS`, once the pass is far enough past it (rejects with the pass's error). */
    async targetsAt(timeS: number): Promise<RedactionTarget[]> {
      if (!finished && frontierS < timeS + lookaheadS) await new Promise<void>((wake) => waiting.push({ untilS: timeS + lookaheadS, wake }));
      if (failure !== undefined) throw failure;
      return (targets ??= tracker.targets());
    },
  };
}

/**
 * How far past a time a pass must be before the masks at that time are final: a track seen
 * before it may be seen again up to the tracker's gap later (the plan interpolates across the
 * gap), and one first seen up to `leadS` after it is masked from it, grown by its speed to its
 * next sample, up to a gap after that. One sample more for rounding.
 */
const passLookaheadS = (kind: PassKind, fps: number, leadS: number) => leadS + kind.tracker.maxGapS + 1 / fps;

/** Frames a detect pass samples from a video of `durationS` at `fps` (the progress total). */
export const samplesPlanned = (durationS: number, fps: number): number => Math.max(1, Math.ceil(durationS * fps));
