import type { Box } from '../../preprocessing/index.js';
import { iou } from '../tasks/geometry.js';
import type { Detection, FrameDetections, TrackSummary } from '../shared/job-result.js';
import { centreSpread, correctMotion, motionBox, predictMotion, startMotion, type BoxState } from './kalman.js';
import type { ColourName } from '../shared/colour.js';

export { editDistance, textTrackKeys } from './track-keys.js';

export interface TrackerOptions {
  /** A track is confirmed (counts, and may be lost and found again) after this many matched samples. */
  minHits: number;
  /** A confirmed track not seen for longer than this ends (the lost-track buffer). */
  maxGapS: number;
  /** Minimum IoU between a track's predicted box and a detection for a match. */
  minIou: number;
  /** Or: centre distance / sqrt(mean box area) up to this, for fast motion at low fps. */
  maxCentreDistance: number;
  /** Detections at or above this score start tracks and are matched first; those below only keep confirmed tracks alive. */
  highScore: number;
  /** Tracks spanning less than this many seconds are dropped at finish() (0 keeps them all). */
  minTrackS: number;
}

/**
 * The floor of the lost-track buffer is 4 s: a 2 s occlusion plus a missed sample or two either
 * side at 2 fps (3 s lost people who walked on behind a neighbour for 3.5 s). An overlap under
 * 0.2 with the predicted box is no IoU match: a passing neighbour's box overlaps that much,
 * and it outranked the centre-distance match of the track's own person (the known-truth scenes:
 * 4 identity switches in 24 tracks at 2 fps before, 2 after; bench/RESULTS.md). highScore 0.4 is the bundled detector's own threshold (0.3) plus 0.1: its people
 * score 0.3-0.66, and the ones under 0.4 are mostly one-sample flickers.
 */
export const DEFAULT_TRACKER: TrackerOptions = { minHits: 2, maxGapS: 4, minIou: 0.2, maxCentreDistance: 1.5, highScore: 0.4, minTrackS: 0 };

/** One observed sample of a track: [timeS, x, y, width, height, score], rounded as the result carries it. */
export type TrajectoryPoint = TrackSummary['trajectory'][number];

export interface Track {
  id: number;
  label: string;
  /** What matches a detection to the track: its label, or label and folded text for text readers. */
  key: string;
  /** The track's clearest reading (highest textScore), for text. */
  text?: string;
  textScore?: number;
  startS: number;
  endS: number;
  maxScore: number;
  hits: number;
  /** The frame where this track scored highest. */
  bestFrameIndex: number;
  bestTimeS: number;
  lastBox: Box;
  /** Every matched sample, in time order. */
  trajectory: TrajectoryPoint[];
  /** How many of its samples showed each colour (detections that carry one). */
  colourVotes: Map<ColourName, number>;
}

export type { FrameDetections } from '../shared/job-result.js';

/** A track with its motion filter, as the tracker holds it. */
interface LiveTrack {
  track: Track;
  motion: BoxState;
}

/** Source pixels to the integer, time to the millisecond, score to 0.01. */
const trajectoryPoint = (timeS: number, det: Detection): TrajectoryPoint => [
  Math.round(timeS * 1000) / 1000, Math.round(det.box.x), Math.round(det.box.y), Math.round(det.box.width), Math.round(det.box.height), Math.round(det.score * 100) / 100,
];

/**
 * How alike a track's predicted box and a detection are: > 0 is a possible match, higher is
 * better. Any overlap of at least minIou beats every centre-distance match. Without overlap,
 * a centre within maxCentreDistance box sizes matches (fast motion at 1-2 fps, where a new
 * track's velocity is not known yet); given `spreadPx` (a confirmed track's predicted centre
 * spread) the gate narrows to three of those, since a track whose motion is known and that is
 * nowhere near its prediction is more often a neighbour's detection than its own.
 */
export function matchScore(predicted: Box, det: Box, options: TrackerOptions, spreadPx?: number): number {
  const overlap = iou(predicted, det);
  if (overlap >= options.minIou) return 1 + overlap;
  const dx = predicted.x + predicted.width / 2 - (det.x + det.width / 2);
  const dy = predicted.y + predicted.height / 2 - (det.y + det.height / 2);
  const scale = Math.sqrt((predicted.width * predicted.height + det.width * det.height) / 2) || 1;
  const distance = Math.hypot(dx, dy) / scale;
  // In (0, 1): always below any IoU match, closer is better.
  const gate = spreadPx === undefined ? options.maxCentreDistance : Math.min(options.maxCentreDistance, (3 * spreadPx) / scale);
  return distance <= gate ? 1 / (1 + distance) : 0;
}

/** Greedy best-first: the pairs of (track, detection) by score, each side used once. Returns [track, detection] index pairs. */
function assign(tracks: readonly number[], dets: readonly number[], score: (t: number, d: number) => number): Array<[number, number]> {
  const pairs: Array<{ t: number; d: number; s: number }> = [];
  for (const t of tracks) for (const d of dets) {
    const s = score(t, d);
    if (s > 0) pairs.push({ t, d, s });
  }
  pairs.sort((a, b) => b.s - a.s);
  const [usedT, usedD] = [new Set<number>(), new Set<number>()];
  const matched: Array<[number, number]> = [];
  for (const { t, d } of pairs) {
    if (usedT.has(t) || usedD.has(d)) continue;
    usedT.add(t);
    usedD.add(d);
    matched.push([t, d]);
  }
  return matched;
}

