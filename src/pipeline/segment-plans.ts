import type { Detection, FrameDetections, RuleEvent, TrackSummary, VideoSegment } from '../shared/job-result.js';
import { CUE_KINDS, type CueKind, type Profile } from '../shared/profile.js';
import { metrics } from '../metrics/index.js';
import { evaluateProfile } from './rules/evaluate.js';
import { ruleSegments } from './rules/rule-segments.js';
import type { ScoredSpan } from './rules/cue-spans.js';
import { buildSegments } from './segments.js';
import type { Track } from './tracker.js';

/** A segment before its thumbnail is cut: its fields, the sampled frame it shows and the boxes drawn on it. */
export interface PlannedSegment {
  fields: Omit<VideoSegment, 'index' | 'bestFrame'>;
  frame: FrameDetections;
  detections: Detection[];
}

interface PlanOptions {
  pad: number;
  mergeGap: number;
  labels?: string[];
  query?: string[];
}

/**
 * The cue spans `labels=` asks for (speech, loud, black, frozen), as tracks without boxes, so
 * that segments come from them as from any track; their thumbnail is the sampled frame nearest
 * their middle (an audio job has none: its thumbnails draw the span). Their ids are negative: they are not the result's tracks.
 */
function cueTracks(cues: Record<CueKind, ScoredSpan[]> | undefined, frames: readonly FrameDetections[], labels?: readonly string[]): Track[] {
  if (!cues || !labels) return [];
  const kinds = CUE_KINDS.filter((k) => labels.includes(k));
  return kinds.flatMap((kind) => cues[kind].map((span) => ({ kind, span }))).map(({ kind, span }, i): Track => {
    const frame = nearestFrame(frames, (span.startS + span.endS) / 2);
    return {
      id: -(i + 1), label: kind, key: kind, startS: span.startS, endS: span.endS, maxScore: span.score, hits: 1, bestFrameIndex: frame.index, bestTimeS: frame.timeS,
      lastBox: { x: 0, y: 0, width: 0, height: 0 }, trajectory: [], colourVotes: new Map(),
    };
  });
}

/**
 * Without a profile: every track of the review labels (and matching `query=`) makes a segment;
 * so does every span of the cues the labels name.
 */
export function trackSegmentPlans(
  modelTracks: readonly Track[],
  frames: readonly FrameDetections[],
  durationS: number,
  o: PlanOptions,
  cues?: Record<CueKind, ScoredSpan[]>,
): PlannedSegment[] {
  const byIndex = new Map(frames.map((f) => [f.index, f]));
  const wanted = o.labels ? new Set(o.labels) : undefined;
  const tracks = [...modelTracks, ...cueTracks(cues, frames, o.labels)];
  // A segment's thumbnail shows its clearest model track, if it has one.
  const clearest = (a: Track, b: Track) => Number(b.id > 0) - Number(a.id > 0) || b.maxScore - a.maxScore;
  return buildSegments(tracks, durationS, o).map((segment) => {
    const best = tracks.filter((t) => segment.trackIds.includes(t.id)).sort(clearest)[0];
    const frame = byIndex.get(best.bestFrameIndex) ?? nearestFrame(frames, best.bestTimeS);
    const { trackIds: _ids, ...fields } = segment;
    return { fields, frame, detections: frame.detections.filter((d) => !wanted || wanted.has(d.label)) };
  });
}

/**
 * The sampled frame nearest to a time (trajectory times are rounded to the millisecond). An
 * audio job samples no frames: its moment is then a frame with nothing on it.
 */
function nearestFrame(frames: readonly FrameDetections[], timeS: number): FrameDetections {
  if (frames.length === 0) return { index: 0, timeS, detections: [] };
  let best = frames[0];
  for (const f of frames) if (Math.abs(f.timeS - timeS) < Math.abs(best.timeS - timeS)) best = f;
  return best;
}

/**
 * With a profile: its rules over the tracks make the segments, each naming the rules and
 * tracks behind it; the thumbnail shows those tracks' boxes at the segment's clearest sample.
 */
export function profileSegmentPlans(
  profile: Profile,
  tracks: readonly TrackSummary[],
  frames: readonly FrameDetections[],
  video: { width: number; height: number; durationS: number },
  o: PlanOptions,
  cues?: Record<CueKind, ScoredSpan[]>,
): { plans: PlannedSegment[]; events: RuleEvent[] } {
  const classIds = new Map(frames.flatMap((f) => f.detections.map((d) => [d.label, d.classId] as const)));
  const { events, spans } = evaluateProfile(profile, tracks, video, cues);
  for (const e of events) metrics.ruleEvents.inc({ profile: profile.name, rule: e.rule, kind: e.kind });
  const segments = ruleSegments(spans, tracks, video.durationS, { ...o, classIdOf: (label) => classIds.get(label) ?? -1 });
  const plans = segments.map(({ index: _index, bestFrame, ...fields }) => ({ fields, frame: nearestFrame(frames, bestFrame.timeS), detections: bestFrame.detections }));
  return { plans, events };
}
