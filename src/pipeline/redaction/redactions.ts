import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { FramewatchError, isFramewatchError } from '../../errors/index.js';
import type { Logger } from '../../logging/logger.js';
import { mediaToolVersions, probeVideo } from '../../media/ffmpeg.js';
import { redactVideo } from '../../media/redact.js';
import { writeFileAtomic } from '../../registry/atomic.js';
import type { JobResult } from '../../shared/job-result.js';
import { redactionRecordSchema, type RedactionAudit, type RedactionRecord, type RedactionRequest } from '../../shared/redaction.js';
import type { JobQueue } from '../jobs/queue.js';
import { maskPlan, type RedactionTarget } from './plan.js';

// Redactions of finished jobs: each runs in the background in the process that was asked,
// from the job's kept video and the tracks in its result (no inference), into the job's own
// files: redactions/<id>/{record.json, video.mp4, audit.json}. A cancelled or failed one
// leaves no video behind.

/** Which of a result's tracks each target hides. */
const TARGET_TRACKS: Record<RedactionRequest['targets'][number], (t: JobResult['tracks'][number]) => boolean> = {
  persons: (t) => t.label === 'person',
  text: (t) => t.text !== undefined || t.label === 'text',
};

/** The tracks to mask (and those kept), and the reviewer's boxes as targets of their own (negative ids). */
export function redactionTargets(result: JobResult, request: RedactionRequest): { targets: RedactionTarget[]; tracks: RedactionAudit['tracks'] } {
  const chosen = result.tracks.filter((t) => request.targets.some((target) => TARGET_TRACKS[target](t)));
  const kept = new Set(request.keep);
  const { width, height } = result.video;
  const added = request.boxes.map((b, i): RedactionTarget => {
    const point = (timeS: number) => [timeS, b.box.x * width, b.box.y * height, b.box.width * width, b.box.height * height, 1] as [number, number, number, number, number, number];
    return { trackId: -(i + 1), label: 'added', trajectory: [point(b.timeS), point(b.endS ?? b.timeS)] };
  });
  return {
    targets: [...chosen.filter((t) => !kept.has(t.id)).map((t) => ({ trackId: t.id, label: t.label, trajectory: t.trajectory })), ...added],
    tracks: chosen.map((t) => ({ trackId: t.id, label: t.label, startS: t.startS, endS: t.endS, kept: kept.has(t.id) })),
  };
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const REDACTION_ID_RE = /^[0-9a-f-]{36}$/;

export function createRedactions(jobs: JobQueue, logger: Logger) {
  const running = new Map<string, { stop: AbortController; done: Promise<void> }>();
  const dirOf = (jobId: string, redactionId: string) => {
    if (!REDACTION_ID_RE.test(redactionId)) throw new FramewatchError('REDACTION_NOT_FOUND', `job '${jobId}' has no redaction '${redactionId}'`);
    return join(jobs.filesDir(jobId), 'redactions', redactionId);
  };
  const save = (record: RedactionRecord) => writeFileAtomic(join(dirOf(record.jobId, record.redactionId), 'record.json'), JSON.stringify(record));

  async function run(record: RedactionRecord, result: JobResult, request: RedactionRequest, stop: AbortSignal): Promise<void> {
    const dir = dirOf(record.jobId, record.redactionId);
    const { targets, tracks } = redactionTargets(result, request);
    const info = await probeVideo(jobs.videoPath(record.jobId));
    const masksAt = maskPlan(targets, request, info);
    let lastSave = 0;
    const onProgress = (framesDone: number) => {
      record.progress = { ...record.progress, framesDone, percent: Math.min(100, Math.round((framesDone / Math.max(1, record.progress.framesTotal)) * 1000) / 10) };
      if (Date.now() - lastSave > 500) void save({ ...record, updatedAt: new Date((lastSave = Date.now())).toISOString() }).catch(() => undefined);
    };
    const out = join(dir, 'video.mp4');
    const frames = await redactVideo(jobs.videoPath(record.jobId), info, masksAt, { style: request.style, audio: request.audio, signal: stop, onProgress }, out);
    const audit: RedactionAudit = {
      jobId: record.jobId, redactionId: record.redactionId, createdAt: record.createdAt, finishedAt: new Date().toISOString(),
      model: result.model, settings: request, tracks,
      frames: { decoded: frames.framesDecoded, encoded: frames.framesEncoded, masked: frames.framesMasked, masks: frames.masks, fps: frames.fps },
      output: { file: 'video.mp4', bytes: (await stat(out)).size, sha256: await sha256Of(out), audio: request.audio && info.hasAudio },
      ffmpeg: (await mediaToolVersions()).ffmpeg,
    };
    await writeFileAtomic(join(dir, 'audit.json'), JSON.stringify(audit, null, 2));
    Object.assign(record, { status: 'succeeded', audit, progress: { framesDone: frames.framesDecoded, framesTotal: frames.framesDecoded, percent: 100 } });
  }

  return {
    /** Starts a redaction of a finished job's kept video; answers its first record at once. */
    async start(jobId: string, request: RedactionRequest): Promise<RedactionRecord> {
      const job = await jobs.get(jobId).catch(() => undefined);
      if (!job) throw new FramewatchError('JOB_NOT_FOUND', `no job '${jobId}'`);
      const result = job.status === 'succeeded' ? await jobs.readResult(jobId) : undefined;
      if (!result) throw new FramewatchError('JOB_NOT_FINISHED', `job '${jobId}' is ${job.status}: it has no tracks to redact yet`);
      await stat(jobs.videoPath(jobId)).catch(() => {
        throw new FramewatchError('NOT_FOUND', `job '${jobId}' has no kept video to redact (FRAMEWATCH_KEEP_VIDEOS is off)`);
      });
      const now = new Date().toISOString();
      const framesTotal = Math.round(result.video.durationS * (result.video.fps || 25));
      const record: RedactionRecord = { redactionId: randomUUID(), jobId, status: 'running', createdAt: now, updatedAt: now, progress: { framesDone: 0, framesTotal, percent: 0 } };
      await mkdir(dirOf(jobId, record.redactionId), { recursive: true });
      await save(record);
      const stop = new AbortController();
      const done = run(record, result, request, stop.signal)
        .catch((err) => {
          const cancelled = stop.signal.aborted;
          const error = isFramewatchError(err) ? { code: err.code, message: err.message } : { code: 'INTERNAL', message: (err as Error).message };
          Object.assign(record, { status: cancelled ? 'cancelled' : 'failed', ...(cancelled ? {} : { error }) });
          if (!cancelled) logger.error('redaction failed', { jobId, redactionId: record.redactionId, ...error });
        })
        .then(() => save({ ...record, updatedAt: new Date().toISOString() }))
        .catch((err) => logger.error('redaction record not saved', { jobId, redactionId: record.redactionId, message: (err as Error).message }))
        .finally(() => running.delete(record.redactionId));
      running.set(record.redactionId, { stop, done });
      return record;
    },
    async get(jobId: string, redactionId: string): Promise<RedactionRecord> {
      if (!(await jobs.get(jobId).catch(() => undefined))) throw new FramewatchError('JOB_NOT_FOUND', `no job '${jobId}'`);
      const text = await readFile(join(dirOf(jobId, redactionId), 'record.json'), 'utf8').catch(() => undefined);
      if (!text) throw new FramewatchError('REDACTION_NOT_FOUND', `job '${jobId}' has no redaction '${redactionId}'`);
      return redactionRecordSchema.parse(JSON.parse(text));
    },
    /** Stops a running redaction (its video is removed); a finished one is answered as it is. */
    async cancel(jobId: string, redactionId: string): Promise<RedactionRecord> {
      await this.get(jobId, redactionId);
      const live = running.get(redactionId);
      live?.stop.abort();
      await live?.done;
      return this.get(jobId, redactionId);
    },
    /** Where a finished redaction's files are. */
    fileOf: (jobId: string, redactionId: string, name: 'video.mp4' | 'audit.json') => join(dirOf(jobId, redactionId), name),
    /** Stops every running redaction (shutdown). */
    async close(): Promise<void> {
      const all = [...running.values()];
      for (const r of all) r.stop.abort();
      await Promise.all(all.map((r) => r.done));
    },
  };
}
export type Redactions = ReturnType<typeof createRedactions>;