/**
 * ByteTrack-style tracker with a constant-velocity Kalman filter per track, per key (a person
 * never becomes a car). Each frame: predict every track to the frame's time; match high-score
 * detections to confirmed tracks (seen last sample or lost), then low-score ones to confirmed
 * tracks seen last sample, then the remaining high ones to tentative tracks; unmatched
 * tentative tracks die, unmatched high detections start tentative tracks. Pure and
 * incremental: feed frames in time order, then call finish().
 */
export function createTracker(options: TrackerOptions = DEFAULT_TRACKER, keyOf: (d: Detection) => string = (d) => d.label) {
  let open: LiveTrack[] = [];
  const closed: Track[] = [];
  let nextId = 1;
  let previousTimeS: number | undefined;
  const confirmed = (live: LiveTrack) => live.track.hits >= options.minHits;

  return {
    /** Adds one frame; returns the tracks whose best frame this frame became. */
    update(frame: FrameDetections): Array<{ track: Track; detection: Detection }> {
      for (const live of open) if (frame.timeS - live.track.endS > options.maxGapS) closed.push(live.track);
      open = open.filter((live) => frame.timeS - live.track.endS <= options.maxGapS);
      const dets = frame.detections;
      // Each detection's key once per frame (for text it is a folded, fuzzy-matched reading).
      const keys = dets.map(keyOf);
      const predicted = open.map((live) => predictMotion(live.motion, frame.timeS - live.track.endS));
      const boxes = predicted.map(motionBox);
      const spreads = predicted.map(centreSpread);
      const score = (t: number, d: number) =>
        keys[d] === open[t].track.key ? matchScore(boxes[t], dets[d].box, options, confirmed(open[t]) ? spreads[t] : undefined) : 0;

      const indices = (n: number, keep: (i: number) => boolean) => Array.from({ length: n }, (_, i) => i).filter(keep);
      const isHigh = (d: number) => dets[d].score >= options.highScore;
      const matchedT = new Set<number>();
      const matchedD = new Set<number>();
      const pairs: Array<[number, number]> = [];
      const round = (tracks: number[], detections: number[]) => {
        for (const [t, d] of assign(tracks, detections, score)) [pairs.push([t, d]), matchedT.add(t), matchedD.add(d)];
      };
      round(indices(open.length, (t) => confirmed(open[t])), indices(dets.length, isHigh));
      round(
        indices(open.length, (t) => confirmed(open[t]) && !matchedT.has(t) && open[t].track.endS === previousTimeS),
        indices(dets.length, (d) => !isHigh(d)),
      );
      round(indices(open.length, (t) => !confirmed(open[t])), indices(dets.length, (d) => isHigh(d) && !matchedD.has(d)));

      const improved: Array<{ track: Track; detection: Detection }> = [];
      const touch = (live: LiveTrack, det: Detection, predictedMotion?: BoxState) => {
        const track = live.track;
        if (predictedMotion) live.motion = correctMotion(predictedMotion, det.box);
        track.endS = frame.timeS;
        track.hits++;
        track.lastBox = det.box;
        track.trajectory.push(trajectoryPoint(frame.timeS, det));
        if (det.colour) track.colourVotes.set(det.colour, (track.colourVotes.get(det.colour) ?? 0) + 1);
        if (det.text !== undefined && (track.textScore === undefined || (det.textScore ?? 0) > track.textScore)) {
          track.text = det.text;
          track.textScore = det.textScore ?? 0;
        }
        if (det.score > track.maxScore || track.hits === 1) {
          track.maxScore = det.score;
          track.bestFrameIndex = frame.index;
          track.bestTimeS = frame.timeS;
          improved.push({ track, detection: det });
        }
      };
      for (const [t, d] of pairs) touch(open[t], dets[d], predicted[t]);
      // A tentative track that misses a sample was a flicker: it dies at once.
      open = open.filter((live, t) => matchedT.has(t) || confirmed(live));
      dets.forEach((det, d) => {
        if (matchedD.has(d) || !isHigh(d)) return;
        const track: Track = {
          id: nextId++, label: det.label, key: keys[d], startS: frame.timeS, endS: frame.timeS, maxScore: det.score, hits: 0,
          bestFrameIndex: frame.index, bestTimeS: frame.timeS, lastBox: det.box, trajectory: [], colourVotes: new Map(),
        };
        const live: LiveTrack = { track, motion: startMotion(det.box) };
        open.push(live);
        touch(live, det);
      });
      previousTimeS = frame.timeS;
      return improved;
    },
    /** All confirmed tracks spanning at least minTrackS, by start time. */
    finish(): Track[] {
      return [...closed, ...open.map((live) => live.track)]
        .filter((t) => t.hits >= options.minHits && t.endS - t.startS >= options.minTrackS - 1e-9)
        .sort((a, b) => a.startS - b.startS || a.id - b.id);
    },
  };
}
