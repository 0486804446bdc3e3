import { FramewatchError } from '../errors/index.js';
import { probeVideo, probeVideoAndKeyframes, type VideoInfo } from '../media/ffmpeg.js';
import type { SamplingMode, SamplingPlan } from '../shared/video.js';

export { SAMPLING_MODES, type SamplingMode, type SamplingPlan } from '../shared/video.js';

const median = (xs: readonly number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : Infinity;
};

/** Pure: the plan for these keyframe times and options. */
export function chooseSampling(
  requested: SamplingMode,
  keyframes: readonly number[],
  o: { fps: number; startS: number; endS?: number; maxFrames?: number },
): SamplingPlan {
  const intervals = keyframes.slice(1).map((t, i) => t - keyframes[i]);
  const keyframeIntervalS = intervals.length ? Math.round(median(intervals) * 1000) / 1000 : undefined;
  const exact: SamplingPlan = { mode: 'exact', requested, ...(keyframeIntervalS !== undefined ? { keyframeIntervalS } : {}) };
  const useKeyframes = requested === 'keyframes' || (requested === 'auto' && keyframeIntervalS !== undefined && keyframeIntervalS <= 1 / o.fps + 1e-3);
  const inRange = keyframes.filter((t) => t >= o.startS - 1e-6 && (o.endS === undefined || t < o.endS));
  // No keyframe in the range (a short clip, a late start): the grid still samples it.
  if (!useKeyframes || inRange.length === 0) return exact;
  return { mode: 'keyframes', requested, keyframeIntervalS, keyframeTimes: o.maxFrames === undefined ? inRange : inRange.slice(0, o.maxFrames) };
}

/**
 * Probes a video and plans its sampling. When the plan may use keyframes (not `exact`), the
 * keyframe index is read beside the probe rather than after it. INVALID_INPUT when `startS`
 * is past the end of the video.
 */
export async function probeAndPlanSampling(
  path: string,
  requested: SamplingMode,
  o: { fps: number; startS: number; endS?: number; maxFrames?: number },
): Promise<{ info: VideoInfo; sampling: SamplingPlan }> {
  const { info, keyframes, stop } = requested === 'exact' ? { info: await probeVideo(path), keyframes: undefined, stop: undefined } : await probeVideoAndKeyframes(path);
  if (o.startS >= info.durationS) {
    stop?.(); // the upload is refused: its index is not read to the end
    throw new FramewatchError('INVALID_INPUT', `'start' ${o.startS} is past the end of the video (${info.durationS.toFixed(2)} s)`);
  }
  if (!keyframes) return { info, sampling: { mode: 'exact', requested } };
  // auto never fails a video that exact sampling can read: an unreadable index means exact.
  const times = await keyframes.catch((err: unknown) => {
    if (requested === 'auto') return [];
    throw err;
  });
  return { info, sampling: chooseSampling(requested, times, o) };
}

/** Seconds between samples, for the tracker's gap rule: a track survives one missed sample. */
export const sampleIntervalS = (plan: SamplingPlan | undefined, fps: number): number =>
  plan?.mode === 'keyframes' ? plan.keyframeIntervalS ?? 1 / fps : 1 / fps;
