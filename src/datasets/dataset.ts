import { existsSync } from 'node:fs';
import sharp from 'sharp';
import type { Pack } from 'tar-stream';
import { succeededWhere, type JobRecord, type JobResult } from '../pipeline/index.js';
import type { Detection } from '../shared/job-result.js';
import { decodeOneFrame, probeVideo, type VideoInfo } from '../media/ffmpeg.js';
import { reviewReport, type ReviewReport, type ReviewState } from '../review/index.js';
import { redactStill, type KindsRedaction } from '../pipeline/redaction/stills.js';

/**
 * A dataset for the next model version, from reviewers' decisions: the best frame of every
 * decided segment (confirmed: its detections are labels, corrected labels applied;
 * dismissed: a hard negative, an image with no labels), and a frame from the middle of every
 * missed range (to label: the model should have found something there). Written as COCO
 * JSON or an Ultralytics YOLO directory, with a manifest, into a tar stream. With a
 * redaction, every image is masked as the job's video would be at its time (faces found on
 * the image itself); an image that cannot be masked fails the export, never ships bare.
 */
export type DatasetFormat = 'coco' | 'yolo';

/** What the export reads: the job queue satisfies it. */
export interface DatasetSource {
  list(): Promise<Array<Pick<JobRecord, 'jobId' | 'status' | 'createdAt' | 'model'>>>;
  readResult(jobId: string): Promise<JobResult | undefined>;
  videoPath(jobId: string): string;
  reviews: { read(jobId: string): Promise<ReviewState> };
}

export interface DatasetFilter {
  model: string;
  version?: number;
  since?: string;
}

type ImageKind = 'labelled' | 'hard-negative' | 'to-label';
interface DatasetImage {
  file: string;
  kind: ImageKind;
  jobId: string;
  timeS: number;
  width: number;
  height: number;
  /** labelled: the boxes to learn; hard-negative: the dismissed boxes (not labels). */
  boxes: Array<Pick<Detection, 'label' | 'box'>>;
  segment?: number;
  missed?: number;
}

/** project-model-vVERSION-review-DATE, as versions are named. */
export const datasetName = (project: string, f: DatasetFilter, date: string) => `${project}-${f.model}${f.version ? `-v${f.version}` : ''}-review-${date}`;

/** Dataset images are kept close to the decoded frame: they are training data. */
const JPEG_QUALITY = 92;

/** The frame at `timeS` of a job's kept video (probed once per job: `info`), as a JPEG. */
async function frameJpeg(path: string, info: VideoInfo, timeS: number): Promise<Buffer> {
  // The source frame rate puts the grid on every frame: the first frame at or after timeS.
  const options = { fps: info.fps > 0 ? info.fps : 30, startS: Math.max(0, timeS), threads: 1 };
  const { data, width, height } = await decodeOneFrame(path, info, options, `the frame at ${timeS} s could not be decoded`);
  return sharp(data, { raw: { width, height, channels: 3 } }).jpeg({ quality: JPEG_QUALITY }).toBuffer();
}

const millis = (s: number) => String(Math.round(s * 1000)).padStart(7, '0');

/** The images one reviewed job contributes, in segment order, then missed ranges. */
function plannedImages(report: ReviewReport, result: JobResult): DatasetImage[] {
  const { width, height } = result.video;
  const images: DatasetImage[] = [];
  for (const segment of report.segments) {
    if (!segment.decision) continue;
    const best = result.segments[segment.index].bestFrame;
    const relabel = (label: string) => segment.decision!.label ?? label;
    const confirmed = segment.decision.decision === 'confirmed';
    images.push({
      file: `${report.jobId}-s${segment.index}-${millis(best.timeS)}.jpg`, kind: confirmed ? 'labelled' : 'hard-negative',
      jobId: report.jobId, timeS: best.timeS, width, height, segment: segment.index,
      boxes: best.detections.map((d) => ({ label: confirmed ? relabel(d.label) : d.label, box: d.box })),
    });
  }
  for (const m of report.missed) {
    const timeS = (m.startS + m.endS) / 2;
    images.push({ file: `${report.jobId}-missed${m.id}-${millis(timeS)}.jpg`, kind: 'to-label', jobId: report.jobId, timeS, width, height, boxes: [], missed: m.id });
  }
  return images;
}

/** Where each kind of image goes in the format's layout. */
const imagePath = (format: DatasetFormat, image: DatasetImage) =>
  image.kind === 'to-label' ? `to-label/${image.file}` : format === 'yolo' ? `images/train/${image.file}` : `images/${image.file}`;

/** Class names: the model's labels, then any corrected label it does not have. */
function classNames(modelLabels: readonly string[], images: readonly DatasetImage[]): string[] {
  const names = [...modelLabels];
  for (const image of images) if (image.kind === 'labelled') for (const b of image.boxes) if (!names.includes(b.label)) names.push(b.label);
  return names;
}

const r2 = (v: number) => Math.round(v * 100) / 100;

