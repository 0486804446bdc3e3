import type { ReviewSummary, ServedResult, VideoSegment } from '../shared/job-result.js';
import type { Review } from './api.js';
import type { ProfileDraft } from './profile-draft.js';
import type { RedactionDraft } from './redact-request.js';

/**
 * A segment on screen: one of the job's own (with its thumbnail), or one of a re-review's
 * (its best frame's picture when the video is kept; `overlaps` lists the job's own segments it overlaps, where decisions stay).
 */
export type ShownSegment = VideoSegment & { thumbnail?: string; overlaps?: number[] };

/** The job on screen: its result, its review as the server last answered, and the reviewer's place in it. */
export interface View {
  jobId: string;
  result: ServedResult;
  review: Review;
  /** The segments on screen and their figures: the job's own, or a re-review's. */
  segments: ShownSegment[];
  summary: ReviewSummary;
  /** The profile whose re-review is on screen; undefined while the job's own segments are. */
  reReviewedWith?: { name: string; version?: number };
  /** The zones, lines and rules being drawn for a profile. */
  draft: ProfileDraft;
  /** What the redaction panel will ask to hide, and how. */
  redaction: RedactionDraft;
  /** The redaction being followed (polled until it ends, then previewed). */
  redactionId?: string;
  /** The succeeded redaction the cards' pictures are masked as, when the reviewer asks for them redacted. */
  picturesRedactedBy?: string;
  /** The segment the keys act on. */
  active: number;
  /** The segment playing until its end, if any. */
  playing?: ShownSegment;
  /** Where a missed range being marked starts (the first press of m). */
  missedStart?: number;
}

/** Everything the page remembers between events, in one place. */
export interface PageState {
  /** The video job on screen; undefined on the upload form, the jobs list or an image. */
  view: View | undefined;
  /** The job whose progress is being polled: what Cancel cancels. */
  pollingJob: string | undefined;
  /** The labels the chosen model's defaults last filled in, so a reviewer's own are kept. */
  prefilledLabels: string;
  /** Files picked in this tab, by job: played locally when the server kept no video. */
  localFiles: Map<string, File>;
  /** Active review time counted and not yet sent. */
  activeMs: number;
  /** When the reviewer last pressed, pointed or scrolled (ms since the epoch). */
  lastInput: number;
  /** The pending video frame callback, so only one chain runs. */
  frameWatch: number | undefined;
}

/** A fresh page's state: nothing on screen, nothing counted. */
export function createPageState(): PageState {
  return { view: undefined, pollingJob: undefined, prefilledLabels: '', localFiles: new Map(), activeMs: 0, lastInput: Date.now(), frameWatch: undefined };
}
