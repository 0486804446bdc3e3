import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FlowProducer, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { FramewatchError } from '../../errors/index.js';
import type { Logger } from '../../logging/logger.js';
import { probeVideo } from '../../media/ffmpeg.js';
import { joinRedactedParts, redactionFps, redactVideo, type RedactedVideo } from '../../media/redact.js';
import { writeFileAtomic } from '../../registry/atomic.js';
import type { ModelRepository } from '../../registry/index.js';
import { frameDetectionsSchema } from '../../shared/job-result.js';
import { redactionAuditSchema, redactionRequestSchema, type RedactionRecord } from '../../shared/redaction.js';
import { frameRangeSchema } from '../../shared/video.js';
import type { JobQueue } from '../jobs/queue.js';
import { REDACTION_PART_QUEUE, REDACTION_QUEUE, redisKeys } from '../jobs/redis/keys.js';
import { WORKER_ID } from '../jobs/spec.js';
import { addedBoxTargets } from './added-boxes.js';
import { auditOf, redactionTargets, type AuditPlan } from './audit.js';
import { outputByteLimit, type RedactionLimits } from './limits.js';
import { passAudits, plannedPasses, type PlannedPass } from './passes.js';
import { trackDetections, type PassTracks } from './detect-pass.js';
import { pictureChunks } from '../predict-video.js';
import { inferFrames } from '../infer-frames.js';
import { maskPlan } from './plan.js';
import { failureOf, framesToEncode, redactionTargetSchema, stageProgress, TARGETS_FILE, type RedactionFiles, type RedactionRunner } from './records.js';
import { redactionParts } from './spans.js';

// The shared mode's redactions, on BullMQ like video jobs, so that any worker takes a part:
//   detect (framewatch-redaction-parts, any worker): each detect pass's samples in parts of
//     FRAMEWATCH_CHUNK_SECONDS, each part's detections returned;
//   plan (framewatch-redactions, once every detect part returned): each pass's detections
//     joined in time order and tracked (the tracks one pass finds), the drawn boxes followed,
//     every target written to plan.json; then a flow is added:
//   parts (framewatch-redaction-parts): each encodes its run of frames with those targets'
//     masks, into parts/<n>.mp4 (no audio), on any worker;
//   assemble (framewatch-redactions, once every part returned): the parts joined without
//     re-encoding, the audio added, the audit written.
// A redaction ends once: succeed, fail and cancel each claim its final status in Redis (SET
// NX), and only the claim's winner writes the final record; a video.mp4 exists only after a
// won success. Progress lives in Redis beside it, so the record file has one writer at a time.
// Cancel is a pub/sub message every worker acts on; the parts and plan are removed by the
// assembly, which runs whatever the parts did.

export interface SharedRedactionOptions {
  redisUrl: string;
  /** Take plans, parts and assemblies here ('worker' and 'all' roles). */
  work: boolean;
  /** Seconds of video each part covers (FRAMEWATCH_CHUNK_SECONDS, as a job's chunks). */
  chunkSeconds: number;
  /** Parts one process encodes at once. */
  chunkConcurrency: number;
  lockMs: number;
  stalledIntervalMs: number;
  maxStalled: number;
  ttlHours: number;
  /** Workers take work only once this resolves (the pass models are loaded). */
  modelsReady: Promise<unknown>;
}

const spanSchema = z.object({ startS: z.number().nonnegative(), frames: z.number().int().positive().optional() });
/** What every stage of one redaction is given; another process (or version) wrote it. */
const workSchema = z.object({
  jobId: z.string(),
  redactionId: z.string(),
  request: redactionRequestSchema,
  spans: z.array(spanSchema).min(1),
  limitMs: z.number(),
  /** Epoch ms the whole redaction must end by (createdAt + limitMs). */
  deadlineAt: z.number(),
});
type Work = z.infer<typeof workSchema>;
const partSchema = workSchema.extend({ index: z.number().int().nonnegative(), spanIndex: z.number().int().nonnegative(), span: spanSchema });
const assemblySchema = workSchema.extend({ encodeStartedAt: z.number() });
const detectSchema = workSchema.extend({ index: z.number().int().nonnegative(), model: z.string(), range: frameRangeSchema });
const detectResultSchema = z.object({
  model: z.object({ name: z.string(), version: z.number().int() }), firstIndex: z.number().int(), frames: z.array(frameDetectionsSchema),
  detectS: z.number(), worker: z.string(), skipped: z.boolean(),
});
type DetectResult = z.infer<typeof detectResultSchema>;
const partResultSchema = z.object({
  index: z.number().int(), spanIndex: z.number().int(), frames: z.number().int(), framesMasked: z.number().int(), masks: z.number().int(),
  worker: z.string(), encodeS: z.number(), skipped: z.boolean(),
});
type PartResult = z.infer<typeof partResultSchema>;
/** plan.json: the targets every part masks, and what the audit will say of them. */
const planFileSchema = z.object({
  targets: z.array(redactionTargetSchema),
  audit: z.object({ tracks: redactionAuditSchema.shape.tracks, faces: redactionAuditSchema.shape.faces, text: redactionAuditSchema.shape.text, detectS: z.number(), trackS: z.number() }),
});

