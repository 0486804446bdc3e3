import type { VoiceParams } from './voice-activity.js';

export interface SpeechSpan {
  startS: number;
  endS: number;
  /** The mean speech probability of the span's frames. */
  score: number;
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** Frame ranges [start, end) where speech is on: on at scoreThreshold, off below offThreshold. */
function hysteresisRuns(probabilities: ArrayLike<number>, p: Pick<VoiceParams, 'scoreThreshold' | 'offThreshold'>): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i < probabilities.length; i++) {
    const v = probabilities[i];
    if (start < 0 && v >= p.scoreThreshold) start = i;
    else if (start >= 0 && v < p.offThreshold) {
      runs.push([start, i]);
      start = -1;
    }
  }
  if (start >= 0) runs.push([start, probabilities.length]);
  return runs;
}

/** Runs closer than `gapFrames` joined, as one utterance with a short pause. */
function bridgeGaps(runs: Array<[number, number]>, gapFrames: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const run of runs) {
    const last = out.at(-1);
    if (last && run[0] - last[1] < gapFrames) last[1] = run[1];
    else out.push([...run]);
  }
  return out;
}

/**
 * Speech spans from frame probabilities (`frameS` seconds per frame, the first at `offsetS`):
 * hysteresis, short pauses bridged, short bursts dropped, each span padded by padS (within
 * [offsetS, offsetS + the audio's length]).
 */
export function speechSpans(probabilities: ArrayLike<number>, frameS: number, p: VoiceParams, offsetS = 0): SpeechSpan[] {
  const runs = bridgeGaps(hysteresisRuns(probabilities, p), Math.round(p.minSilenceS / frameS));
  const endOfAudio = offsetS + probabilities.length * frameS;
  return runs
    .filter(([s, e]) => (e - s) * frameS >= p.minSpeechS)
    .map(([s, e]) => {
      let sum = 0;
      for (let i = s; i < e; i++) sum += probabilities[i];
      return {
        startS: round3(Math.max(offsetS, offsetS + s * frameS - p.padS)),
        endS: round3(Math.min(endOfAudio, offsetS + e * frameS + p.padS)),
        score: round3(sum / (e - s)),
      };
    })
    .reduce<SpeechSpan[]>((spans, span) => {
      // Padding can make neighbours touch: one span then.
      const last = spans.at(-1);
      if (last && span.startS <= last.endS) {
        last.endS = span.endS;
        last.score = Math.max(last.score, span.score);
      } else spans.push(span);
      return spans;
    }, []);
}

/** Seconds of speech over the seconds analysed (0 for no audio). */
export const speechRatio = (spans: readonly SpeechSpan[], analysedS: number): number =>
  analysedS > 0 ? round3(spans.reduce((sum, s) => sum + s.endS - s.startS, 0) / analysedS) : 0;
