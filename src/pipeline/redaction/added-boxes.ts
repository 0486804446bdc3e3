import type { VideoInfo } from '../../media/ffmpeg.js';
import { sampleFrames, type SampledFrame } from '../../media/ffmpeg.js';
import { blendTemplate, findTemplate, greyFrame, resampleTemplate, templateAt, type GreyFrame, type Match, type Template } from '../../media/template-match.js';
import type { TrajectoryPoint } from '../tracker.js';
import type { RedactionRequest } from '../../shared/redaction.js';
import type { RedactionTarget } from './plan.js';

// The boxes a reviewer draws, as targets. A box with `track` (the default) follows what it
// covers: from the frame it was drawn on, the video is decoded at TRACK_FPS, scaled so the box
// is about TEMPLATE_SIDE pixels across, and the patch is found again on each frame near where
// its motion says it will be (template-match.ts). It stops where the match is lost (the
// thing left the frame or was hidden) or at the box's `endS`, and backwards from it the same
// way, to where the thing came into view. Fail-safe as the mask plan is:
// a box with an `endS` stays masked to it (held where it was last found), and one without is
// held for the request's holdS after it was lost. The box grows and shrinks with what it covers:
// each frame the patch is also tried a step smaller and larger, and taken where it matches
// clearly better.

/** Frames per second a drawn box is followed at (at most the video's own rate). */
export const TRACK_FPS = 10;
/** The box's shorter side, in pixels of the scaled frames it is followed on. */
const TEMPLATE_SIDE = 32;
/** A box whose shorter side is under this many source pixels is too small to follow: it stays where it was drawn. */
const MIN_TRACKED_SIDE = 8;
/** Below this score the patch is lost. */
const LOST_SCORE = 0.5;
/** Above this score the template moves a little towards what it found. */
const BLEND_SCORE = 0.75;
const BLEND_SHARE = 0.15;
/** Each frame the patch is also tried this much smaller and larger (what it covers comes nearer or goes away). */
const SCALE_STEP = 1.06;
/** A resized patch is taken only when it matches this much better than the patch as it is (against drifting on noise). */
const SCALE_GAIN = 0.02;
/** The patch never shrinks below this many scaled pixels a side. */
const MIN_TEMPLATE_SIDE = 8;

type Box = { x: number; y: number; width: number; height: number };

const point = (timeS: number, b: Box, score = 1): TrajectoryPoint => [timeS, b.x, b.y, b.width, b.height, score];

/** The scale a box is followed at: its shorter side TEMPLATE_SIDE pixels (never above the source's size). */
const trackingScale = (box: Box) => Math.min(1, TEMPLATE_SIDE / Math.min(box.width, box.height));

/** Where the box searches on the next frame: its last place moved on by its last step, within a radius that covers its size and speed. */
function nextSearch(path: readonly Box[], template: Template) {
  const last = path.at(-1)!;
  const before = path.at(-2) ?? last;
  const step = { x: last.x - before.x, y: last.y - before.y };
  const radius = Math.max(6, Math.ceil(Math.max(template.width, template.height) * 0.75), Math.ceil(2 * Math.hypot(step.x, step.y)));
  return { near: { x: last.x + step.x, y: last.y + step.y }, radius };
}

/** Seconds of scaled frames held at once while a box is followed backwards. */
const BACK_WINDOW_S = 5;

/**
 * The frames from `fromS` up to (not including) `toS`, newest first: decoded forwards in
 * windows of BACK_WINDOW_S, from the last window back, so memory holds one window.
 */
async function* framesBackwards(path: string, info: VideoInfo, o: { fromS: number; toS: number; fps: number; scale: { width: number; height: number; interpolation: 'linear' }; signal?: AbortSignal }): AsyncGenerator<SampledFrame> {
  for (let end = o.toS; end > o.fromS + 1e-6; end -= BACK_WINDOW_S) {
    const window: SampledFrame[] = [];
    for await (const f of sampleFrames(path, info, { fps: o.fps, startS: Math.max(o.fromS, end - BACK_WINDOW_S), endS: end, scale: o.scale, signal: o.signal })) {
      if (f.timeS < end - 1e-6) window.push(f);
    }
    yield* window.reverse();
  }
}

/**
 * Follows a template through `frames` (scaled) from where it was cut (`at`): one point a
 * frame while it is found (source pixels, the drawn box's size), until it is lost or `stop`
 * says so. The template drifts slowly with what it finds.
 */
async function followThrough(frames: AsyncIterable<SampledFrame>, start: Template, at: Box, o: { kx: number; ky: number; box: Box; stop: (timeS: number) => boolean }): Promise<TrajectoryPoint[]> {
  const trajectory: TrajectoryPoint[] = [];
  const places = [at];
  let template = start;
  for await (const frame of frames) {
    const grey = greyFrame(frame.image);
    const { near, radius } = nextSearch(places, template);
    const found = rescaled(grey, template, findTemplate(grey, template, near, radius));
    const { match } = found;
    if (match.score < LOST_SCORE) break;
    template = found.template;
    places.push({ x: match.x, y: match.y, width: template.width, height: template.height });
    // The drawn box grown or shrunk as the patch was: its size in source pixels, by the patch's size against the first.
    const [gx, gy] = [template.width / start.width, template.height / start.height];
    trajectory.push(point(frame.timeS, { x: match.x / o.kx, y: match.y / o.ky, width: o.box.width * gx, height: o.box.height * gy }, match.score));
    if (match.score >= BLEND_SCORE) template = blendTemplate(template, grey, match.x, match.y, BLEND_SHARE);
    if (o.stop(frame.timeS)) break;
  }
  return trajectory;
}

