import { FramewatchError } from '../../errors/index.js';
import type { SourceSpan } from '../../media/redact.js';
import type { SegmentDecision } from '../../review/index.js';
import type { JobResult } from '../../shared/job-result.js';

// What part of the video a redaction outputs: all of it, or only the segments a reviewer
// confirmed, as whole frames of the redaction's frame grid, in time order, overlaps joined.

interface Range {
  startS: number;
  endS: number;
}

/** The confirmed segments' ranges; NO_CONFIRMED_SEGMENTS when the review confirmed none. */
export function confirmedRanges(jobId: string, segments: readonly Range[], decisions: Readonly<Record<string, SegmentDecision>>): Range[] {
  const confirmed = segments.filter((_, n) => decisions[n]?.decision === 'confirmed');
  if (confirmed.length === 0) {
    throw new FramewatchError('NO_CONFIRMED_SEGMENTS', `job '${jobId}' has no confirmed segment to redact (confirm one with PUT /v1/jobs/${jobId}/segments/:n/decision)`, { segments: segments.length });
  }
  return confirmed.map(({ startS, endS }) => ({ startS, endS }));
}

/**
 * The ranges as runs of whole frames at `fps` (frame k shows at k / fps): from the frame
 * showing at a range's start through the one showing at its end, so nothing of a range is
 * cut, in time order, with overlapping or touching runs joined (no frame is output twice).
 */
export function frameSpans(ranges: readonly Range[], fps: number, durationS: number): Array<Required<SourceSpan>> {
  const total = Math.max(1, Math.round(durationS * fps));
  const frameAt = (timeS: number) => Math.min(total - 1, Math.max(0, Math.floor(timeS * fps + 1e-6)));
  const runs = ranges.map((r) => ({ first: frameAt(r.startS), end: frameAt(r.endS) + 1 })).sort((a, b) => a.first - b.first);
  const joined: typeof runs = [];
  for (const run of runs) {
    const last = joined.at(-1);
    if (last && run.first <= last.end) last.end = Math.max(last.end, run.end);
    else joined.push({ ...run });
  }
  return joined.map((r) => ({ startS: r.first / fps, frames: r.end - r.first }));
}

/** The frames of the job's confirmed segments (NO_CONFIRMED_SEGMENTS when none). */
export function confirmedSpans(jobId: string, result: Pick<JobResult, 'segments'>, decisions: Readonly<Record<string, SegmentDecision>>, fps: number, durationS: number): Array<Required<SourceSpan>> {
  return frameSpans(confirmedRanges(jobId, result.segments, decisions), fps, durationS);
}

/** One part of a chunked redaction: a run of the output's frames, from one of its spans. */
export interface RedactionPart {
  /** Which of the spans it is cut from. */
  spanIndex: number;
  span: SourceSpan;
}

/**
 * The spans cut into parts of `partFrames` frames at `fps`, in output order, so the parts
 * joined are the spans' frames exactly. A span without a frame count (the whole video) is cut
 * by its estimated `openFrames`, and its last part runs to the end: half a part to a part and a
 * half, so a duration that is a frame off never makes an empty part.
 */
export function redactionParts(spans: readonly SourceSpan[], fps: number, partFrames: number, openFrames: number): RedactionPart[] {
  return spans.flatMap((span, spanIndex) => {
    const frames = span.frames ?? openFrames;
    const count = span.frames === undefined ? Math.max(1, Math.round(frames / partFrames)) : Math.max(1, Math.ceil(frames / partFrames));
    return Array.from({ length: count }, (_, k) => {
      const last = k === count - 1;
      const length = last ? (span.frames === undefined ? undefined : frames - k * partFrames) : partFrames;
      return { spanIndex, span: { startS: span.startS + (k * partFrames) / fps, ...(length === undefined ? {} : { frames: length }) } };
    });
  });
}
