import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { FramewatchError, isFramewatchError } from '../../errors/index.js';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../logging/logger.js';
import { mediaToolVersions, probeVideo, type VideoInfo } from '../../media/ffmpeg.js';
import { redactionFps, redactVideo, WHOLE_VIDEO, type SourceSpan } from '../../media/redact.js';
import { writeFileAtomic } from '../../registry/atomic.js';
import type { ModelRepository, ReadyModel } from '../../registry/index.js';
import type { JobResult } from '../../shared/job-result.js';
import { targetHidesTrack } from '../../shared/redaction-tracks.js';
import { redactionRecordSchema, type RedactionAudit, type RedactionRecord, type RedactionRequest } from '../../shared/redaction.js';
import type { JobQueue } from '../jobs/queue.js';
import { percentDone } from '../jobs/video-job.js';
import { FACE_PASS, followDetections, resolvePassModel, samplesPlanned, TEXT_MIN_MARGIN, TEXT_PASS, type PassKind, type PassTracks } from './detect-pass.js';
import { outputByteLimit, redactionTimeLimitMs, type RedactionLimits } from './limits.js';
import { maskPlan, type RedactionTarget } from './plan.js';
import { confirmedSpans } from './spans.js';
import { addedBoxTargets } from './added-boxes.js';

// Redactions of finished jobs: each runs in the background in the process that was asked,
// from the job's kept video and the tracks in its result, into the job's own files:
// redactions/<id>/{record.json, video.mp4, audit.json}. Persons and text need no inference;
// faces are found first by a detect pass over the video (faces.ts). The output is the whole
// video or its confirmed segments (spans.ts), bounded in bytes and in wall time (limits.ts).
// A cancelled or failed one leaves no video behind.


/** A track a redaction may mask: one of the job's, or a face track of its own detect pass. */
interface CandidateTrack extends RedactionTarget {
  startS: number;
  endS: number;
  /** Face tracks are listed with their trajectory: the job's result does not keep them. */
  auditTrajectory: boolean;
}

const jobCandidate = (t: JobResult['tracks'][number]): CandidateTrack => ({
  trackId: t.id, label: t.label, trajectory: t.trajectory, startS: t.startS, endS: t.endS, auditTrajectory: false, ...(targetHidesTrack('text', t) ? { minMarginShare: TEXT_MIN_MARGIN } : {}),
});
/** A drawn box's path, listed in the audit like a face track's (the job's result does not keep it). */
const addedCandidate = (t: RedactionTarget): CandidateTrack => ({ ...t, startS: t.trajectory[0][0], endS: t.trajectory.at(-1)![0], auditTrajectory: true });
const passCandidates = (found: Pick<PassTracks, 'targets' | 'spans'>): CandidateTrack[] =>
  found.targets.map((t, i) => ({ ...t, startS: found.spans[i].startS, endS: found.spans[i].endS, auditTrajectory: true }));

/**
 * The tracks to mask (and those kept): the job's chosen tracks, the tracks of the redaction's
 * own passes (faces from FACE_TRACK_ID_BASE, text from TEXT_TRACK_ID_BASE), and the reviewer's
 * boxes (`added`, from addedBoxTargets: ids -1, -2, ...).
 */
