import { z } from 'zod';
import { trajectoryPointSchema } from './job-result.js';
import { REDACTION_TARGETS } from './redaction-tracks.js';

// The redaction contract: what a reviewer asks to hide in a finished job's video, and what
// the redaction answers (its record, with the audit once it is done). Pure; the page imports
// the types.

export const REDACTION_STYLES = ['blur', 'pixelate', 'fill'] as const;
export type RedactionTargetKind = (typeof REDACTION_TARGETS)[number];
/**
 * Other names the `redact=` query of pictures and exports takes for a target: people say
 * "plates" for number plates, which a text reader's `text` tracks are.
 */
export const REDACTION_TARGET_ALIASES: Readonly<Record<string, RedactionTargetKind>> = { plates: 'text' };
/** all: the whole video; confirmed: only the segments a reviewer confirmed, joined in time order. */
export const REDACTION_SPANS = ['all', 'confirmed'] as const;

const share = z.number().min(0).max(1);

/**
 * Faces are found by the redaction itself, on frames sampled at `faceFps`. 5 fps: a face
 * missed on one sample is still inside the 1 s default hold twice over, and detection costs
 * about half of 720p30 real time on two cores (bench/RESULTS.md).
 */
export const DEFAULT_FACE_FPS = 5;

/** Text is found by the redaction itself only where the job holds no text tracks (an object detector's job), at `textFps`: the job's own rate by default. */
export const DEFAULT_TEXT_FPS = 2;

// The targets and face tracks' ids (FACE_TRACK_ID_BASE + n) are in redaction-tracks.ts, which the page loads at run time.
export { FACE_TRACK_ID_BASE, REDACTION_TARGETS, TEXT_TRACK_ID_BASE } from './redaction-tracks.js';

/** Drawn boxes one redaction follows at most: each costs a decode of its span. */
export const MAX_TRACKED_BOXES = 50;

/**
 * A box a reviewer drew (frame-relative) on the frame at `timeS`. With `track` (the default) it
 * follows what it covers until that is lost, and stays masked to `endS` when one is given (or
 * for the hold time after it was lost); without, it stays where it was drawn, to `endS` (unset:
 * for the hold time).
 */
export const addedBoxSchema = z.strictObject({
  timeS: z.number().nonnegative(),
  endS: z.number().nonnegative().optional(),
  track: z.boolean().default(true),
  box: z.strictObject({ x: share, y: share, width: share.positive(), height: share.positive() }),
});

export const redactionRequestSchema = z
  .strictObject({
    /**
     * persons: the job's person tracks; text: its text tracks (a text reader's job: number
     * plates, signs, screens); faces: faces the served face-detector finds in the video, at faceFps.
     */
    targets: z.array(z.enum(REDACTION_TARGETS)).max(REDACTION_TARGETS.length),
    style: z.enum(REDACTION_STYLES).default('blur'),
    /** What the output holds: the whole video, or the confirmed segments' time ranges only. */
    span: z.enum(REDACTION_SPANS).default('all'),
    /** Keep the audio track (re-encoded to AAC). */
    audio: z.boolean().default(true),
    /** Track ids the reviewer keeps unmasked (the subject of the review). */
    keep: z.array(z.number().int()).max(10_000).default([]),
    /** Boxes drawn by hand, masked too; at most MAX_TRACKED_BOXES of them tracked. */
    boxes: z.array(addedBoxSchema).max(1000).default([]),
    /** Each side of a box grows by this share of its size. */
    margin: z.number().min(0).max(1).default(0.15),
    /** Seconds a mask starts before its target is first seen, and stays after it is last seen. */
    leadS: z.number().min(0).max(10).default(0.5),
    holdS: z.number().min(0).max(30).default(1),
    /** Frames per second sampled for face detection (target `faces`). */
    faceFps: z.number().min(1).max(30).default(DEFAULT_FACE_FPS),
    /** Frames per second sampled for text detection (target `text`, on a job that holds no text tracks). */
    textFps: z.number().min(1).max(30).default(DEFAULT_TEXT_FPS),
  })
  .superRefine((r, ctx) => {
    if (r.targets.length === 0 && r.boxes.length === 0) ctx.addIssue({ code: 'custom', message: 'names no target and draws no box: there is nothing to redact', path: ['targets'] });
    if (r.boxes.filter((b) => b.track).length > MAX_TRACKED_BOXES) {
      ctx.addIssue({ code: 'custom', message: `tracks more than ${MAX_TRACKED_BOXES} boxes (each is followed by a decode of its own); set track: false on the others`, path: ['boxes'] });
    }
    r.boxes.forEach((b, i) => {
      if (b.box.x + b.box.width > 1 || b.box.y + b.box.height > 1) ctx.addIssue({ code: 'custom', message: 'reaches outside the frame', path: ['boxes', i, 'box'] });
      if (b.endS !== undefined && b.endS < b.timeS) ctx.addIssue({ code: 'custom', message: "must not be before 'timeS'", path: ['boxes', i, 'endS'] });
    });
    if (r.targets.includes('faces')) passTimingIssues(r, 'face', r.faceFps).forEach((issue) => ctx.addIssue(issue));
    if (r.targets.includes('text')) passTimingIssues(r, 'text', r.textFps).forEach((issue) => ctx.addIssue(issue));
  });
