import type { Box } from '../../preprocessing/index.js';
import { iou } from '../tasks/geometry.js';
import type { Detection, FrameDetections } from '../shared/job-result.js';
import { foldText } from '../shared/text-match.js';

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
}

export type { FrameDetections } from '../shared/job-result.js';

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
export function createTracker(options: TrackerOptions = DEFAULT_TRACKER, keyOf: (d: Detection) => string = (d) => d.label) {
  const open: Track[] = [];
  const closed: Track[] = [];
  let nextId = 1;

  return {
    /** Adds one frame; returns the tracks whose best frame this frame became. */
    update(frame: FrameDetections): Array<{ track: Track; detection: Detection }> {
      for (let i = open.length - 1; i >= 0; i--) {
        if (frame.timeS - open[i].endS > options.maxGapS) closed.push(...open.splice(i, 1));
      }
      // Each detection's key once per frame (for text it is a folded, fuzzy-matched reading).
      const keys = frame.detections.map(keyOf);
      const pairs: Array<{ t: number; d: number; score: number }> = [];
      open.forEach((track, t) =>
        frame.detections.forEach((det, d) => {
          if (keys[d] !== track.key) return;
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
      for (const p of pairs) {
        if (usedTracks.has(p.t) || usedDets.has(p.d)) continue;
        usedTracks.add(p.t);
        usedDets.add(p.d);
        touch(open[p.t], frame.detections[p.d]);
      }
      frame.detections.forEach((det, d) => {
        if (usedDets.has(d)) return;
        const track: Track = {
          id: nextId++, label: det.label, key: keys[d], startS: frame.timeS, endS: frame.timeS, maxScore: det.score, hits: 0,
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


/** Levenshtein distance between two strings, by characters. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * A track key per detection for text readers: the folded text, with near-identical readings
 * of one line (at most one character in five differing from a reading seen before) merged
 * into that reading's key. Other detections keep their label.
 */
const RECENT_READINGS = 256;

export function textTrackKeys(similarity = 0.8): (d: Detection) => string {
  const seen: string[] = [];
  const cache = new Map<string, string>();
  return (d) => {
    if (d.text === undefined) return d.label;
    const folded = foldText(d.text);
    let key = cache.get(folded);
    if (key === undefined) {
      // Compared with the most recent distinct readings only, so noisy OCR over a long video stays linear.
      key = seen.find((k) => 1 - editDistance(k, folded) / Math.max(k.length, folded.length, 1) >= similarity) ?? folded;
      if (key === folded) {
        seen.unshift(folded);
        seen.length = Math.min(seen.length, RECENT_READINGS);
      }
      cache.set(folded, key);
    }
    return `${d.label}\u0000${key}`;
  };
}