/** Attempts of a part that fails for another reason than its input, one second apart and doubling. */
const PART_ATTEMPTS = { attempts: 3, backoff: { type: 'exponential' as const, delay: 1000 } };
/** Errors a stage meets on any worker, every time: the redaction fails at once. */
const FAILS_EVERYWHERE = new Set(['INVALID_MEDIA', 'NO_VIDEO_STREAM', 'INVALID_INPUT', 'JOB_NOT_FINISHED', 'MODEL_NOT_FOUND', 'REDACTION_TOO_LARGE', 'REDACTION_TIMEOUT']);
const CLOSE_STEP_MS = 5_000;
const PROGRESS_INTERVAL_MS = 500;

const skippedPart = (p: z.infer<typeof partSchema>): PartResult => ({ index: p.index, spanIndex: p.spanIndex, frames: 0, framesMasked: 0, masks: 0, worker: WORKER_ID, encodeS: 0, skipped: true });
const skippedDetect = (d: z.infer<typeof detectSchema>): DetectResult => ({ model: { name: d.model, version: 0 }, firstIndex: d.range.firstIndex, frames: [], detectS: 0, worker: WORKER_ID, skipped: true });

/** Each planned pass's tracks from its detect parts' detections, joined in time order (the parts ran apart, on any worker). */
function passesFrom(planned: readonly PlannedPass[], parts: readonly DetectResult[]): PassTracks[] {
  return planned.map((p) => {
    const mine = parts.filter((d) => d.model.name === p.kind.model).sort((a, b) => a.firstIndex - b.firstIndex);
    const versions = new Set(mine.map((d) => d.model.version));
    if (versions.size > 1) throw new FramewatchError('MODEL_NOT_READY', `the ${p.kind.model} parts ran on different versions (${[...versions].join(', ')}); redact again once one version serves`);
    // The parts ran side by side: the pass took about the longest part's time, times the parts per worker; the sum is its work.
    const detectS = mine.reduce((n, d) => n + d.detectS, 0);
    return trackDetections(p.kind, mine[0]?.model ?? p.model, mine.flatMap((d) => d.frames), detectS);
  });
}

/** The parts' frames as one redacted video: counts summed, and each span's frames and place in the output. */
function joinedFrames(parts: readonly PartResult[], spans: Work['spans'], fps: number): RedactedVideo {
  const sum = (f: (p: PartResult) => number) => parts.reduce((n, p) => n + f(p), 0);
  let outputFrames = 0;
  const round = (x: number) => Math.round(x * 1e6) / 1e6;
  const joined = spans.map((span, i) => {
    const frames = parts.filter((p) => p.spanIndex === i).reduce((n, p) => n + p.frames, 0);
    const out = { sourceStartS: round(span.startS), sourceEndS: round(span.startS + frames / fps), outputStartS: round(outputFrames / fps), frames };
    outputFrames += frames;
    return out;
  });
  const frames = sum((p) => p.frames);
  return { framesDecoded: frames, framesEncoded: frames, framesMasked: sum((p) => p.framesMasked), masks: sum((p) => p.masks), fps, spans: joined };
}

