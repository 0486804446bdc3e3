import type { Detection, SegmentLabel, VideoSegment } from '../../shared/job-result.js';
import type { TrajectoryPoint } from '../tracker.js';
import type { RuleSpan, RuleTrack } from './evaluate.js';

export interface RuleSegmentOptions {
  /** Seconds added before and after each span. */
  pad: number;
  /** Spans closer than this are merged. */
  mergeGap: number;
  /** A label's class id in the model (detections carry it). */
  classIdOf: (label: string) => number;
}

/** A segment before its best frame is chosen: the spans merged into it. */
interface Merged {
  startS: number;
  endS: number;
  spans: RuleSpan[];
}

function mergeSpans(spans: readonly RuleSpan[], durationS: number, o: Pick<RuleSegmentOptions, 'pad' | 'mergeGap'>): Merged[] {
  const padded = spans
    .map((s) => ({ startS: Math.max(0, s.startS - o.pad), endS: Math.min(durationS, s.endS + o.pad), spans: [s] }))
    .sort((a, b) => a.startS - b.startS);
  const merged: Merged[] = [];
  for (const span of padded) {
    const last = merged.at(-1);
    if (last && span.startS <= last.endS + o.mergeGap) {
      last.endS = Math.max(last.endS, span.endS);
      last.spans.push(...span.spans);
    } else merged.push(span);
  }
  return merged;
}

const detectionAt = (track: RuleTrack, p: TrajectoryPoint, classIdOf: (label: string) => number): Detection => ({
  label: track.label, classId: classIdOf(track.label), score: p[5], box: { x: p[1], y: p[2], width: p[3], height: p[4] },
  ...(track.text !== undefined ? { text: track.text } : {}),
});

/** The segment's clearest moment: its tracks' best-scoring sample inside it, with every track seen then. */
function bestFrameOf(tracks: readonly RuleTrack[], m: Merged, classIdOf: (label: string) => number): VideoSegment['bestFrame'] {
  const inside = (p: TrajectoryPoint) => p[0] >= m.startS - 1e-6 && p[0] <= m.endS + 1e-6;
  let best: TrajectoryPoint | undefined;
  for (const t of tracks) for (const p of t.trajectory) if (inside(p) && (!best || p[5] > best[5])) best = p;
  if (!best) return { timeS: m.startS, detections: [] };
  const timeS = best[0];
  const detections = tracks.flatMap((t) => {
    const p = t.trajectory.find((q) => Math.abs(q[0] - timeS) < 1e-6);
    return p ? [detectionAt(t, p, classIdOf)] : [];
  });
  return { timeS, detections };
}

function labelsOf(tracks: readonly RuleTrack[]): SegmentLabel[] {
  const byLabel = new Map<string, SegmentLabel>();
  for (const t of tracks) {
    const entry = byLabel.get(t.label) ?? { label: t.label, maxScore: 0, trackCount: 0 };
    entry.maxScore = Math.max(entry.maxScore, t.maxScore);
    entry.trackCount++;
    byLabel.set(t.label, entry);
  }
  return [...byLabel.values()].sort((a, b) => b.maxScore - a.maxScore);
}

/**
 * The segments a profile flags: its rules' spans padded, clipped to the video and merged when
 * they overlap or come closer than mergeGap. Each segment names the rules and tracks behind
 * it and is an alert when one of its rules is.
 */
export function ruleSegments(spans: readonly RuleSpan[], tracks: readonly RuleTrack[], durationS: number, o: RuleSegmentOptions): VideoSegment[] {
  const byId = new Map(tracks.map((t) => [t.id, t]));
  return mergeSpans(spans, durationS, o).map((m, index) => {
    const trackIds = [...new Set(m.spans.flatMap((s) => s.trackIds))].sort((a, b) => a - b);
    const segmentTracks = trackIds.map((id) => byId.get(id)!).filter(Boolean);
    return {
      index,
      startS: Math.round(m.startS * 1000) / 1000,
      endS: Math.round(m.endS * 1000) / 1000,
      labels: labelsOf(segmentTracks),
      bestFrame: bestFrameOf(segmentTracks, m, o.classIdOf),
      rules: [...new Set(m.spans.map((s) => s.rule))].sort(),
      alert: m.spans.some((s) => s.alert),
      trackIds,
    };
  });
}
