import type { Box } from '../../preprocessing/index.js';
import { iou } from '../tasks/geometry.js';
import type { Detection } from '../tasks/index.js';

export interface TrackerOptions {
  /** A track needs this many matched frames to count. */
  minHits: number;
  /** A track not seen for longer than this ends. */
  maxGapS: number;
  /** Minimum IoU for a match. */
  minIou: number;
  /** Or: centre distance / sqrt(mean box area) up to this, for fast motion at low fps. */
  maxCentreDistance: number;
}

export const DEFAULT_TRACKER: TrackerOptions = { minHits: 2, maxGapS: 1.5, minIou: 0.1, maxCentreDistance: 1.5 };

export interface Track {
  id: number;
  label: string;
  startS: number;
  endS: number;
  maxScore: number;
  hits: number;
  /** The frame where this track scored highest. */
  bestFrameIndex: number;
  bestTimeS: number;
  lastBox: Box;
}

export interface FrameDetections {
  index: number;
  timeS: number;
  detections: readonly Detection[];
}

/** How alike a track's last box and a detection are: > 0 is a possible match, higher is better. */
export function matchScore(a: Box, b: Box, options: TrackerOptions): number {
  const overlap = iou(a, b);
  if (overlap >= options.minIou) return 1 + overlap;
  const dx = a.x + a.width / 2 - (b.x + b.width / 2);
  const dy = a.y + a.height / 2 - (b.y + b.height / 2);
  const scale = Math.sqrt((a.width * a.height + b.width * b.height) / 2) || 1;
  const distance = Math.hypot(dx, dy) / scale;
  // In (0, 1]: always below any IoU match, closer is better.
  return distance <= options.maxCentreDistance ? Math.max(1e-6, 1 - distance / options.maxCentreDistance) : 0;
}

/**
 * Greedy tracker: per frame, pairs of (open track, detection) of the same label are matched
 * best first; unmatched detections open tracks; tracks unseen for maxGapS close. Pure and
 * incremental: feed frames in time order, then call finish().
 */
export function createTracker(options: TrackerOptions = DEFAULT_TRACKER) {
  const open: Track[] = [];
  const closed: Track[] = [];
  let nextId = 1;

  return {
    /** Adds one frame; returns the tracks whose best frame this frame became. */
    update(frame: FrameDetections): Array<{ track: Track; detection: Detection }> {
      for (let i = open.length - 1; i >= 0; i--) {
        if (frame.timeS - open[i].endS > options.maxGapS) closed.push(...open.splice(i, 1));
      }
      const pairs: Array<{ t: number; d: number; score: number }> = [];
      open.forEach((track, t) =>
        frame.detections.forEach((det, d) => {
          if (det.label !== track.label) return;
          const score = matchScore(track.lastBox, det.box, options);
          if (score > 0) pairs.push({ t, d, score });
        }),
      );
      pairs.sort((a, b) => b.score - a.score);
      const usedTracks = new Set<number>();
      const usedDets = new Set<number>();
      const improved: Array<{ track: Track; detection: Detection }> = [];
      const touch = (track: Track, det: Detection) => {
        track.endS = frame.timeS;
        track.hits++;
        track.lastBox = det.box;
        if (det.score > track.maxScore || track.hits === 1) {
          track.maxScore = det.score;
          track.bestFrameIndex = frame.index;
          track.bestTimeS = frame.timeS;
          improved.push({ track, detection: det });
        }
      };
      for (const p of pairs) {
        if (usedTracks.has(p.t) || usedDets.has(p.d)) continue;
        usedTracks.add(p.t);
        usedDets.add(p.d);
        touch(open[p.t], frame.detections[p.d]);
      }
      frame.detections.forEach((det, d) => {
        if (usedDets.has(d)) return;
        const track: Track = {
          id: nextId++, label: det.label, startS: frame.timeS, endS: frame.timeS, maxScore: det.score, hits: 0,
          bestFrameIndex: frame.index, bestTimeS: frame.timeS, lastBox: det.box,
        };
        open.push(track);
        touch(track, det);
      });
      return improved;
    },
    /** All tracks with at least minHits, by start time. */
    finish(): Track[] {
      return [...closed, ...open].filter((t) => t.hits >= options.minHits).sort((a, b) => a.startS - b.startS || a.id - b.id);
    },
  };
}
