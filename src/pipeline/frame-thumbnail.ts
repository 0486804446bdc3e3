import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FramewatchError } from '../errors/index.js';
import { writeFileAtomic } from '../registry/atomic.js';
import { decodeOneFrame, probeVideo } from '../media/ffmpeg.js';
import { renderThumbnail, thumbnailScale } from '../media/thumbnail.js';
import type { JobResult } from '../shared/job-result.js';
import { redactStill, stillRedactionKey, type StillRedaction } from './redaction/stills.js';

// Thumbnails of any moment of a finished job's kept video, cut when first asked for: a
// re-review's segments (POST /v1/jobs/:id/evaluate) have best frames the job never cut. The
// evaluation itself starts no ffmpeg; each picture is its own request, cached in the job's
// files, on a 0.1 s grid, so a job holds a bounded number of them. Either kind of picture
// (these and the segments' thumbnails) can be asked for redacted (`redact=`): masked from
// the unredacted one and cached apart, under a name holding the redaction's key.

/** Times snap to this grid (ms): thumbnails a tenth of a second apart look the same. */
export const FRAME_GRID_MS = 100;
/** Cached pictures per job; past this they are cut again each time (nothing more is stored). */
const MAX_CACHED = 500;
/** Decodes in flight in this process; more answer QUEUE_FULL at once (each is one ffmpeg). */
const MAX_IN_FLIGHT = 4;

let inFlight = 0;

/** Where the page fetches the picture of `timeS`. */
export const frameThumbnailUrl = (jobId: string, timeS: number) => `/v1/jobs/${jobId}/frames/${Math.round((timeS * 1000) / FRAME_GRID_MS) * FRAME_GRID_MS}.jpg`;

/**
 * The JPEG file showing the job's video at `ms` (a multiple of FRAME_GRID_MS within the
 * video), cut and cached on first use. SEGMENT_NOT_FOUND for a time the video does not have.
 */
export async function frameThumbnail(jobId: string, videoPath: string, filesDir: string, result: Pick<JobResult, 'video' | 'tracks'>, ms: number, redact?: StillRedaction): Promise<CutPicture> {
  const plain = await plainFrameThumbnail(jobId, videoPath, filesDir, result, ms);
  if (!redact) return plain;
  return redactedPicture(filesDir, `frame-${ms}`, plain, result, frameTimeS(result.video, ms), redact);
}

/** A picture as a cached file, or its bytes when the cache is full. */
export interface CutPicture {
  file?: string;
  bytes?: Buffer;
}

/** The time of the frame a picture at `ms` shows: the last frame starts before the end, so a time at the very end is a frame back. */
const frameTimeS = (video: Pick<JobResult['video'], 'durationS' | 'fps'>, ms: number) => Math.max(0, Math.min(ms / 1000, video.durationS - 1 / (video.fps || 25)));

/** The unredacted picture `plain` (of the job's video at `timeS`) masked, cached in `redacted/` under `name` and the redaction's key. */
async function redactedPicture(filesDir: string, name: string, plain: CutPicture, result: Pick<JobResult, 'video' | 'tracks'>, timeS: number, redact: StillRedaction): Promise<CutPicture> {
  const dir = join(filesDir, 'redacted');
  const file = join(dir, `${name}.${stillRedactionKey(redact)}.jpg`);
  if (existsSync(file)) return { file };
  const { jpeg } = await redactStill(plain.bytes ?? (await readFile(plain.file!)), result, timeS, redact);
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length >= MAX_CACHED) return { bytes: jpeg };
  await writeFileAtomic(file, jpeg);
  return { file };
}

/**
 * Segment `n`'s thumbnail (cut when the job finished, with its boxes), redacted on request.
 * SEGMENT_NOT_FOUND when the job has no such thumbnail.
 */
export async function segmentThumbnail(jobId: string, filesDir: string, n: number, result?: Pick<JobResult, 'video' | 'tracks' | 'segments'>, redact?: StillRedaction): Promise<CutPicture> {
  const file = join(filesDir, `${n}.jpg`);
  if (!Number.isInteger(n) || n < 0 || !existsSync(file) || (redact && !result?.segments[n])) {
    throw new FramewatchError('SEGMENT_NOT_FOUND', `job '${jobId}' has no thumbnail for segment ${n}`);
  }
  if (!redact || !result) return { file };
  return redactedPicture(filesDir, `segment-${n}`, { file }, result, result.segments[n].bestFrame.timeS, redact);
}

async function plainFrameThumbnail(jobId: string, videoPath: string, filesDir: string, result: Pick<JobResult, 'video'>, ms: number): Promise<CutPicture> {
  if (!Number.isInteger(ms) || ms < 0 || ms % FRAME_GRID_MS !== 0 || ms > result.video.durationS * 1000) {
    throw new FramewatchError('SEGMENT_NOT_FOUND', `job '${jobId}' has no frame at ${ms} ms (0 to ${Math.floor(result.video.durationS * 1000)}, in steps of ${FRAME_GRID_MS})`);
  }
  const dir = join(filesDir, 'frames');
  const file = join(dir, `${ms}.jpg`);
  if (existsSync(file)) return { file };
  if (!existsSync(videoPath)) throw new FramewatchError('NOT_FOUND', `job '${jobId}' has no kept video to cut a frame from (FRAMEWATCH_KEEP_VIDEOS is off)`);
  if (inFlight >= MAX_IN_FLIGHT) throw new FramewatchError('QUEUE_FULL', `${MAX_IN_FLIGHT} frames are being cut; retry shortly`, { retryAfterS: 1 });
  inFlight++;
  try {
    const info = await probeVideo(videoPath);
    const scale = thumbnailScale(info.width, info.height);
    const startS = frameTimeS(info, ms);
    const frame = await decodeOneFrame(videoPath, info, { fps: info.fps || 25, startS, threads: 1, scale }, `the frame at ${ms / 1000} s could not be decoded`);
    const bytes = await renderThumbnail(frame, [], info.width);
    await mkdir(dir, { recursive: true });
    if ((await readdir(dir)).length >= MAX_CACHED) return { bytes };
    await writeFileAtomic(file, bytes);
    return { file };
  } finally {
    inFlight--;
  }
}