export function redactionTargets(
  result: Pick<JobResult, 'tracks'>,
  request: Pick<RedactionRequest, 'targets' | 'keep'>,
  passes: ReadonlyArray<Pick<PassTracks, 'targets' | 'spans'>> = [],
  added: readonly RedactionTarget[] = [],
): { targets: RedactionTarget[]; tracks: RedactionAudit['tracks'] } {
  const chosen = [
    ...result.tracks.filter((t) => request.targets.some((target) => targetHidesTrack(target, t))).map(jobCandidate),
    ...passes.flatMap(passCandidates),
  ];
  const kept = new Set(request.keep);
  return {
    targets: [...chosen.filter((t) => !kept.has(t.trackId)).map(({ trackId, label, trajectory, minMarginPx, minMarginShare }) => ({ trackId, label, trajectory, minMarginPx, minMarginShare })), ...added],
    tracks: [...chosen, ...added.map(addedCandidate)].map((t) => ({
      trackId: t.trackId, label: t.label, startS: t.startS, endS: t.endS, kept: kept.has(t.trackId), ...(t.auditTrajectory ? { trajectory: [...t.trajectory] } : {}),
    })),
  };
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

const REDACTION_ID_RE = /^[0-9a-f-]{36}$/;

/** A record's progress through one stage. */
const stageProgress = (stage: RedactionRecord['progress']['stage'] & string, framesDone: number, framesTotal: number): RedactionRecord['progress'] => ({
  stage, framesDone, framesTotal, percent: percentDone(framesDone, framesTotal),
});

/** The encode stage's total: the spans' frames, or for the whole video, from the job's description of it (the redaction decodes at its rate). */
const framesToEncode = (result: JobResult, spans: readonly SourceSpan[]) =>
  spans.reduce((n, s) => n + (s.frames ?? Math.round(result.video.durationS * redactionFps(result.video))), 0);

/** A failed redaction's error: the time limit's once it has passed (whatever stopped on it), else the error's own. */
function failureOf(err: unknown, timedOut: boolean, limitMs: number): { code: string; message: string } {
  if (timedOut) return { code: 'REDACTION_TIMEOUT', message: `the redaction ran past its time limit of ${limitMs / 1000} s and was stopped` };
  return isFramewatchError(err) ? { code: err.code, message: err.message } : { code: 'INTERNAL', message: (err as Error).message };
}

const seconds = (from: number, to = performance.now()) => Math.round(to - from) / 1000;

/** A detect pass a redaction runs: what it looks for, with which served model, at what rate. */
interface PlannedPass {
  kind: PassKind;
  model: ReadyModel;
  fps: number;
}

/**
 * Starts the planned passes side by side, ahead of the encoder: `masksAt` gives their masks at
 * a time (kept tracks left out) once every pass is far enough past it. Progress is the
 * passes' samples together.
 */
function startPasses(planned: readonly PlannedPass[], path: string, info: VideoInfo, request: RedactionRequest, signal: AbortSignal, onProgress: (done: number, total: number) => void) {
  const stop = new AbortController();
  const total = planned.reduce((n, p) => n + samplesPlanned(info.durationS, p.fps), 0);
  const done = planned.map(() => 0);
  const passes = planned.map((p, i) => followDetections(p.kind, p.model, path, info, {
    fps: p.fps, leadS: request.leadS, signal: AbortSignal.any([signal, stop.signal]),
    onProgress: (samples) => {
      done[i] = samples;
      onProgress(done.reduce((n, d) => n + d, 0), total);
    },
  }));
  let finished = passes.length === 0;
  void Promise.allSettled(passes.map((p) => p.done)).then(() => (finished = true));
  const kept = new Set(request.keep);
  return {
    finished: () => finished,
    stop: () => stop.abort(),
    found: () => Promise.all(passes.map((p) => p.done)),
    async masksAt(timeS: number) {
      const targets = (await Promise.all(passes.map((p) => p.targetsAt(timeS)))).flat();
      return maskPlan(targets.filter((t) => !kept.has(t.trackId)), request, info)(timeS);
    },
  };
}

/** The audit's record of each pass that ran (faces, text): its model, samples, detections and rate. */
function passAudits(planned: readonly PlannedPass[], found: readonly PassTracks[]) {
  const audit = (kind: PassKind) => {
    const i = planned.findIndex((p) => p.kind === kind);
    return i < 0 ? undefined : { model: found[i].model, samples: found[i].samples, detections: found[i].detections, fps: planned[i].fps };
  };
  return { faces: audit(FACE_PASS), text: audit(TEXT_PASS) };
}

/**
 * The passes a request needs: faces when asked; text when asked of a job that holds no text
 * tracks (an object detector's job, or a text reader's that found none: masking nothing there
 * is never assumed). A model that is not served throws the catalogue's 404/503.
 */
function plannedPasses(request: RedactionRequest, result: Pick<JobResult, 'tracks'>, repository: Pick<ModelRepository, 'resolve'>): PlannedPass[] {
  const passes: PlannedPass[] = [];
  if (request.targets.includes('faces')) passes.push({ kind: FACE_PASS, model: resolvePassModel(repository, FACE_PASS), fps: request.faceFps });
  if (request.targets.includes('text') && !result.tracks.some((t) => targetHidesTrack('text', t))) {
    passes.push({ kind: TEXT_PASS, model: resolvePassModel(repository, TEXT_PASS), fps: request.textFps });
  }
  return passes;
}

export function createRedactions(jobs: JobQueue, repository: Pick<ModelRepository, 'resolve'>, logger: Logger, limits: RedactionLimits) {
  const running = new Map<string, { stop: AbortController; done: Promise<void> }>();
  const dirOf = (jobId: string, redactionId: string) => {
    if (!REDACTION_ID_RE.test(redactionId)) throw new FramewatchError('REDACTION_NOT_FOUND', `job '${jobId}' has no redaction '${redactionId}'`);
    return join(jobs.filesDir(jobId), 'redactions', redactionId);
  };
  const save = (record: RedactionRecord) => writeFileAtomic(join(dirOf(record.jobId, record.redactionId), 'record.json'), JSON.stringify(record));

  /** Saves the record's progress at most twice a second (a final save always follows). */
  function progressSaver(record: RedactionRecord) {
    let lastSave = 0;
    return (progress: RedactionRecord['progress']) => {
      record.progress = progress;
      if (Date.now() - lastSave > 500) void save({ ...record, updatedAt: new Date((lastSave = Date.now())).toISOString() }).catch(() => undefined);
    };
  }

  async function run(record: RedactionRecord, result: JobResult, request: RedactionRequest, planned: readonly PlannedPass[], spans: readonly SourceSpan[], signal: AbortSignal): Promise<void> {
    const dir = dirOf(record.jobId, record.redactionId);
    const path = jobs.videoPath(record.jobId);
    const info = await probeVideo(path);
    const report = progressSaver(record);
    const trackStart = performance.now();
    if (request.boxes.some((b) => b.track)) report(stageProgress('track', 0, request.boxes.length));
    const added = await addedBoxTargets(request, path, info, { signal, onBox: (done) => report(stageProgress('track', done, request.boxes.length)) });
    const boxesTrackS = seconds(trackStart);
    const passes = startPasses(planned, path, info, request, signal, (done, total) => report(stageProgress('detect', done, total)));
    const fixedMasksAt = maskPlan(redactionTargets(result, request, [], added).targets, request, info);
    const masksAt = planned.length ? async (timeS: number) => [...fixedMasksAt(timeS), ...(await passes.masksAt(timeS))] : fixedMasksAt;
    const framesTotal = framesToEncode(result, spans);
    if (passes.finished()) report(stageProgress('encode', 0, framesTotal));
    const out = join(dir, 'video.mp4');
    const encodeStart = performance.now();
    const maxBytes = outputByteLimit(info, framesTotal, redactionFps(info), limits);
    // While a pass runs, the record shows the passes' progress; the encoder's from then on.
    const encoding = { style: request.style, audio: request.audio, spans, maxBytes, signal, onProgress: (done: number) => passes.finished() && report(stageProgress('encode', done, framesTotal)) };
    const frames = await redactVideo(path, info, masksAt, encoding, out).catch((err) => {
      passes.stop();
      throw err;
    });
    // A pass that fails after the last frame was encoded (confirmed spans end early) leaves no video either.
    const found = await passes.found().catch(async (err) => {
      await rm(out, { force: true });
      throw err;
    });
    const { tracks } = redactionTargets(result, request, found, added);
    const { faces, text } = passAudits(planned, found);
    const encodeS = seconds(encodeStart);
    const audit: RedactionAudit = {
      jobId: record.jobId, redactionId: record.redactionId, createdAt: record.createdAt, finishedAt: new Date().toISOString(),
      model: result.model, settings: request, tracks,
      frames: { decoded: frames.framesDecoded, encoded: frames.framesEncoded, masked: frames.framesMasked, masks: frames.masks, fps: frames.fps },
      spans: frames.spans,
      ...(faces ? { faces } : {}),
      ...(text ? { text } : {}),
      // The passes run side by side: detection took the longest one's time.
      timings: { detectS: round3(Math.max(0, ...found.map((f) => f.detectS))), trackS: round3(found.reduce((n, f) => n + f.trackS, 0) + boxesTrackS), encodeS },
      output: { file: 'video.mp4', bytes: (await stat(out)).size, sha256: await sha256Of(out), audio: request.audio && info.hasAudio },
      ffmpeg: (await mediaToolVersions()).ffmpeg,
    };
    await writeFileAtomic(join(dir, 'audit.json'), JSON.stringify(audit, null, 2));
    Object.assign(record, { status: 'succeeded', audit, progress: stageProgress('encode', frames.framesDecoded, frames.framesDecoded) });
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
      // Resolved before answering, so a pass's model that is not served is this request's 404/503.
      const planned = plannedPasses(request, result, repository);
      const spans = request.span === 'confirmed'
        ? confirmedSpans(jobId, result, (await jobs.reviews.read(jobId)).decisions, redactionFps(result.video), result.video.durationS)
        : WHOLE_VIDEO;
      const now = new Date().toISOString();
      const progress = planned.length
        ? stageProgress('detect', 0, planned.reduce((n, p) => n + samplesPlanned(result.video.durationS, p.fps), 0))
        : stageProgress('encode', 0, framesToEncode(result, spans));
      const record: RedactionRecord = { redactionId: randomUUID(), jobId, status: 'running', createdAt: now, updatedAt: now, progress };
      await mkdir(dirOf(jobId, record.redactionId), { recursive: true });
      await save(record);
      const stop = new AbortController();
      const limitMs = redactionTimeLimitMs(result.video.durationS, limits);
      const deadline = AbortSignal.timeout(limitMs);
      const done = run(record, result, request, planned, spans, AbortSignal.any([stop.signal, deadline]))
        .catch((err) => {
          const cancelled = stop.signal.aborted;
          const error = failureOf(err, deadline.aborted, limitMs);
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
    /** The job's redactions, newest first (how the page finds its last one after a reload). */
    async list(jobId: string): Promise<RedactionRecord[]> {
      if (!(await jobs.get(jobId).catch(() => undefined))) throw new FramewatchError('JOB_NOT_FOUND', `no job '${jobId}'`);
      const ids = (await readdir(join(jobs.filesDir(jobId), 'redactions')).catch(() => [] as string[])).filter((id) => REDACTION_ID_RE.test(id));
      // A folder whose record is not written yet (or not readable) is left out, not an error.
      const records = await Promise.all(ids.map((id) => this.get(jobId, id).catch(() => undefined)));
      return records.filter((r) => r !== undefined).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
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
