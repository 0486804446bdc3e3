import { foldTerms, textMatches } from '../shared/text-match.js';
import type { ReadyModel, ReadyPipeline } from '../registry/index.js';
import type { ReviewSummary, SegmentLabel } from '../shared/job-result.js';
import type { Track } from './tracker.js';

export interface SegmentOptions {
  /** Seconds added before and after each track. */
  pad: number;
  /** Segments closer than this are merged. */
  mergeGap: number;
  /** Only tracks of these labels make segments (all when undefined). */
  labels?: readonly string[];
  /** Only text tracks whose reading contains one of these terms (case and spacing folded) make segments. */
  query?: readonly string[];
}

/** A model's review defaults (its manifest's review.labels); a pipeline has none. */
export const defaultReviewLabels = (target: ReadyModel | ReadyPipeline): string[] | undefined => ('steps' in target ? undefined : target.manifest.review?.labels);

/** The labels a video review keeps: `*` = every label; none asked for = the model's review defaults (defaultReviewLabels). */
export const reviewLabels = (requested: string[] | undefined, defaults: string[] | undefined): string[] | undefined =>
  requested?.includes('*') ? undefined : requested ?? defaults;

export type { ReviewSummary, SegmentLabel } from '../shared/job-result.js';

export interface Segment {
  startS: number;
  endS: number;
  labels: SegmentLabel[];
  /** The readings of its text tracks, clearest first (text readers only). */
  texts?: string[];
  /** Ids of the tracks inside; used to pick the best frame. */
  trackIds: number[];
}


const round3 = (v: number) => Math.round(v * 1000) / 1000;

/**
 * Each track's first-to-last-seen span, padded and clipped to the video, then merged when
 * overlapping or closer than mergeGap. The result never overlaps and is sorted by time.
 */
export function buildSegments(tracks: readonly Track[], durationS: number, options: SegmentOptions): Segment[] {
  const wanted = options.labels ? new Set(options.labels) : undefined;
  const terms = options.query && foldTerms(options.query);
  const spans = tracks
    .filter((t) => !wanted || wanted.has(t.label))
    .filter((t) => !terms?.length || (t.text !== undefined && textMatches(t.text, terms)))
    .map((t) => ({ startS: Math.max(0, t.startS - options.pad), endS: Math.min(durationS, t.endS + options.pad), tracks: [t] }))
    .sort((a, b) => a.startS - b.startS);
  const merged: typeof spans = [];
  for (const span of spans) {
    const last = merged[merged.length - 1];
    if (last && span.startS - last.endS < options.mergeGap) {
      last.endS = Math.max(last.endS, span.endS);
      last.tracks.push(...span.tracks);
    } else merged.push({ ...span, tracks: [...span.tracks] });
  }
  return merged.map((m) => {
    const byLabel = new Map<string, SegmentLabel>();
    for (const t of m.tracks) {
      const entry = byLabel.get(t.label) ?? { label: t.label, maxScore: 0, trackCount: 0 };
      entry.maxScore = Math.max(entry.maxScore, t.maxScore);
      entry.trackCount++;
      byLabel.set(t.label, entry);
    }
    const read = m.tracks.filter((t) => t.text !== undefined).sort((a, b) => (b.textScore ?? 0) - (a.textScore ?? 0));
    const texts = [...new Set(read.map((t) => t.text!))];
    return {
      startS: round3(m.startS),
      endS: round3(m.endS),
      labels: [...byLabel.values()].sort((a, b) => b.maxScore - a.maxScore),
      ...(texts.length ? { texts } : {}),
      trackIds: m.tracks.map((t) => t.id),
    };
  });
}

/** What a reviewer must watch: flagged seconds over video seconds. */
export function summarizeReview(segments: readonly Pick<Segment, 'startS' | 'endS'>[], totalS: number): ReviewSummary {
  const flaggedS = segments.reduce((sum, s) => sum + (s.endS - s.startS), 0);
  return {
    totalS: round3(totalS),
    flaggedS: round3(flaggedS),
    flaggedRatio: totalS > 0 ? round3(flaggedS / totalS) : 0,
    segmentCount: segments.length,
  };
}