export function createSharedRunner(
  jobs: Pick<JobQueue, 'readResult' | 'videoPath'>,
  repository: Pick<ModelRepository, 'resolve'>,
  files: RedactionFiles,
  logger: Logger,
  limits: RedactionLimits,
  options: SharedRedactionOptions,
): RedactionRunner {
  const ttlS = Math.round(options.ttlHours * 3600);
  const retryStrategy = (n: number) => Math.min(n * 250, 2000);
  const connections: Redis[] = [];
  const connect = (blocking: boolean) => {
    const connection = new Redis(options.redisUrl, { retryStrategy, ...(blocking ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, enableOfflineQueue: false }) });
    connection.on('error', () => undefined); // the job queue's health reports Redis being away
    connections.push(connection);
    return connection;
  };
  const commands = connect(false);
  const flow = new FlowProducer({ connection: connect(false) });
  const stagesQueue = new Queue(REDACTION_QUEUE, { connection: connect(false) });
  flow.on('error', () => undefined);
  stagesQueue.on('error', () => undefined);
  const keep = { removeOnComplete: { age: ttlS }, removeOnFail: { age: ttlS } };
  const dirOf = (w: Pick<Work, 'jobId' | 'redactionId'>) => files.dirOf(w.jobId, w.redactionId);
  const partsDir = (w: Work) => join(dirOf(w), 'parts');
  const planPath = (w: Work) => join(dirOf(w), 'plan.json');
  const progressKey = (w: Pick<Work, 'jobId' | 'redactionId'>) => redisKeys.redactionProgress(w.jobId, w.redactionId);

  /**
   * Claims the redaction's final status; true for the one claim that wins, and with `again`
   * for a retry of the winner's too (an assembly run again after its worker died mid-way).
   */
  const claimFinal = async (w: Pick<Work, 'jobId' | 'redactionId'>, status: RedactionRecord['status'], again = false): Promise<boolean> => {
    const key = redisKeys.redactionFinal(w.jobId, w.redactionId);
    return (await commands.set(key, status, 'EX', ttlS, 'NX')) === 'OK' || (again && (await commands.get(key)) === status);
  };
  const isFinal = async (w: Pick<Work, 'jobId' | 'redactionId'>) => (await commands.exists(redisKeys.redactionFinal(w.jobId, w.redactionId))) === 1;
  /** Writes the final record (only the claim's winner calls it). */
  const saveFinal = async (w: Pick<Work, 'jobId' | 'redactionId'>, patch: Partial<RedactionRecord>) => {
    const record = await files.read(w.jobId, w.redactionId);
    if (record) await files.save({ ...record, ...patch, updatedAt: new Date().toISOString() });
  };
  const setProgress = (w: Work, progress: RedactionRecord['progress']) =>
    commands.multi().hset(progressKey(w), { stage: progress.stage ?? 'encode', framesDone: progress.framesDone, framesTotal: progress.framesTotal }).expire(progressKey(w), ttlS).exec();
  /** A stage's progress, written at most twice a second. */
  const progressWriter = (w: Work) => {
    let last = 0;
    return (progress: RedactionRecord['progress']) => {
      if (Date.now() - last < PROGRESS_INTERVAL_MS) return;
      last = Date.now();
      void setProgress(w, progress).catch(() => undefined);
    };
  };

  async function failRedaction(w: Work, error: { code: string; message: string }): Promise<void> {
    try {
      if (!(await claimFinal(w, 'failed'))) return;
      await saveFinal(w, { status: 'failed', error });
      logger.error('redaction failed', { jobId: w.jobId, redactionId: w.redactionId, ...error });
      await Promise.all([rm(partsDir(w), { recursive: true, force: true }), rm(planPath(w), { force: true }), rm(join(dirOf(w), 'video.partial.mp4'), { force: true })]);
    } catch (err) {
      logger.error('marking a failed redaction failed', { jobId: w.jobId, redactionId: w.redactionId, message: (err as Error).message });
    }
  }

  // Running stages here, by redaction id, so a cancel message stops them.
  const running = new Map<string, Set<AbortController>>();
  const subscriber = commands.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
  connections.push(subscriber);
  subscriber.on('error', () => undefined);
  subscriber.subscribe(redisKeys.redactionCancel).catch(() => undefined);
  subscriber.on('message', (_channel: string, redactionId: string) => running.get(redactionId)?.forEach((c) => c.abort()));

  /**
   * Runs a stage with a signal that a cancel or the redaction's deadline aborts. A cancelled
   * stage answers `onCancel()`. A stage past its deadline, or failing in a way every worker
   * would, fails the redaction at once (no retry); other errors are BullMQ's to retry.
   */
  async function guarded<T>(w: Work, stage: (signal: AbortSignal) => Promise<T>, onCancel: () => T): Promise<T> {
    const controller = new AbortController();
    const mine = running.get(w.redactionId) ?? new Set();
    running.set(w.redactionId, mine.add(controller));
    const deadline = AbortSignal.timeout(Math.max(1, w.deadlineAt - Date.now()));
    try {
      return await stage(AbortSignal.any([controller.signal, deadline]));
    } catch (err) {
      if (controller.signal.aborted) return onCancel();
      const error = failureOf(err, deadline.aborted, w.limitMs);
      if (deadline.aborted || FAILS_EVERYWHERE.has(error.code)) {
        await failRedaction(w, error);
        throw new UnrecoverableError(`${error.code}: ${error.message}`);
      }
      throw err;
    } finally {
      mine.delete(controller);
      if (mine.size === 0) running.delete(w.redactionId);
    }
  }

  const sourceOf = async (w: Work) => {
    const result = await jobs.readResult(w.jobId);
    if (!result) throw new FramewatchError('JOB_NOT_FINISHED', `job '${w.jobId}' has no result to redact`);
    const path = jobs.videoPath(w.jobId);
    return { result, path, info: await probeVideo(path) };
  };

  /** Runs one detect part: a pass's model over its range of samples. */
  async function detectPart(d: z.infer<typeof detectSchema>, signal: AbortSignal): Promise<DetectResult> {
    const started = performance.now();
    const { path, info } = await sourceOf(d);
    const model = repository.resolve(d.model);
    const { frames } = await inferFrames(model, path, info, d.range, {
      signal, onProgress: (done) => void commands.hset(progressKey(d), `detect:${d.index}`, done).catch(() => undefined),
    });
    await commands.hset(progressKey(d), `detect:${d.index}`, frames.length).catch(() => undefined);
    return { model: { name: model.name, version: model.version }, firstIndex: d.range.firstIndex, frames, detectS: (performance.now() - started) / 1000, worker: WORKER_ID, skipped: false };
  }

  /** Tracks the detect parts' detections, follows the drawn boxes; writes the targets; hands the encode parts to the workers. */
  async function plan(w: Work, detected: readonly DetectResult[], signal: AbortSignal): Promise<void> {
    const { result, path, info } = await sourceOf(w);
    const report = progressWriter(w);
    const trackStart = performance.now();
    const added = await addedBoxTargets(w.request, path, info, { signal, onBox: (done) => report(stageProgress('track', done, w.request.boxes.length)) });
    const boxesTrackS = (performance.now() - trackStart) / 1000;
    const planned = plannedPasses(w.request, result, repository);
    const found = passesFrom(planned, detected);
    const { targets, tracks } = redactionTargets(result, w.request, found, added);
    const passed = passAudits(planned, found);
    const audit: AuditPlan = { tracks, faces: passed.faces, text: passed.text, detectS: passed.detectS, trackS: passed.trackS + boxesTrackS };
    await writeFileAtomic(planPath(w), JSON.stringify({ targets, audit }));
    const fps = redactionFps(info);
    const parts = redactionParts(w.spans, fps, Math.max(1, Math.round(options.chunkSeconds * fps)), Math.round(info.durationS * fps));
    await setProgress(w, stageProgress('encode', 0, framesToEncode(result.video, w.spans)));
    // Ids from the redaction's: a plan that runs again (its worker died) adds nothing twice.
    await flow.add({
      name: 'assemble', queueName: REDACTION_QUEUE, data: { ...w, encodeStartedAt: Date.now() }, opts: { jobId: `${w.redactionId}-assemble`, ...keep },
      children: parts.map((part, index) => ({
        name: 'part', queueName: REDACTION_PART_QUEUE, data: { ...w, index, ...part },
        opts: { jobId: `${w.redactionId}-part-${index}`, failParentOnFailure: true, ...keep, ...PART_ATTEMPTS },
      })),
    });
  }

  /** Encodes one part's frames with the plan's masks. */
  async function encodePart(p: z.infer<typeof partSchema>, signal: AbortSignal): Promise<PartResult> {
    const started = performance.now();
    const { path, info } = await sourceOf(p);
    const { targets } = planFileSchema.parse(JSON.parse(await readFile(planPath(p), 'utf8')));
    const fps = redactionFps(info);
    const dir = partsDir(p);
    await mkdir(dir, { recursive: true });
    const partial = join(dir, `${p.index}.partial.mp4`);
    const frames = p.span.frames ?? Math.round(info.durationS * fps);
    const encoded = await redactVideo(path, info, maskPlan(targets, p.request, info), {
      style: p.request.style, audio: false, spans: [p.span], maxBytes: outputByteLimit(info, frames, fps, limits), signal,
      onProgress: (done) => void commands.hset(progressKey(p), `part:${p.index}`, done).catch(() => undefined),
    }, partial);
    await rename(partial, join(dir, `${p.index}.mp4`));
    await commands.hset(progressKey(p), `part:${p.index}`, encoded.framesDecoded).catch(() => undefined);
    return { index: p.index, spanIndex: p.spanIndex, frames: encoded.framesDecoded, framesMasked: encoded.framesMasked, masks: encoded.masks, worker: WORKER_ID, encodeS: (performance.now() - started) / 1000, skipped: false };
  }

  /** Joins the parts, adds the audio, and ends the redaction succeeded, unless it already ended. */
  async function assemble(a: z.infer<typeof assemblySchema>, parts: readonly PartResult[], signal: AbortSignal): Promise<void> {
    const { result, path, info } = await sourceOf(a);
    const { audit: planned } = planFileSchema.parse(JSON.parse(await readFile(planPath(a), 'utf8')));
    const fps = redactionFps(info);
    const frames = joinedFrames(parts, a.spans, fps);
    const dir = dirOf(a);
    const partial = join(dir, 'video.partial.mp4');
    const maxBytes = outputByteLimit(info, frames.framesDecoded, fps, limits);
    await joinRedactedParts(partsDir(a), parts.map((p) => `${p.index}.mp4`), path, info, { audio: a.request.audio, spans: a.spans, maxBytes, signal, frames: frames.framesDecoded }, partial);
    const record = await files.read(a.jobId, a.redactionId);
    if (!record) throw new FramewatchError('REDACTION_NOT_FOUND', `redaction '${a.redactionId}' has no record`);
    const workers = parts.map((p) => ({ index: p.index, worker: p.worker, frames: p.frames, encodeS: Math.round(p.encodeS * 1000) / 1000 }));
    const audit = await auditOf(record, result, a.request, planned, frames, (Date.now() - a.encodeStartedAt) / 1000, { path: partial, audio: a.request.audio && info.hasAudio }, workers);
    await writeFileAtomic(join(dir, 'audit.json'), JSON.stringify(audit, null, 2));
    if (!(await claimFinal(a, 'succeeded', true))) {
      await Promise.all([rm(partial, { force: true }), rm(join(dir, 'audit.json'), { force: true })]);
      return;
    }
    await rename(partial, join(dir, 'video.mp4'));
    await rename(planPath(a), join(dir, TARGETS_FILE)); // the targets stay, for the redaction's pictures
    await saveFinal(a, { status: 'succeeded', audit, progress: stageProgress('encode', frames.framesDecoded, frames.framesDecoded) });
  }

  const workers: Worker[] = [];
  if (options.work) {
    const settings = { lockDuration: options.lockMs, stalledInterval: options.stalledIntervalMs, maxStalledCount: options.maxStalled, autorun: false };
    const stages = new Worker(REDACTION_QUEUE, async (job: Job) => {
      if (job.name === 'assemble') {
        const a = assemblySchema.parse(job.data);
        const parts = Object.values(await job.getChildrenValues()).map((v) => partResultSchema.parse(v)).sort((x, y) => x.index - y.index);
        try {
          if (parts.some((p) => p.skipped) || (await isFinal(a))) return;
          await guarded(a, (signal) => assemble(a, parts, signal), () => undefined);
        } finally {
          await Promise.all([rm(partsDir(a), { recursive: true, force: true }), rm(planPath(a), { force: true })]);
        }
        return;
      }
      const w = workSchema.parse(job.data);
      const detected = Object.values(await job.getChildrenValues()).map((v) => detectResultSchema.parse(v));
      if (detected.some((d) => d.skipped) || (await isFinal(w))) return;
      await guarded(w, (signal) => plan(w, detected, signal), () => undefined);
    }, { connection: connect(true), concurrency: 1, ...settings });
    // A plan or an assembly that fails ends the redaction failed (neither is retried).
    stages.on('failed', (job, err) => {
      const w = workSchema.safeParse(job?.data);
      if (w.success) void failRedaction(w.data, failureOf(err, false, w.data.limitMs));
    });
    const partWorker = new Worker(REDACTION_PART_QUEUE, async (job: Job) => {
      if (job.name === 'detect') {
        const d = detectSchema.parse(job.data);
        if (await isFinal(d)) return skippedDetect(d);
        return guarded(d, (signal) => detectPart(d, signal), () => skippedDetect(d));
      }
      const p = partSchema.parse(job.data);
      if (await isFinal(p)) return skippedPart(p);
      return guarded(p, (signal) => encodePart(p, signal), () => skippedPart(p));
    }, { connection: connect(true), concurrency: options.chunkConcurrency, ...settings });
    // A part out of attempts fails its parent with it (failParentOnFailure): the redaction fails.
    partWorker.on('failed', async (job, err) => {
      const w = workSchema.safeParse(job?.data);
      if (!w.success || (await job!.getState().catch(() => 'unknown')) !== 'failed') return;
      const what = job!.name === 'detect' ? 'a detect part of the redaction could not be run' : 'a part of the redaction could not be encoded';
      await failRedaction(w.data, { code: 'INTERRUPTED', message: `${what}: ${err.message}` });
    });
    workers.push(stages, partWorker);
    for (const w of workers) w.on('error', () => undefined);
    void options.modelsReady.then(() => workers.forEach((w) => void w.run().catch(() => undefined)));
  }

  return {
    async launch({ record, result, request, spans, planned, limitMs }) {
      const work: Work = { jobId: record.jobId, redactionId: record.redactionId, request, spans: [...spans], limitMs, deadlineAt: Date.parse(record.createdAt) + limitMs };
      const detect = planned.flatMap((p) => pictureChunks(result.video, { fps: p.fps, startS: 0 }, options.chunkSeconds).map((range) => ({ model: p.kind.model, range })));
      try {
        await flow.add({
          name: 'plan', queueName: REDACTION_QUEUE, data: work, opts: { jobId: `${record.redactionId}-plan`, ...keep },
          children: detect.map((d, index) => ({
            name: 'detect', queueName: REDACTION_PART_QUEUE, data: { ...work, index, ...d },
            opts: { jobId: `${record.redactionId}-detect-${index}`, failParentOnFailure: true, ...keep, ...PART_ATTEMPTS },
          })),
        });
      } catch {
        throw new FramewatchError('QUEUE_UNAVAILABLE', 'the redaction queue (Redis) is unreachable; retry shortly', { retryAfterS: 5 });
      }
    },
    async live(record) {
      if (record.status !== 'running') return record;
      const fields = await commands.hgetall(progressKey(record)).catch(() => ({}) as Record<string, string>);
      if (Object.keys(fields).length === 0) return record;
      // The detect parts add their samples; the plan then sets the stage (track, encode) and its total; the encode parts add their frames.
      const stage = (fields.stage ?? record.progress.stage ?? 'encode') as 'detect' | 'track' | 'encode';
      const total = fields.stage ? Number(fields.framesTotal) : record.progress.framesTotal;
      const sum = (prefix: string) => Object.entries(fields).filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + Number(v), 0);
      const framesDone = stage === 'encode' ? sum('part:') : stage === 'detect' ? sum('detect:') : Number(fields.framesDone);
      return { ...record, progress: stageProgress(stage, framesDone, total) };
    },
    async cancel(record) {
      if (!(await claimFinal(record, 'cancelled'))) return;
      await saveFinal(record, { status: 'cancelled' });
      // Every worker stops this redaction's running stages; the assembly removes what they wrote.
      await commands.publish(redisKeys.redactionCancel, record.redactionId);
    },
    async close() {
      // A running stage finishes, or is handed back once its lock lapses; each step is bounded, then the connections end.
      const bounded = (work: Promise<unknown>) => Promise.race([work, new Promise((r) => setTimeout(r, CLOSE_STEP_MS))]);
      await bounded(Promise.all(workers.map((w) => w.close())));
      await bounded(Promise.all([flow.close(), stagesQueue.close()]));
      for (const connection of connections) connection.disconnect();
    },
  };
}
