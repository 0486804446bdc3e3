// Technical cues of the picture from ffmpeg's own filters: blackdetect (black spans),
// freezedetect (frozen spans) and select's scene score (cuts). They run on a small copy
// of every decoded frame, beside the sampler's frames in the same ffmpeg (one decode), or in a
// pass of their own where the sampler decodes keyframes only. Their findings come back as
// log lines on stderr, which CueLog reads.
import { z } from 'zod';
import type { CueSpan, PictureCues, ShotBoundary } from '../shared/job-result.js';

/** A frame whose scene score (0-1, the change from the frame before) reaches this starts a shot. */
export const SCENE_CUT_SCORE = 0.3;
/** Black: at least 98% of pixels under 10% of the luma range, for at least 0.1 s. */
const BLACK_FILTER = 'blackdetect=d=0.1:pix_th=0.10';
/** Frozen: at most -50 dB of change between frames, for at least 1 s. */
export const FROZEN_MIN_S = 1;
const FREEZE_FILTER = `freezedetect=n=0.003:d=${FROZEN_MIN_S}`;

/**
 * The cue filters, on a 160x90 copy: nearest-neighbour scaling reads a few pixels of each
 * frame, so the cues cost little beside decoding (bench/RESULTS.md). The copy keeps its
 * colour: the scene score of a cut between two pictures of like brightness comes from it.
 */
export const CUE_FILTERS = [
  'scale=160:90:flags=neighbor',
  BLACK_FILTER,
  FREEZE_FILTER,
  `select='gt(scene,${SCENE_CUT_SCORE})'`,
  'metadata=print:key=lavfi.scene_score',
].join(',');

const spanS = z.object({ startS: z.number(), endS: z.number() });
/** What the filters reported for one decoded range, in seconds of the video (a chunk's result carries it). */
export const rawCuesSchema = z.object({ cuts: z.array(z.object({ timeS: z.number(), score: z.number() })), black: z.array(spanS), frozen: z.array(spanS) });
export type RawCues = z.infer<typeof rawCuesSchema>;

/**
 * Reads the cue filters' log lines (ffmpeg at `-loglevel level+info`) of a decode that starts
 * at `offsetS` (ffmpeg counts from the seek). `line` says whether a line was a cue line, so the
 * caller keeps the others for its error messages. `finish(endS)` closes a freeze still open.
 */
export function createCueLog(offsetS: number) {
  const raw: RawCues = { cuts: [], black: [], frozen: [] };
  let lastPtsS: number | undefined;
  let freezeStartS: number | undefined;
  const at = (s: string) => Math.round((offsetS + Number(s)) * 1000) / 1000;
  const readers: Array<[RegExp, (m: RegExpMatchArray) => void]> = [
    [/\bpts_time:(-?[\d.]+)/, (m) => (lastPtsS = at(m[1]))],
    [/lavfi\.scene_score=([\d.]+)/, (m) => lastPtsS !== undefined && raw.cuts.push({ timeS: lastPtsS, score: Math.round(Number(m[1]) * 1000) / 1000 })],
    [/black_start:(-?[\d.]+) black_end:(-?[\d.]+)/, (m) => raw.black.push({ startS: at(m[1]), endS: at(m[2]) })],
    [/freezedetect\.freeze_start: (-?[\d.]+)/, (m) => (freezeStartS = at(m[1]))],
    [/freezedetect\.freeze_end: (-?[\d.]+)/, (m) => {
      if (freezeStartS !== undefined) raw.frozen.push({ startS: freezeStartS, endS: at(m[1]) });
      freezeStartS = undefined;
    }],
  ];
  return {
    line(text: string): boolean {
      const reader = readers.find(([re]) => re.test(text));
      if (!reader) return false;
      reader[1](text.match(reader[0])!);
      return true;
    },
    /**
     * The cues of the range, which ends at `endS`: a freeze open at the end lasts to it, and so
     * does black that reached the last frame (blackdetect ends it at that frame's start).
     */
    finish(endS: number, frameS: number): RawCues {
      if (freezeStartS !== undefined && endS > freezeStartS) raw.frozen.push({ startS: freezeStartS, endS });
      freezeStartS = undefined;
      for (const b of raw.black) if (b.endS >= endS - 1.5 * frameS) b.endS = Math.max(b.endS, endS);
      return raw;
    },
  };
}
export type CueLog = ReturnType<typeof createCueLog>;

/** Spans that touch (within `gapS`) become one. */
function joinSpans(spans: ReadonlyArray<{ startS: number; endS: number }>, gapS: number) {
  const joined: Array<{ startS: number; endS: number }> = [];
  for (const s of [...spans].sort((a, b) => a.startS - b.startS)) {
    const last = joined.at(-1);
    if (last && s.startS <= last.endS + gapS) last.endS = Math.max(last.endS, s.endS);
    else joined.push({ ...s });
  }
  return joined;
}

/** Parts of `span` outside every span of `holes`. */
function subtract(span: { startS: number; endS: number }, holes: ReadonlyArray<{ startS: number; endS: number }>, minS: number) {
  let parts = [span];
  for (const h of holes) {
    parts = parts.flatMap((p) => [{ startS: p.startS, endS: Math.min(p.endS, h.startS) }, { startS: Math.max(p.startS, h.endS), endS: p.endS }]);
    parts = parts.filter((p) => p.endS - p.startS >= minS);
  }
  return parts;
}

/**
 * The picture cues of a whole video from the raw cues of its ranges (chunks decoded apart):
 * spans cut at a chunk boundary are joined; a black picture is not also frozen; a shot starts
 * at a cut, or where the picture comes back from black (a cut into black, or a fade through
 * it, is one boundary: the first frame after the black). Times are rounded to frames.
 */
export function pictureCues(ranges: readonly RawCues[], info: { fps: number; durationS: number }): PictureCues {
  const frameS = info.fps > 0 ? 1 / info.fps : 0.04;
  const frameOf = (t: number) => Math.max(0, Math.round(t / frameS));
  const black = joinSpans(ranges.flatMap((r) => r.black), 1.5 * frameS);
  const nearBlack = (t: number) => black.some((b) => t >= b.startS - 1.5 * frameS && t <= b.endS + 1.5 * frameS);
  const cuts: ShotBoundary[] = ranges.flatMap((r) => r.cuts).filter((c) => !nearBlack(c.timeS)).map((c) => ({ timeS: c.timeS, frame: frameOf(c.timeS), score: c.score }));
  // Two stills either side of a cut are two frozen spans, not one joined across it.
  const cutHoles = cuts.map((c) => ({ startS: c.timeS, endS: c.timeS }));
  const frozen = joinSpans(ranges.flatMap((r) => r.frozen), 1.5 * frameS).flatMap((f) => subtract(f, [...black, ...cutHoles], FROZEN_MIN_S));
  const fromBlack: ShotBoundary[] = black.filter((b) => b.endS < info.durationS - 1.5 * frameS).map((b) => ({ timeS: b.endS, frame: frameOf(b.endS), score: 1 }));
  const span = (s: { startS: number; endS: number }): CueSpan => ({ startS: s.startS, endS: s.endS, startFrame: frameOf(s.startS), endFrame: Math.max(frameOf(s.startS), frameOf(s.endS) - 1) });
  return {
    shots: [...cuts, ...fromBlack].sort((a, b) => a.timeS - b.timeS).filter((s, i, all) => i === 0 || s.frame > all[i - 1].frame),
    black: black.map(span),
    frozen: frozen.map(span),
  };
}