/**
 * The patch as it is, or a step smaller or larger where that matches clearly better around the
 * same centre (a thing coming nearer or going away): the template and where it matched.
 */
function rescaled(grey: GreyFrame, template: Template, match: Match): { template: Template; match: Match } {
  let best = { template, match };
  for (const step of [1 / SCALE_STEP, SCALE_STEP]) {
    const [width, height] = [Math.round(template.width * step), Math.round(template.height * step)];
    if (Math.min(width, height) < MIN_TEMPLATE_SIDE || width > grey.width || height > grey.height || (width === template.width && height === template.height)) continue;
    const resized = resampleTemplate(template, width, height);
    const centred = { x: match.x + (template.width - width) / 2, y: match.y + (template.height - height) / 2 };
    const m = findTemplate(grey, resized, centred, 2);
    if (m.score > best.match.score + SCALE_GAIN) best = { template: resized, match: m };
  }
  return best;
}

/**
 * The box's path through the video: from the frame it was drawn on forwards, while it is
 * found (to `endS` at most), and backwards from it to where what it covers came into view
 * (the reviewer draws a box where they notice a thing, often after it appeared). With an
 * `endS`, its last place again at `endS`. Source pixels.
 */
export async function followBox(path: string, info: VideoInfo, box: Box, span: { timeS: number; endS?: number }, signal?: AbortSignal): Promise<TrajectoryPoint[]> {
  const fixed = [point(span.timeS, box), point(span.endS ?? span.timeS, box)];
  if (Math.min(box.width, box.height) < MIN_TRACKED_SIDE) return fixed;
  const k = trackingScale(box);
  const scale = { width: Math.max(16, Math.round(info.width * k)), height: Math.max(16, Math.round(info.height * k)), interpolation: 'linear' as const };
  const [kx, ky] = [scale.width / info.width, scale.height / info.height];
  const fps = Math.min(TRACK_FPS, info.fps > 0 ? info.fps : TRACK_FPS);
  const endS = span.endS ?? info.durationS;
  const forwards = sampleFrames(path, info, { fps, startS: span.timeS, endS: endS + 1 / fps, scale, signal });
  const drawnOn = (await forwards.next()).value as SampledFrame | undefined;
  if (!drawnOn) return fixed;
  const grey = greyFrame(drawnOn.image);
  const at = { x: Math.round(box.x * kx), y: Math.round(box.y * ky), width: Math.max(2, Math.round(box.width * kx)), height: Math.max(2, Math.round(box.height * ky)) };
  at.width = Math.min(at.width, grey.width - at.x);
  at.height = Math.min(at.height, grey.height - at.y);
  const template = templateAt(grey, at.x, at.y, at.width, at.height);
  if (template.norm < 1e-3 * template.centred.length) {
    await forwards.return(undefined);
    return fixed;
  }
  const follow = (frames: AsyncIterable<SampledFrame>, stop: (timeS: number) => boolean) => followThrough(frames, template, at, { kx, ky, box, stop });
  const ahead = drawnOn.timeS >= endS ? (await forwards.return(undefined), []) : await follow(forwards, (t) => t >= endS);
  const behind = await follow(framesBackwards(path, info, { fromS: 0, toS: drawnOn.timeS, fps, scale, signal }), () => false);
  const trajectory = [...behind.reverse(), point(drawnOn.timeS, box), ...ahead];
  const last = trajectory.at(-1)!;
  if (span.endS !== undefined && last[0] < span.endS) trajectory.push([span.endS, last[1], last[2], last[3], last[4], 0]);
  return trajectory;
}

/**
 * The reviewer's boxes as targets of their own (ids -1, -2, ...), frame shares to pixels;
 * tracked ones followed through the video, one after the other. A followed box's place is
 * known to a scaled pixel or so: its mask grows by at least two of them.
 */
export async function addedBoxTargets(
  request: Pick<RedactionRequest, 'boxes'>,
  videoPath: string,
  info: VideoInfo,
  o: { signal?: AbortSignal; onBox?: (done: number) => void } = {},
): Promise<RedactionTarget[]> {
  const targets: RedactionTarget[] = [];
  for (const [i, b] of request.boxes.entries()) {
    const box = { x: b.box.x * info.width, y: b.box.y * info.height, width: b.box.width * info.width, height: b.box.height * info.height };
    if (!b.track) {
      targets.push({ trackId: -(i + 1), label: 'added', trajectory: [point(b.timeS, box), point(b.endS ?? b.timeS, box)] });
      continue;
    }
    const trajectory = await followBox(videoPath, info, box, b, o.signal);
    targets.push({ trackId: -(i + 1), label: 'added', trajectory, minMarginPx: Math.ceil(2 / trackingScale(box)) });
    o.onBox?.(i + 1);
  }
  return targets;
}
