import { probeKeyframes, type VideoInfo } from '../media/ffmpeg.js';

export type SamplingMode = 'exact' | 'keyframes' | 'auto';

/**
 * Which frames a video job decodes. `exact`: the fps grid (ffmpeg decodes every frame to
 * pick them). `keyframes`: only keyframes, at their own times; the decoder skips all other
 * frames, so decoding costs a fraction. `auto` picks keyframes when the keyframe interval is
 * no longer than the requested frame interval (1/fps), else exact.
 */
export interface SamplingPlan {
  mode: 'exact' | 'keyframes';
  requested: SamplingMode;
  /** Median keyframe interval of the video, when it was read. */
  keyframeIntervalS?: number;
  /** keyframes mode: the times to decode, within start/end and maxFrames. */
  keyframeTimes?: number[];
}

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

/** Reads the keyframe index when the request may use it (not for `exact`), then chooses. */
export async function planSampling(
  path: string,
  info: VideoInfo,
  requested: SamplingMode,
  o: { fps: number; startS: number; endS?: number; maxFrames?: number },
): Promise<SamplingPlan> {
  if (requested === 'exact') return { mode: 'exact', requested };
  // auto never fails a video that exact sampling can read: an unreadable index means exact.
  const keyframes = await probeKeyframes(path, info).catch((err: unknown) => {
    if (requested === 'auto') return [];
    throw err;
  });
  return chooseSampling(requested, keyframes, o);
}

/** Seconds between samples, for the tracker's gap rule: a track survives one missed sample. */
export const sampleIntervalS = (plan: SamplingPlan | undefined, fps: number): number =>
  plan?.mode === 'keyframes' ? plan.keyframeIntervalS ?? 1 / fps : 1 / fps;
