import { z } from 'zod';
import type { JobResult } from '../shared/job-result.js';
import { DEFAULT_MIN_DECISIONS, type Expected } from '../registry/index.js';

/**
 * What a reviewer did with one video job: a decision per segment, the ranges the model missed,
 * and the active review time the page reported. Kept beside the job in its job store.
 */
export interface SegmentDecision {
  decision: 'confirmed' | 'dismissed';
  /** The label the segment should have had, when the model's was wrong. */
  label?: string;
  note?: string;
  decidedAt: string;
}

export interface MissedRange {
  id: number;
  startS: number;
  endS: number;
  label?: string;
  note?: string;
  markedAt: string;
}

export interface ReviewState {
  /** By segment number, as a string key. */
  decisions: Record<string, SegmentDecision>;
  missed: MissedRange[];
  activeMs: number;
}

export const emptyReview = (): ReviewState => ({ decisions: {}, missed: [], activeMs: 0 });

const text = (max: number) => z.string().trim().min(1).max(max);

export const decisionInputSchema = z.strictObject({
  decision: z.enum(['confirmed', 'dismissed']),
  label: text(100).optional(),
  note: text(2000).optional(),
});
export type DecisionInput = z.infer<typeof decisionInputSchema>;

export const missedInputSchema = z
  .strictObject({ startS: z.number().nonnegative(), endS: z.number().positive(), label: text(100).optional(), note: text(2000).optional() })
  .refine((m) => m.endS > m.startS, { message: 'endS must be after startS', path: ['endS'] });
export type MissedInput = z.infer<typeof missedInputSchema>;

/** The page reports active time in slices; one slice is at most a minute. */
export const MAX_ACTIVITY_SLICE_MS = 60_000;
export const activityInputSchema = z.strictObject({ activeMs: z.number().int().positive().max(MAX_ACTIVITY_SLICE_MS) });

/** The parts of a video job's result the review reads. */
export type ReviewedResult = Pick<JobResult, 'model' | 'segments'> & { video: Pick<JobResult['video'], 'durationS'> };

export type ReviewStatus = 'unreviewed' | 'in-progress' | 'reviewed';

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;

/**
 * A job's review in numbers. Time saved = 1 - active review time / video duration: the share
 * of the video's own length a reviewer did not have to spend. A job is reviewed once every
 * segment has a decision (a job without segments: once the reviewer spent time on it or
 * marked a missed range).
 */
export function reviewReport(jobId: string, createdAt: string, result: ReviewedResult, state: ReviewState) {
  const segments = result.segments.map((s, index) => ({
    index, startS: s.startS, endS: s.endS, labels: s.labels.map((l) => l.label),
    ...(state.decisions[index] ? { decision: state.decisions[index] } : {}),
  }));
  const decided = segments.filter((s) => s.decision);
  const confirmed = decided.filter((s) => s.decision!.decision === 'confirmed').length;
  const labelCorrections = decided.filter((s) => s.decision!.label !== undefined && !s.labels.includes(s.decision!.label)).length;
  const touched = decided.length > 0 || state.missed.length > 0 || state.activeMs > 0;
  const status: ReviewStatus = !touched ? 'unreviewed' : decided.length === segments.length ? 'reviewed' : 'in-progress';
  const videoS = result.video.durationS;
  const activeS = state.activeMs / 1000;
  return {
    jobId, createdAt, model: result.model, status,
    videoS: round(videoS), flaggedS: round(result.segments.reduce((sum, s) => sum + (s.endS - s.startS), 0)), activeS: round(activeS),
    timeSaved: status === 'reviewed' && videoS > 0 ? round(1 - activeS / videoS) : null,
    counts: { segments: segments.length, confirmed, dismissed: decided.length - confirmed, undecided: segments.length - decided.length, missed: state.missed.length, labelCorrections },
    segments,
    missed: state.missed,
  };
}
export type ReviewReport = ReturnType<typeof reviewReport>;

const median = (xs: readonly number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return round(s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2);
};

/**
 * Totals and medians over reviews. Only reviewed jobs count toward time saved (a half-done
 * review would look like time saved); decisions count wherever they were made.
 */
export function summarizeReviews(reports: readonly ReviewReport[]) {
  const reviewed = reports.filter((r) => r.status === 'reviewed');
  const sum = (rs: readonly ReviewReport[], f: (r: ReviewReport) => number) => round(rs.reduce((s, r) => s + f(r), 0));
  const confirmed = sum(reports, (r) => r.counts.confirmed);
  const dismissed = sum(reports, (r) => r.counts.dismissed);
  const videoS = sum(reviewed, (r) => r.videoS);
  const activeS = sum(reviewed, (r) => r.activeS);
  return {
    jobs: { reviewed: reviewed.length, inProgress: reports.filter((r) => r.status === 'in-progress').length },
    reviewed: { videoS, flaggedS: sum(reviewed, (r) => r.flaggedS), activeS, timeSaved: videoS > 0 ? round(1 - activeS / videoS) : null },
    medians: { timeSaved: median(reviewed.map((r) => r.timeSaved!)), activeS: median(reviewed.map((r) => r.activeS)), flaggedRatio: median(reviewed.map((r) => (r.videoS > 0 ? r.flaggedS / r.videoS : 0))) },
    decisions: { confirmed, dismissed, labelCorrections: sum(reports, (r) => r.counts.labelCorrections), missed: sum(reports, (r) => r.counts.missed) },
  };
}

/**
 * A version's quality from its reviewers: precision (confirmed over decided), missed ranges per
 * hour of reviewed video, label corrections and time saved, judged against `expected`.
 */
export function versionQuality(reports: readonly ReviewReport[], expected: Expected | undefined) {
  const s = summarizeReviews(reports);
  const decided = s.decisions.confirmed + s.decisions.dismissed;
  const precision = decided ? round(s.decisions.confirmed / decided) : null;
  const touchedVideoS = reports.filter((r) => r.status !== 'unreviewed').reduce((sum, r) => sum + r.videoS, 0);
  const timeSaved = s.medians.timeSaved;
  const minDecisions = expected?.minDecisions ?? DEFAULT_MIN_DECISIONS;
  const below = [
    ...(expected?.precision !== undefined && precision !== null && precision < expected.precision ? [`precision ${precision} < ${expected.precision}`] : []),
    ...(expected?.timeSavedRatio !== undefined && timeSaved !== null && timeSaved < expected.timeSavedRatio ? [`median time saved ${timeSaved} < ${expected.timeSavedRatio}`] : []),
  ];
  const status = !expected ? 'no-expectation' : decided < minDecisions ? 'insufficient-data' : below.length ? 'below-expected' : 'ok';
  return {
    status, ...(below.length && status === 'below-expected' ? { reasons: below } : {}),
    expected: expected ?? null,
    samples: { decisions: decided, minDecisions, reviewedJobs: s.jobs.reviewed },
    precision,
    missedPerVideoHour: touchedVideoS > 0 ? round(s.decisions.missed / (touchedVideoS / 3600), 2) : null,
    labelCorrections: s.decisions.labelCorrections,
    timeSaved,
    decisions: s.decisions,
  };
}