export type RedactionRequest = z.infer<typeof redactionRequestSchema>;

/**
 * The fail-safe for a detect pass (faces; text, which may need one): a target the detector
 * misses on a sample or two must stay covered, so the hold spans at least two sample
 * intervals and the lead at least one (a face that walks in is masked from the sample before
 * the one that first found it).
 */
function passTimingIssues(r: { leadS: number; holdS: number }, kind: 'face' | 'text', fps: number) {
  const interval = 1 / fps;
  const issues: Array<{ code: 'custom'; message: string; path: string[] }> = [];
  if (r.holdS < 2 * interval) issues.push({ code: 'custom', message: `must be at least two ${kind} sample intervals (${round3(2 * interval)} s at ${kind}Fps ${fps})`, path: ['holdS'] });
  if (r.leadS < interval) issues.push({ code: 'custom', message: `must be at least one ${kind} sample interval (${round3(interval)} s at ${kind}Fps ${fps})`, path: ['leadS'] });
  return issues;
}
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** A redaction's own detect pass: its model, the frames it sampled and ran through it, what it found on them, and at what rate. */
const detectPassAuditSchema = z.object({
  model: z.object({ name: z.string(), version: z.number().int() }),
  samples: z.number().int(),
  detections: z.number().int(),
  fps: z.number(),
});

/** What was hidden and how: kept with the output, so a redaction can be checked later. */
export const redactionAuditSchema = z.object({
  jobId: z.string(),
  redactionId: z.string(),
  createdAt: z.string(),
  finishedAt: z.string(),
  /** The job's model, whose tracks were masked. */
  model: z.object({ name: z.string(), version: z.number().int() }),
  settings: redactionRequestSchema,
  tracks: z.array(z.object({
    trackId: z.number().int(), label: z.string(), startS: z.number(), endS: z.number(), kept: z.boolean(),
    /** The redaction's own tracks only (faces, text of a text pass, drawn boxes; the job's result keeps the others'): each sample's [timeS, x, y, width, height, score], so the masks can be checked later. */
    trajectory: z.array(trajectoryPointSchema).optional(),
  })),
  frames: z.object({ decoded: z.number().int(), encoded: z.number().int(), masked: z.number().int(), masks: z.number().int(), fps: z.number() }),
  /** The parts of the source in the output, in order: where each starts and ends in the source and starts in the output, and its frames (absent in audits written before spans). */
  spans: z.array(z.object({ sourceStartS: z.number(), sourceEndS: z.number(), outputStartS: z.number(), frames: z.number().int() })).optional(),
  /** Target `faces`: the face model that found them, and how (absent otherwise, and in audits written before faces). */
  faces: detectPassAuditSchema.optional(),
  /** Target `text` on a job without text tracks: the text model its own pass ran, and how (absent otherwise). */
  text: detectPassAuditSchema.optional(),
  /** Wall seconds of each stage: detection (the face and text passes: decode + model), tracking (their tracks and drawn boxes), masking and encoding; the encode runs behind the passes, so they overlap. */
  timings: z.object({ detectS: z.number(), trackS: z.number(), encodeS: z.number() }).optional(),
  output: z.object({ file: z.string(), bytes: z.number().int(), sha256: z.string(), audio: z.boolean() }),
  /** Shared mode: the parts the video was encoded in, in order, and the worker that encoded each (absent in the embedded mode: one encoder). */
  parts: z.array(z.object({ index: z.number().int(), worker: z.string(), frames: z.number().int(), encodeS: z.number() })).optional(),
  ffmpeg: z.string(),
});
export type RedactionAudit = z.infer<typeof redactionAuditSchema>;

export const REDACTION_STATUSES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export const REDACTION_STAGES = ['detect', 'track', 'encode'] as const;

export const redactionRecordSchema = z.object({
  redactionId: z.string(),
  jobId: z.string(),
  status: z.enum(REDACTION_STATUSES),
  createdAt: z.string(),
  updatedAt: z.string(),
  /**
   * Of the stage running: `detect` (the face and text passes: frames sampled, of those planned), `track` (drawn
   * boxes followed, of those drawn), then `encode` (frames masked and encoded); percent is of that stage. Absent stage: a record written
   * before faces, which only encoded.
   */
  progress: z.object({ stage: z.enum(REDACTION_STAGES).optional(), framesDone: z.number().int(), framesTotal: z.number().int(), percent: z.number() }),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  audit: redactionAuditSchema.optional(),
});
export type RedactionRecord = z.infer<typeof redactionRecordSchema>;
