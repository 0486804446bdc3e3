import { z } from 'zod';

// The redaction contract: what a reviewer asks to hide in a finished job's video, and what
// the redaction answers (its record, with the audit once it is done). Pure; the page imports
// the types.

export const REDACTION_TARGETS = ['persons', 'text'] as const;
export const REDACTION_STYLES = ['blur', 'pixelate', 'fill'] as const;

const share = z.number().min(0).max(1);

/** A box a reviewer drew (frame-relative), hidden from `timeS` to `endS` (unset: for the hold time). */
export const addedBoxSchema = z.strictObject({
  timeS: z.number().nonnegative(),
  endS: z.number().nonnegative().optional(),
  box: z.strictObject({ x: share, y: share, width: share.positive(), height: share.positive() }),
});

export const redactionRequestSchema = z
  .strictObject({
    /** persons: the job's person tracks; text: its text tracks (a text reader's job: number plates, signs, screens). */
    targets: z.array(z.enum(REDACTION_TARGETS)).min(1).max(REDACTION_TARGETS.length),
    style: z.enum(REDACTION_STYLES).default('blur'),
    /** Keep the audio track (re-encoded to AAC). */
    audio: z.boolean().default(true),
    /** Track ids the reviewer keeps unmasked (the subject of the review). */
    keep: z.array(z.number().int()).max(10_000).default([]),
    /** Boxes drawn by hand, masked too. */
    boxes: z.array(addedBoxSchema).max(1000).default([]),
    /** Each side of a box grows by this share of its size. */
    margin: z.number().min(0).max(1).default(0.15),
    /** Seconds a mask starts before its target is first seen, and stays after it is last seen. */
    leadS: z.number().min(0).max(10).default(0.5),
    holdS: z.number().min(0).max(30).default(1),
  })
  .superRefine((r, ctx) => r.boxes.forEach((b, i) => {
    if (b.box.x + b.box.width > 1 || b.box.y + b.box.height > 1) ctx.addIssue({ code: 'custom', message: 'reaches outside the frame', path: ['boxes', i, 'box'] });
    if (b.endS !== undefined && b.endS < b.timeS) ctx.addIssue({ code: 'custom', message: "must not be before 'timeS'", path: ['boxes', i, 'endS'] });
  }));
export type RedactionRequest = z.infer<typeof redactionRequestSchema>;

/** What was hidden and how: kept with the output, so a redaction can be checked later. */
export const redactionAuditSchema = z.object({
  jobId: z.string(),
  redactionId: z.string(),
  createdAt: z.string(),
  finishedAt: z.string(),
  /** The job's model, whose tracks were masked. */
  model: z.object({ name: z.string(), version: z.number().int() }),
  settings: redactionRequestSchema,
  tracks: z.array(z.object({ trackId: z.number().int(), label: z.string(), startS: z.number(), endS: z.number(), kept: z.boolean() })),
  frames: z.object({ decoded: z.number().int(), encoded: z.number().int(), masked: z.number().int(), masks: z.number().int(), fps: z.number() }),
  output: z.object({ file: z.string(), bytes: z.number().int(), sha256: z.string(), audio: z.boolean() }),
  ffmpeg: z.string(),
});
export type RedactionAudit = z.infer<typeof redactionAuditSchema>;

export const REDACTION_STATUSES = ['running', 'succeeded', 'failed', 'cancelled'] as const;

export const redactionRecordSchema = z.object({
  redactionId: z.string(),
  jobId: z.string(),
  status: z.enum(REDACTION_STATUSES),
  createdAt: z.string(),
  updatedAt: z.string(),
  progress: z.object({ framesDone: z.number().int(), framesTotal: z.number().int(), percent: z.number() }),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  audit: redactionAuditSchema.optional(),
});
export type RedactionRecord = z.infer<typeof redactionRecordSchema>;
