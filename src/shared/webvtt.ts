import type { VideoPrediction } from './job-result.js';

// The segments of a video result as WebVTT, for players (a <track> of the video) and editors.
// Pure: the server's route and the review page's download both use it.

/** hh:mm:ss.mmm, as WebVTT writes a time. */
export function vttTime(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (v: number, n = 2) => String(v).padStart(n, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
}

/** What a segment's cue says: its number, labels (and readings), and the rules behind it. */
function cueText(s: VideoPrediction['segments'][number]): string {
  const what = [s.labels.map((l) => l.label).join(', '), ...(s.texts?.length ? [`"${s.texts.join('", "')}"`] : [])].filter(Boolean).join(' ');
  const rules = s.rules?.length ? ` [${s.rules.join(', ')}]` : '';
  // A cue's text must not hold an empty line or "-->".
  return `${s.alert ? 'ALERT ' : ''}Segment ${s.index + 1}: ${what || 'flagged'}${rules}`.replaceAll('-->', '->').replace(/\s*\n\s*/g, ' ');
}

/** The segments, one WebVTT cue each, in time order. */
export function segmentsWebVtt(result: Pick<VideoPrediction, 'segments'>): string {
  const cues = result.segments.map((s) => `${s.index + 1}\n${vttTime(s.startS)} --> ${vttTime(s.endS)}\n${cueText(s)}`);
  return ['WEBVTT', '', ...cues.flatMap((c) => [c, ''])].join('\n');
}
