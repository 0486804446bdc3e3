import type { AudioAnalysis, PictureCues } from '../../shared/job-result.js';
import type { CueKind } from '../../shared/profile.js';

/** A span of one cue, with its score (speech: the voice model's mean probability; the others 1). */
export interface ScoredSpan {
  startS: number;
  endS: number;
  score: number;
}

/** The spans of each cue a result holds: speech and loud sounds from its audio, black and frozen from its picture. */
export function cueSpans(found: { audio?: AudioAnalysis; cues?: PictureCues }): Record<CueKind, ScoredSpan[]> {
  const plain = (spans: ReadonlyArray<{ startS: number; endS: number }> = []) => spans.map((s) => ({ startS: s.startS, endS: s.endS, score: 1 }));
  return {
    speech: (found.audio?.speech ?? []).map((s) => ({ startS: s.startS, endS: s.endS, score: s.score })),
    loud: (found.audio?.loud ?? []).map((l) => ({ startS: l.timeS, endS: l.endS, score: 1 })),
    black: plain(found.cues?.black),
    frozen: plain(found.cues?.frozen),
  };
}
