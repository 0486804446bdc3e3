import type { VideoInfo } from '../../media/ffmpeg.js';
import type { ModelRepository, ReadyModel } from '../../registry/index.js';
import type { JobResult } from '../../shared/job-result.js';
import { targetHidesTrack } from '../../shared/redaction-tracks.js';
import type { RedactionRequest } from '../../shared/redaction.js';
import { FACE_PASS, followDetections, resolvePassModel, samplesPlanned, TEXT_PASS, type PassKind, type PassTracks } from './detect-pass.js';
import { maskPlan } from './plan.js';

// The detect passes one redaction runs (faces; text where the job holds none), side by side.

/** A detect pass a redaction runs: what it looks for, with which served model, at what rate. */
export interface PlannedPass {
  kind: PassKind;
  model: ReadyModel;
  fps: number;
}

/**
 * The passes a request needs: faces when asked; text when asked of a job that holds no text
 * tracks (an object detector's job, or a text reader's that found none: masking nothing there
 * is never assumed). A model that is not served throws the catalogue's 404/503.
 */
export function plannedPasses(request: RedactionRequest, result: Pick<JobResult, 'tracks'>, repository: Pick<ModelRepository, 'resolve'>): PlannedPass[] {
  const passes: PlannedPass[] = [];
  if (request.targets.includes('faces')) passes.push({ kind: FACE_PASS, model: resolvePassModel(repository, FACE_PASS), fps: request.faceFps });
  if (request.targets.includes('text') && !result.tracks.some((t) => targetHidesTrack('text', t))) {
    passes.push({ kind: TEXT_PASS, model: resolvePassModel(repository, TEXT_PASS), fps: request.textFps });
  }
  return passes;
}

/** The samples the passes take together (the detect stage's progress total). */
export const passSamples = (planned: readonly Pick<PlannedPass, 'fps'>[], durationS: number) => planned.reduce((n, p) => n + samplesPlanned(durationS, p.fps), 0);

/**
 * Starts the planned passes side by side, ahead of the encoder: `masksAt` gives their masks at
 * a time (kept tracks left out) once every pass is far enough past it. Progress is the
 * passes' samples together.
 */
export function startPasses(planned: readonly PlannedPass[], path: string, info: VideoInfo, request: RedactionRequest, signal: AbortSignal, onProgress: (done: number, total: number) => void) {
  const stop = new AbortController();
  const total = passSamples(planned, info.durationS);
  const done = planned.map(() => 0);
  const passes = planned.map((p, i) => followDetections(p.kind, p.model, path, info, {
    fps: p.fps, leadS: request.leadS, signal: AbortSignal.any([signal, stop.signal]),
    onProgress: (samples) => {
      done[i] = samples;
      onProgress(done.reduce((n, d) => n + d, 0), total);
    },
  }));
  let finished = passes.length === 0;
  void Promise.allSettled(passes.map((p) => p.done)).then(() => (finished = true));
  const kept = new Set(request.keep);
  return {
    finished: () => finished,
    stop: () => stop.abort(),
    found: () => Promise.all(passes.map((p) => p.done)),
    async masksAt(timeS: number) {
      const targets = (await Promise.all(passes.map((p) => p.targetsAt(timeS)))).flat();
      return maskPlan(targets.filter((t) => !kept.has(t.trackId)), request, info)(timeS);
    },
  };
}

/** The audit's record of each pass that ran (faces, text): its model, samples, detections and rate; and the time detection and tracking took. */
export function passAudits(planned: readonly PlannedPass[], found: readonly PassTracks[]) {
  const audit = (kind: PassKind) => {
    const i = planned.findIndex((p) => p.kind === kind);
    return i < 0 ? undefined : { model: found[i].model, samples: found[i].samples, detections: found[i].detections, fps: planned[i].fps };
  };
  // The passes run side by side: detection took the longest one's time.
  return { faces: audit(FACE_PASS), text: audit(TEXT_PASS), detectS: Math.max(0, ...found.map((f) => f.detectS)), trackS: found.reduce((n, f) => n + f.trackS, 0) };
}