/** COCO: one annotations.json (images, annotations with [x, y, width, height] in pixels, categories from id 1). */
function cocoJson(images: readonly DatasetImage[], names: readonly string[], info: Record<string, unknown>) {
  const entries = images.filter((i) => i.kind !== 'to-label');
  let annotationId = 0;
  return {
    info,
    images: entries.map((image, i) => ({ id: i + 1, file_name: image.file, width: image.width, height: image.height })),
    annotations: entries.flatMap((image, i) =>
      image.kind !== 'labelled' ? [] : image.boxes.map((b) => ({
        id: ++annotationId, image_id: i + 1, category_id: names.indexOf(b.label) + 1,
        bbox: [r2(b.box.x), r2(b.box.y), r2(b.box.width), r2(b.box.height)], area: r2(b.box.width * b.box.height), iscrowd: 0,
      }))),
    categories: names.map((name, i) => ({ id: i + 1, name, supercategory: 'object' })),
  };
}

/** Ultralytics YOLO: one line per box, `class cx cy w h` normalized to 0-1; an empty file is a background image. */
function yoloLabels(image: DatasetImage, names: readonly string[]): string {
  if (image.kind !== 'labelled') return '';
  const f = (v: number) => Math.min(1, Math.max(0, v)).toFixed(6);
  return image.boxes.map((b) => {
    const { x, y, width, height } = b.box;
    return `${names.indexOf(b.label)} ${f((x + width / 2) / image.width)} ${f((y + height / 2) / image.height)} ${f(width / image.width)} ${f(height / image.height)}\n`;
  }).join('');
}

const yoloDataYaml = (names: readonly string[]) =>
  ['# Ultralytics YOLO dataset (framewatch review export)', 'path: .', 'train: images/train', 'val: images/train', 'names:', ...names.map((n, i) => `  ${i}: ${JSON.stringify(n)}`), ''].join('\n');

const addEntry = (pack: Pack, name: string, content: Buffer | string) =>
  new Promise<void>((resolve, reject) => pack.entry({ name, mtime: new Date() }, content, (err) => (err ? reject(err) : resolve())));

/**
 * Writes the dataset into `pack` (the caller finalizes or destroys it). Jobs are read one at
 * a time and each frame is decoded when it is written, so memory holds one frame.
 */
export async function writeDataset(
  source: DatasetSource,
  filter: DatasetFilter,
  format: DatasetFormat,
  model: { project: string; labels: readonly string[] },
  pack: Pack,
  createdAt = new Date().toISOString(),
  redact?: KindsRedaction,
): Promise<{ name: string; images: number; jobs: number; skipped: number }> {
  const name = datasetName(model.project, filter, createdAt.slice(0, 10));
  const records = succeededWhere(await source.list(), filter);
  const images: DatasetImage[] = [];
  const jobs: Array<{ jobId: string; version: number; createdAt: string; images: number }> = [];
  const skipped: Array<{ jobId: string; reason: string }> = [];
  for (const record of records) {
    const result = await source.readResult(record.jobId);
    if (!result) continue;
    const planned = plannedImages(reviewReport(record.jobId, record.createdAt, result, await source.reviews.read(record.jobId)), result);
    if (planned.length === 0) continue;
    if (!existsSync(source.videoPath(record.jobId))) {
      skipped.push({ jobId: record.jobId, reason: 'no kept video to cut frames from (FRAMEWATCH_KEEP_VIDEOS was off, or the job expired)' });
      continue;
    }
    const video = source.videoPath(record.jobId);
    const info = await probeVideo(video);
    for (const image of planned) {
      const jpeg = await frameJpeg(video, info, image.timeS);
      await addEntry(pack, imagePath(format, image), redact ? (await redactStill(jpeg, result, image.timeS, redact, JPEG_QUALITY)).jpeg : jpeg);
      images.push(image); // YOLO labels are written once the class list is known
    }
    jobs.push({ jobId: record.jobId, version: record.model.version, createdAt: record.createdAt, images: planned.length });
  }
  const names = classNames(model.labels, images);
  const info = {
    name, description: 'framewatch review export', model: filter.model, version: filter.version ?? null, since: filter.since ?? null, createdAt, format,
    // What every image had masked, and the face model that found the faces.
    redact: redact ? { targets: redact.targets, style: redact.style, ...(redact.faceModel ? { faceModel: { name: redact.faceModel.name, version: redact.faceModel.version } } : {}) } : null,
  };
  if (format === 'coco') {
    await addEntry(pack, 'annotations.json', JSON.stringify(cocoJson(images, names, info), null, 1));
  } else {
    for (const image of images.filter((i) => i.kind !== 'to-label')) await addEntry(pack, `labels/train/${image.file.replace(/\.jpg$/, '.txt')}`, yoloLabels(image, names));
    await addEntry(pack, 'data.yaml', yoloDataYaml(names));
  }
  const count = (kind: ImageKind) => images.filter((i) => i.kind === kind).length;
  const manifest = {
    ...info, classes: names, jobs, skipped,
    counts: { labelled: count('labelled'), hardNegatives: count('hard-negative'), toLabel: count('to-label') },
    images: images.map(({ file, kind, jobId, timeS, segment, missed, boxes }) => ({ file: imagePath(format, { kind, file } as DatasetImage), kind, jobId, timeS, ...(segment !== undefined ? { segment } : {}), ...(missed !== undefined ? { missed } : {}), ...(kind === 'hard-negative' ? { dismissedBoxes: boxes } : {}) })),
  };
  await addEntry(pack, 'manifest.json', JSON.stringify(manifest, null, 2));
  return { name, images: images.length, jobs: jobs.length, skipped: skipped.length };
}
