import sharp from 'sharp';
import { drawMasks, type MaskStyle } from '../../media/mask.js';
import type { ReadyModel } from '../../registry/index.js';
import type { JobResult } from '../../shared/job-result.js';
import { redactionRequestSchema, type RedactionTargetKind } from '../../shared/redaction.js';
import { predictImage } from '../predict-image.js';
import { FACE_MIN_MARGIN_PX } from './detect-pass.js';
import { DEFAULT_MASK_TIMING, dilate, maskPlan, type MaskBox, type MaskTiming, type RedactionTarget } from './plan.js';
import { redactionTargets } from './audit.js';

// Redacted stills: a job's pictures (segment thumbnails, frame pictures, dataset images)
// with the same targets masked as a redaction of its video would mask at that picture's
// time. Tracks go through the video's mask plan (interpolated, led, held, dilated by the
// default margin) in source pixels and are scaled onto the picture; faces, which no job
// tracks, are found by the served face detector on the picture itself. The masks are drawn
// by media/mask.ts, the video path's own. Or (`redaction=<id>`) what one succeeded redaction
// of the job masked, from its targets.json: kept tracks bare, drawn boxes and its face tracks
// masked, with its timing, exactly as its video is at that time.

/** What a picture hides, by kind (`redact=`); `faceModel` is resolved by the caller when the kinds hold faces. */
export interface KindsRedaction {
  targets: RedactionTargetKind[];
  style: MaskStyle;
  faceModel?: ReadyModel;
}

/**
 * What one succeeded redaction of the job masked (`redaction=<id>`): its targets as it
 * masked them (kept tracks left out, drawn boxes and face tracks in), its timing and style.
 */
export interface AsRedacted {
  redactionId: string;
  masked: readonly RedactionTarget[];
  timing: MaskTiming;
  style: MaskStyle;
}

export type StillRedaction = KindsRedaction | AsRedacted;

const isAsRedacted = (r: StillRedaction): r is AsRedacted => 'redactionId' in r;

/**
 * The name part a cached redacted picture carries: its targets, style and face model version,
 * or the redaction it follows, so a picture is only ever served for the request that made it
 * (an unredacted one has none).
 */
export const stillRedactionKey = (r: StillRedaction): string => isAsRedacted(r)
  ? `redaction-${r.redactionId}`
  : [[...r.targets].sort().join('+'), r.style, ...(r.faceModel ? [`${r.faceModel.name}-v${r.faceModel.version}`] : [])].join('.');

/** A source-pixel box on a picture of another size, grown outward to whole pixels (a mask never shrinks). */
function toPicture(box: MaskBox, sx: number, sy: number, picture: { width: number; height: number }): MaskBox {
  const x0 = Math.max(0, Math.floor(box.x * sx)), y0 = Math.max(0, Math.floor(box.y * sy));
  const x1 = Math.min(picture.width, Math.ceil((box.x + box.width) * sx)), y1 = Math.min(picture.height, Math.ceil((box.y + box.height) * sy));
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

/** The targets masked at `timeS` as the video's plan places them (`timing`), on a picture of `picture`'s size. */
function planMasksAt(video: JobResult['video'], targets: readonly RedactionTarget[], timing: MaskTiming, timeS: number, picture: { width: number; height: number }): MaskBox[] {
  // An audio job's thumbnail is a card, not a frame: it has no tracks' pixels to hide.
  if (targets.length === 0 || video.width <= 0 || video.height <= 0) return [];
  const frame = { width: video.width, height: video.height };
  const [sx, sy] = [picture.width / frame.width, picture.height / frame.height];
  return maskPlan(targets, timing, frame)(timeS).map((b) => toPicture(b, sx, sy, picture)).filter((b) => b.width > 0 && b.height > 0);
}

/** The job's tracks of `targets` masked at `timeS`, as the video's plan places them by default, on a picture of `picture`'s size. */
export function trackMasksAt(result: Pick<JobResult, 'tracks' | 'video'>, targets: readonly RedactionTargetKind[], timeS: number, picture: { width: number; height: number }): MaskBox[] {
  if (targets.length === 0) return [];
  const request = redactionRequestSchema.parse({ targets, ...DEFAULT_MASK_TIMING });
  return planMasksAt(result.video, redactionTargets(result, request).targets, DEFAULT_MASK_TIMING, timeS, picture);
}

/** The masks of a picture at `timeS`: the kinds' (faces found on the picture itself), or what the redaction masked there. */
async function stillMasks(jpeg: Buffer, result: Pick<JobResult, 'tracks' | 'video'>, timeS: number, r: StillRedaction, picture: { width: number; height: number }): Promise<MaskBox[]> {
  if (isAsRedacted(r)) return planMasksAt(result.video, r.masked, r.timing, timeS, picture);
  if (r.targets.includes('faces') && !r.faceModel) throw new Error('redactStill: faces asked without a face model');
  return [
    ...trackMasksAt(result, r.targets.filter((t) => t !== 'faces'), timeS, picture),
    ...(r.faceModel && r.targets.includes('faces') ? await faceMasks(r.faceModel, jpeg, picture) : []),
  ];
}

/** The faces the served detector finds on the picture, dilated as a face track's mask is. */
async function faceMasks(model: ReadyModel, jpeg: Buffer, picture: { width: number; height: number }): Promise<MaskBox[]> {
  // The picture is ours (cut from the job's video), so its own size is the pixel limit.
  const { detections } = await predictImage(model, jpeg, { maxPixels: picture.width * picture.height });
  return detections.map((d) => dilate(d.box, DEFAULT_MASK_TIMING.margin, picture, FACE_MIN_MARGIN_PX)).filter((b) => b.width > 0 && b.height > 0);
}

/**
 * The JPEG `jpeg` (a picture of the job's video at `timeS`) with the targets masked, encoded
 * at `quality`. Any failure (the face model's included) is thrown: a picture that should be
 * redacted is never answered unmasked.
 */
export async function redactStill(jpeg: Buffer, result: Pick<JobResult, 'tracks' | 'video'>, timeS: number, r: StillRedaction, quality = 85): Promise<{ jpeg: Buffer; masks: number }> {
  const { data, info } = await sharp(jpeg).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const picture = { width: info.width, height: info.height };
  const masks = await stillMasks(jpeg, result, timeS, r, picture);
  const image = { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: picture.width, height: picture.height };
  drawMasks(image, masks, r.style);
  const out = await sharp(image.data, { raw: { width: picture.width, height: picture.height, channels: 3 } }).jpeg({ quality }).toBuffer();
  return { jpeg: out, masks: masks.length };
}
