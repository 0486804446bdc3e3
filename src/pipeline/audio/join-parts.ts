import type { AudioAnalysis } from '../../shared/job-result.js';
import { speechRatio } from '../../tasks/index.js';

// A chunked job's audio: each chunk heard its own part (after a pre-roll, so its loudness
// background and voice lanes start as in one pass). Joined here in time order; a speech span
// cut at a chunk boundary, padded on both sides up to it, becomes one span again.

/** Spans closer than this are the two halves of one cut at a boundary (the padding makes them touch). */
const JOIN_GAP_S = 0.05;

type Speech = AudioAnalysis['speech'][number];

const round3 = (v: number) => Math.round(v * 1000) / 1000;

function joinSpans(spans: readonly Speech[]): Speech[] {
  const out: Speech[] = [];
  for (const span of [...spans].sort((a, b) => a.startS - b.startS)) {
    const last = out.at(-1);
    if (!last || span.startS > last.endS + JOIN_GAP_S) {
      out.push({ ...span });
      continue;
    }
    // The joined span's score: its halves' mean probabilities weighted by their lengths.
    const [a, b] = [last.endS - last.startS, span.endS - span.startS];
    last.score = round3((last.score * a + span.score * b) / Math.max(1e-9, a + b));
    last.endS = Math.max(last.endS, span.endS);
  }
  return out;
}

/**
 * The job's audio from its parts (one part: itself). A part that failed or would not decode
 * gives the job that status and error, with what the other parts heard; all 'none' is 'none'.
 */
export function joinAudioParts(parts: readonly AudioAnalysis[]): AudioAnalysis | undefined {
  if (parts.length <= 1) return parts[0];
  const heard = parts.filter((p) => p.status === 'analysed');
  const broken = parts.find((p) => p.status === 'failed' || p.status === 'undecodable');
  if (heard.length === 0) return broken ?? parts[0];
  const speech = joinSpans(heard.flatMap((p) => p.speech));
  const voiceModel = heard.find((p) => p.voiceModel)?.voiceModel;
  const analysedS = heard.reduce((sum, p) => sum + (p.analysedS ?? 0), 0);
  return {
    status: broken?.status ?? 'analysed',
    ...(heard[0].stream ? { stream: heard[0].stream } : {}),
    ...(broken?.error ? { error: broken.error } : {}),
    ...(voiceModel ? { voiceModel, speechRatio: speechRatio(speech, analysedS) } : {}),
    analysedS: Math.round(analysedS * 1000) / 1000,
    speech,
    loud: heard.flatMap((p) => p.loud).sort((a, b) => a.timeS - b.timeS),
    decodeMs: parts.reduce((sum, p) => sum + (p.decodeMs ?? 0), 0),
  };
}
