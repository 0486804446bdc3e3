// The redaction panel's state and what it becomes: the request POST /v1/jobs/:id/redact
// takes, the tracks a reviewer can untick (the job's person and text tracks, and the face
// tracks a redaction's audit found), the boxes drawn by hand, and where a source moment is in
// the redacted video. Pure: the panel's DOM is redact-panel.ts; the server's schema is the one
// validator of the request.
import type { TrackSummary } from '../shared/job-result.js';
import type { Vec } from '../shared/polygon.js';
import type { RedactionAudit, RedactionRequest } from '../shared/redaction.js';
import { isFaceTrackId, REDACTION_TARGETS, targetHidesTrack, type RedactionTargetName } from '../shared/redaction-tracks.js';

/** The request as the page sends it: every field the panel sets, the rest left to the server's defaults. */
export type RedactionBody = Pick<RedactionRequest, 'targets' | 'style' | 'span' | 'audio' | 'keep' | 'boxes'>;
export type DrawnBox = RedactionRequest['boxes'][number] & { endS: number };

/** What the reviewer chose in the panel. */
export interface RedactionDraft {
  targets: Set<RedactionTargetName>;
  style: RedactionRequest['style'];
  span: RedactionRequest['span'];
  audio: boolean;
  /** Tracks unticked: left unmasked. */
  keep: Set<number>;
  boxes: DrawnBox[];
  /** The corner a box being drawn started from (frame-relative), while the pointer is down. */
  drawing?: { from: Vec; to: Vec };
  /** Face tracks the last succeeded redaction with faces found, so one can be unticked for the next. */
  faceTracks: RedactionTrack[];
}

/** A fresh panel: persons and text hidden with a blur over the whole video, sound kept. */
export const emptyRedactionDraft = (): RedactionDraft => ({ targets: new Set(['persons', 'text']), style: 'blur', span: 'all', audio: true, keep: new Set(), boxes: [], faceTracks: [] });

/** The request the panel's state describes: targets in the contract's order, kept ids sorted. */
export function redactionRequest(draft: RedactionDraft): RedactionBody {
  return {
    targets: REDACTION_TARGETS.filter((t) => draft.targets.has(t)),
    style: draft.style,
    span: draft.span,
    audio: draft.audio,
    keep: [...draft.keep].sort((a, b) => a - b),
    boxes: draft.boxes.map((b) => ({ timeS: b.timeS, endS: b.endS, track: b.track, box: { ...b.box } })),
  };
}

/** A track the reviewer can tick (redact) or untick (keep). */
export interface RedactionTrack {
  trackId: number;
  label: string;
  text?: string;
  startS: number;
  endS: number;
  /** The target that hides it. */
  target: RedactionTargetName;
  /** A moment it is seen, on the frames route's grid (ms, a multiple of 100). */
  seenMs: number;
}

/** The frames route's grid: a frame at any multiple of 100 ms inside the video. */
const FRAME_GRID_MS = 100;

/** A moment a track is seen (its middle sample, else the middle of its span), on the 0.1 s grid and inside the video. */
export function seenAtMs(track: { startS: number; endS: number; trajectory?: ReadonlyArray<readonly number[]> }, durationS: number): number {
  const samples = track.trajectory ?? [];
  const t = samples.length ? samples[Math.floor(samples.length / 2)][0] : (track.startS + track.endS) / 2;
  const lastMs = Math.floor((durationS * 1000) / FRAME_GRID_MS) * FRAME_GRID_MS;
  return Math.min(lastMs, Math.max(0, Math.round((t * 1000) / FRAME_GRID_MS) * FRAME_GRID_MS));
}

/** The job's tracks a redaction can hide (persons, then text, each in time order). */
export function jobRedactionTracks(tracks: readonly TrackSummary[], durationS: number): RedactionTrack[] {
  const byTarget = (target: RedactionTargetName) => tracks
    .filter((t) => targetHidesTrack(target, t))
    .sort((a, b) => a.startS - b.startS)
    .map((t): RedactionTrack => ({ trackId: t.id, label: t.label, ...(t.text !== undefined ? { text: t.text } : {}), startS: t.startS, endS: t.endS, target, seenMs: seenAtMs(t, durationS) }));
  return [...byTarget('persons'), ...byTarget('text')];
}

/** The face tracks of a redaction's audit (ids from FACE_TRACK_ID_BASE), to list for the next one. */
export function auditFaceTracks(audit: Pick<RedactionAudit, 'tracks'>, durationS: number): RedactionTrack[] {
  return audit.tracks
    .filter((t) => isFaceTrackId(t.trackId))
    .map((t) => ({ trackId: t.trackId, label: t.label, startS: t.startS, endS: t.endS, target: 'faces' as const, seenMs: seenAtMs(t, durationS) }));
}

/** Shares to 4 decimals: a tenth of a pixel at 4K, and short JSON. */
const share = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 1e4) / 1e4;

/** The box between two frame-relative corners, any order; undefined when it has no width or height. */
export function boxBetween([ax, ay]: Vec, [bx, by]: Vec): DrawnBox['box'] | undefined {
  const [x, y] = [share(Math.min(ax, bx)), share(Math.min(ay, by))];
  const [width, height] = [share(Math.max(ax, bx)) - x, share(Math.max(ay, by)) - y];
  if (width <= 0 || height <= 0) return undefined;
  return { x, y, width: share(width), height: share(height) };
}

/** How long a drawn box is masked unless the reviewer sets its end. */
export const DEFAULT_BOX_SECONDS = 3;

/** A box drawn at `timeS`, following what it covers and masked until a few seconds later (or the end of the video). */
export function drawnBox(box: DrawnBox['box'], timeS: number, durationS: number): DrawnBox {
  const start = Math.round(Math.max(0, timeS) * 100) / 100;
  return { timeS: start, endS: Math.round(Math.min(durationS, start + DEFAULT_BOX_SECONDS) * 100) / 100, track: true, box };
}

/** Where a source moment is in the redacted video: the same time for a whole-video one, shifted to its place inside a confirmed span; undefined when the output left it out. */
export function outputTimeOf(sourceS: number, spans: RedactionAudit['spans']): number | undefined {
  if (!spans?.length) return sourceS;
  const span = spans.find((s) => sourceS >= s.sourceStartS && sourceS <= s.sourceEndS);
  return span ? Math.round((span.outputStartS + (sourceS - span.sourceStartS)) * 1000) / 1000 : undefined;
}
