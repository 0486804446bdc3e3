import { z } from 'zod';
import type { RequestParamHandler } from 'express';
import { FramewatchError } from '../errors/index.js';
import { DEFAULT_MOTION_MAX_SKIP_S } from '../pipeline/motion.js';
import { DEFAULT_VIDEO_FPS, SAMPLING_MODES, type VideoJobOptions } from '../shared/video.js';
import { REDACTION_STYLES, REDACTION_TARGET_ALIASES, REDACTION_TARGETS, type RedactionTargetKind } from '../shared/redaction.js';
import type { KindsRedaction } from '../pipeline/redaction/stills.js';
import { resolveFaceModel } from '../pipeline/redaction/detect-pass.js';
import type { ModelRepository } from '../registry/index.js';
import { MODEL_NAME_RE } from '../registry/manifest.js';

/** Parses request input with a zod schema; issues become INVALID_INPUT with details. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new FramewatchError(
    'INVALID_INPUT',
    parsed.error.issues.map((i) => `'${i.path.join('.')}' ${i.message}`).join('; '),
    { issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
  );
}

export const predictQuerySchema = z.object({
  threshold: z.coerce.number().min(0).max(1).optional(),
});

export const versionParamSchema = z.coerce.number().int().positive().max(999_999_999);

/** A comma-separated list: items trimmed, empty ones dropped. */
const commaList = z.string().max(2000).transform((s) => s.split(',').map((item) => item.trim()).filter(Boolean));

/**
 * `redact=persons,faces` (`plates` is `text`) and `redactStyle=blur|pixelate|fill`: what a
 * picture or a dataset export hides, and how. The one parser of the list: the redact
 * request's kinds, so an unknown one is the same 400 INVALID_INPUT naming `redact.<i>`.
 */
export const redactQueryFields = {
  redact: commaList
    .pipe(z.array(z.string().transform((kind) => (Object.hasOwn(REDACTION_TARGET_ALIASES, kind) ? REDACTION_TARGET_ALIASES[kind] : kind)).pipe(z.enum(REDACTION_TARGETS))).min(1).max(16))
    .optional(),
  redactStyle: z.enum(REDACTION_STYLES).optional(),
};

/**
 * A job picture's query: `redact=` and `redactStyle=` as above, or `redaction=<id>`: masked as
 * that succeeded redaction of the job masked its video (its kept tracks, boxes, timing and
 * style). One or the other, so a picture never mixes two redactions.
 */
export const pictureQuerySchema = z.object({ ...redactQueryFields, redaction: z.string().regex(/^[0-9a-f-]{36}$/, 'a redaction id').optional() }).superRefine((q, ctx) => {
  if (q.redaction && (q.redact || q.redactStyle)) ctx.addIssue({ code: 'custom', message: "a picture follows one redaction's masks, or redact='s kinds, not both", path: ['redaction'] });
  if (q.redactStyle && !q.redact && !q.redaction) ctx.addIssue({ code: 'custom', message: "needs 'redact' (the kinds to hide: persons, text or plates, faces)", path: ['redactStyle'] });
});

/** The parsed fields as what the stills take (undefined: nothing to hide); a style without targets is refused, so no one mistakes an unredacted picture for a redacted one. */
export function stillRedaction(q: { redact?: RedactionTargetKind[]; redactStyle?: KindsRedaction['style'] }): Omit<KindsRedaction, 'faceModel'> | undefined {
  if (!q.redact) {
    if (q.redactStyle) throw new FramewatchError('INVALID_INPUT', "'redactStyle' needs 'redact' (the kinds to hide: persons, text or plates, faces)", { issues: [{ path: 'redactStyle', message: "needs 'redact'" }] });
    return undefined;
  }
  return { targets: [...new Set(q.redact)].sort(), style: q.redactStyle ?? 'blur' };
}

/** The redaction with its face model resolved when faces are asked: 404 MODEL_NOT_FOUND / 503 MODEL_NOT_READY when it is not served, as the redact route answers. */
export const withFaceModel = (asked: Omit<KindsRedaction, 'faceModel'> | undefined, repository: Pick<ModelRepository, 'resolve'>): KindsRedaction | undefined =>
  asked && { ...asked, ...(asked.targets.includes('faces') ? { faceModel: resolveFaceModel(repository) } : {}) };

const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1');

/**
 * Video options, from the query string or multipart fields (fields win), parsed into the job
 * contract's options (VideoJobOptions) under the API's own names. What needs the upload or the
 * model (the sampling plan, the review labels' defaults, decoder threads) is added by the route.
 */
export const videoQuerySchema = z
  .object({
    threshold: z.coerce.number().min(0).max(1).optional(),
    fps: z.coerce.number().gt(0).max(60).default(DEFAULT_VIDEO_FPS),
    maxFrames: z.coerce.number().int().positive().max(1_000_000).optional(),
    start: z.coerce.number().min(0).default(0),
    end: z.coerce.number().positive().optional(),
    labels: commaList.optional(),
    /** Text readers: comma-separated terms; a segment is kept when its text contains one (case-insensitive). */
    query: commaList.optional(),
    pad: z.coerce.number().min(0).max(60).default(1),
    mergeGap: z.coerce.number().min(0).max(600).default(2),
    mode: z.enum(['sync', 'async']).optional(),
    sampling: z.enum(SAMPLING_MODES).default('auto'),
    motion: bool.default(false),
    motionMaxSkip: z.coerce.number().min(0.5).max(600).default(DEFAULT_MOTION_MAX_SKIP_S),
    frames: bool.default(true),
    /** A stored review profile by name, or one inline as JSON (a multipart `rules` field). */
    profile: z.string().min(1).max(64).optional(),
    rules: z.string().max(64 * 1024).optional(),
    /** Seconds: shorter tracks make no segment (unset: the server's default). */
    minTrack: z.coerce.number().min(0).max(600).optional(),
    /** Shots, black and frozen spans (unset: on with exact sampling, off with keyframes). */
    cues: bool.optional(),
    /** Speech and loud sounds from the audio track (unset: on). */
    audio: bool.optional(),
  })
  .refine((v) => v.end === undefined || v.end > v.start, { message: "'end' must be after 'start'", path: ['end'] })
  .transform((q) => ({
    mode: q.mode,
    profile: { name: q.profile, rules: q.rules },
    sampling: q.sampling,
    options: {
      fps: q.fps, startS: q.start, endS: q.end, maxFrames: q.maxFrames, labels: q.labels, query: q.query, pad: q.pad, mergeGap: q.mergeGap,
      threshold: q.threshold, includeFrames: q.frames, motion: { enabled: q.motion, maxSkipS: q.motionMaxSkip }, minTrackS: q.minTrack, cues: q.cues, audio: q.audio,
    } satisfies Omit<VideoJobOptions, 'sampling' | 'decodeThreads'>,
  }));

/**
 * Validates :name before anything uses it, so '../' and its encoded forms never reach a
 * lookup (the repository only reads in-memory entries, but the edge refuses them anyway).
 */
export const validateModelName: RequestParamHandler = (_req, _res, next, value) => {
  if (typeof value === 'string' && value.length <= 128 && MODEL_NAME_RE.test(value)) return next();
  next(new FramewatchError('INVALID_INPUT', "'name' must be a lowercase kebab-case model name"));
};
