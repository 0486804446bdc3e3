import type { JobResult, RuleEvent, VideoSegment } from '../../shared/job-result.js';
import type { Profile } from '../../shared/profile.js';
import { summarizeReview } from '../segments.js';
import { cueSpans } from './cue-spans.js';
import { evaluateProfile } from './evaluate.js';
import { ruleSegments } from './rule-segments.js';

export interface ReReviewOptions {
  pad: number;
  mergeGap: number;
  classIdOf: (label: string) => number;
}

/** A profile applied to a finished job: what it would flag, from the tracks the job kept. */
export interface ReReview {
  profile: { name: string; version?: number };
  events: RuleEvent[];
  /** Each segment also lists the job's own segments it overlaps (where reviewers' decisions are kept). */
  segments: Array<VideoSegment & { overlaps: number[] }>;
  review: ReturnType<typeof summarizeReview>;
}

/**
 * Re-review without re-inference: the profile's rules over the tracks and trajectories (and
 * the audio and picture cues) stored in the job's result. Nothing is decoded or inferred, so it answers in milliseconds however
 * long the video; the job's stored segments (and the decisions on them) stay as they are.
 */
export function reReview(result: JobResult, profile: Profile, o: ReReviewOptions): ReReview {
  const frame = { width: result.video.width, height: result.video.height };
  const { events, spans } = evaluateProfile(profile, result.tracks, frame, cueSpans(result));
  const segments = ruleSegments(spans, result.tracks, result.video.durationS, o).map((s) => ({
    ...s,
    overlaps: result.segments.flatMap((old, n) => (old.startS < s.endS && s.startS < old.endS ? [n] : [])),
  }));
  return { profile: { name: profile.name, ...(profile.version !== undefined ? { version: profile.version } : {}) }, events, segments, review: summarizeReview(segments, result.video.durationS) };
}
