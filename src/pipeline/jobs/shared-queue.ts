import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { FlowProducer, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { FramewatchError } from '../../errors/index.js';
import type { Logger } from '../../logging/logger.js';
import { metrics } from '../../metrics/index.js';
import type { ModelRepository } from '../../registry/index.js';
import { assertBacklogRoom, isFinal, toJobError, type BacklogLimits, type JobQueue } from './queue.js';
import { chunkPayloadSchema, chunkResultSchema, videoJobSpecSchema, WORKER_ID, type ChunkResult, type VideoJobSpec } from './spec.js';
import { assertUploadPath } from './upload-path.js';
import type { JobRecord, JobStore } from './store.js';
import { chunkPayloads, newJobRecord, runChunk } from './video-job.js';
import { CANCELLED, createJobLifecycle, throttled } from './lifecycle.js';
import { CHUNK_QUEUE, redisKeys, VIDEO_QUEUE } from './redis/keys.js';
import { createRedisJobRecords } from './redis/records.js';
import { createRedisReviewStore } from './redis/review-store.js';

export { CHUNK_QUEUE, VIDEO_QUEUE } from './redis/keys.js';
const UNAVAILABLE_RETRY_AFTER_S = 5;
/** Errors a chunk meets on any worker, every time: its job fails at once instead of retrying. */
const FAILS_EVERYWHERE = new Set(['INVALID_MEDIA', 'NO_VIDEO_STREAM', 'INVALID_INPUT', 'UNSUPPORTED_MEDIA_TYPE', 'IMAGE_TOO_LARGE']);
/** Attempts of a chunk that fails for another reason, one second apart and doubling. */
const CHUNK_ATTEMPTS = { attempts: 3, backoff: { type: 'exponential' as const, delay: 1000 } };
const WAIT_POLL_MS = 250;
/** A sync request waiting on a job gives up with QUEUE_UNAVAILABLE after Redis has been unreachable this long. */
export const WAIT_OUTAGE_MS = 5_000;
/** The longest close() waits for each BullMQ shutdown step after the drain. */
const CLOSE_STEP_MS = 5_000;

/** True when `work` settles within `ms`; false when the wait ran out (the work goes on). */
const within = (work: Promise<unknown>, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    work.then(
      () => resolve(true),
      () => resolve(true),
    ).finally(() => clearTimeout(timer));
  });

export interface SharedQueueOptions {
  redisUrl: string;
  /** Results and thumbnails (a shared ReadWriteMany volume); records live in Redis. */
  store: JobStore;
  repository: ModelRepository;
  /** 'api' only enqueues; 'worker' and 'all' also run chunks and parents. */
  work: boolean;
  /** A succeeded job keeps its video (FRAMEWATCH_KEEP_VIDEOS). */
  keepVideos?: boolean;
  chunkSeconds: number;
  chunkConcurrency: number;
  backlog: BacklogLimits;
  lockMs: number;
  stalledIntervalMs: number;
  maxStalled: number;
  ttlHours: number;
  /** On close, a running chunk gets this long to finish before it is handed back. */
  drainTimeoutMs: number;
  /** Workers take chunks only once this resolves (the models are loaded). */
  modelsReady: Promise<unknown>;
  logger: Logger;
}

const emptyTimings = { decodeMs: 0, preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 };
/** The result of a chunk whose job ended before it ran (cancelled or failed). */
const skippedChunk = (index: number): ChunkResult => ({ index, frames: [], timings: emptyTimings, framesInferred: 0, worker: WORKER_ID });

/**
 * Shared mode: video jobs on BullMQ over Redis. A job is a BullMQ flow: a parent on
 * framewatch-videos and one child per time chunk on framewatch-chunks. Any worker takes
 * chunks; the parent runs once every chunk has returned, merges them, builds tracks,
 * segments and thumbnails, and writes the result to the JobStore.
 *
 * What it relies on: BullMQ's locks and stalled-job recovery (a chunk whose worker dies is
 * handed to another, at least once), and Redis's own persistence for the queue and records.
 * Chunk processing is idempotent: a chunk run twice returns the same detections, its
 * progress is a field that is overwritten, and the parent's result and thumbnails are
 * written whole, atomically.
 */
export async function createSharedQueue(options: SharedQueueOptions): Promise<JobQueue> {
  const { repository, store, logger } = options;
  const ttlS = Math.round(options.ttlHours * 3600);
  // Commands fail at once while Redis is away (no offline queue): submissions answer
  // QUEUE_UNAVAILABLE instead of hanging. Workers get their own blocking connections.
  const retryStrategy = (n: number) => Math.min(n * 250, 2000);
  /** Every connection made here, so close() can end them even where BullMQ's close does not return. */
  const connections: Redis[] = [];
  const connect = (settings: RedisOptions) => {
    const connection = new Redis(options.redisUrl, { ...settings, retryStrategy });
    connections.push(connection);
    return connection;
  };
  const workerConnection = () => connect({ maxRetriesPerRequest: null });
  const producerConnection = () => connect({ maxRetriesPerRequest: 1, enableOfflineQueue: false });
  let lastRedisError = '';
  const noteError = (err: Error) => (lastRedisError = err.message);
  const commands = producerConnection();
  commands.on('error', noteError);
  const flow = new FlowProducer({ connection: producerConnection() });
  const chunkQueue = new Queue(CHUNK_QUEUE, { connection: producerConnection() });
  const videoQueue = new Queue(VIDEO_QUEUE, { connection: producerConnection() });
  flow.on('error', noteError);
  chunkQueue.on('error', noteError);
  videoQueue.on('error', noteError);
  const records = createRedisJobRecords(commands, ttlS);
  const lifecycle = createJobLifecycle({ records, store, repository, keepVideos: options.keepVideos ?? false, logger });

  const unavailable = () =>
    new FramewatchError('QUEUE_UNAVAILABLE', 'the video queue (Redis) is unreachable; retry shortly', { retryAfterS: UNAVAILABLE_RETRY_AFTER_S, reason: lastRedisError || commands.status });
  const requireRedis = () => {
    if (commands.status !== 'ready') throw unavailable();
  };

  /** The spec's upload path checked before anything reads or removes it; INVALID_INPUT never retries. */
  const checkUpload = async (spec: VideoJobSpec) => {
    try {
      await assertUploadPath(store.uploadDir, spec.path);
    } catch (err) {
      const error = toJobError(err);
      logger.error('a queued job names an upload outside the upload folder; refused', { jobId: spec.jobId, path: spec.path });
      await failJob(spec, error);
      throw new UnrecoverableError(`${error.code}: ${error.message}`);
    }
  };

  /** Fails a job once, whichever path sees it first, and removes its upload; never throws. */
  async function failJob(spec: VideoJobSpec, error: NonNullable<JobRecord['error']>): Promise<void> {
    try {
      await lifecycle.end(spec.jobId, spec.path, { status: 'failed', error });
    } catch (err) {
      logger.error('marking a failed job failed', { jobId: spec.jobId, error: (err as Error).message });
    }
  }

  // The backlog as last seen: the upload checks it synchronously, submit checks it again exactly.
  let backlogSeen = { jobs: 0, bytes: 0 };
  const readBacklog = async () => {
    const sizes = await commands.hvals(redisKeys.active);
    backlogSeen = { jobs: sizes.length, bytes: sizes.reduce((sum, b) => sum + Number(b), 0) };
    return backlogSeen;
  };

  const running = new Map<string, { jobId: string; controller: AbortController }>();
  // Queued until Redis answers, and resubscribed by ioredis after every reconnect. Not
  // awaited: a server started while Redis is away must still listen and serve images.
  const subscriber = commands.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
  subscriber.on('error', () => undefined);
  subscriber.subscribe(redisKeys.cancel).catch(noteError);
  subscriber.on('message', (_channel: string, jobId: string) => {
    for (const chunk of running.values()) if (chunk.jobId === jobId) chunk.controller.abort();
  });

  async function processChunk(job: Job): Promise<ChunkResult> {
    const payload = chunkPayloadSchema.parse(job.data);
    const { spec, index } = payload;
    await checkUpload(spec);
    // Listen for a cancel before reading the record, so none falls between the two.
    const controller = new AbortController();
    running.set(job.id!, { jobId: spec.jobId, controller });
    const progress = (framesDone: number) => records.writeChunkProgress(spec.jobId, index, framesDone, WORKER_ID);
    try {
      // A cancelled or failed job's remaining chunks do no work; the parent still cleans up.
      if (!(await lifecycle.start(spec.jobId)) || controller.signal.aborted) return skippedChunk(index);
      await progress(0);
      const result = await runChunk(repository, payload, {
        signal: controller.signal,
        logger,
        onProgress: throttled(progress, () => undefined),
      });
      await progress(result.frames.length);
      return result;
    } catch (err) {
      if (controller.signal.aborted) return skippedChunk(index);
      // Redis blips, a model reloading, a failed run: BullMQ retries the chunk (attempts).
      if (!(err instanceof FramewatchError && FAILS_EVERYWHERE.has(err.code))) throw err;
      // Bad media fails the same way on every worker: fail the job now, do not retry.
      const error = toJobError(err);
      logger.error('video chunk failed', { jobId: spec.jobId, chunk: index, code: error.code, error: (err as Error)?.stack ?? String(err) });
      await failJob(spec, error);
      throw new UnrecoverableError(`${error.code}: ${error.message}`);
    } finally {
      running.delete(job.id!);
    }
  }

  async function processParent(job: Job): Promise<void> {
    const spec = videoJobSpecSchema.parse(job.data.spec);
    await checkUpload(spec);
    const startedAt = performance.now();
    const record = await records.read(spec.jobId);
    if (record && !isFinal(record.status)) {
      const values = Object.values(await job.getChildrenValues()).map((v) => chunkResultSchema.parse(v));
      // totalMs counts from the submission: the chunks ran before this, on any worker.
      const chunks = (current: JobRecord) =>
        ({ chunks: [...values].sort((a, b) => a.index - b.index).map((c, i) => ({ ...current.chunks![i], framesDone: c.frames.length, worker: c.worker })) });
      await lifecycle.succeed(spec, values, startedAt - (Date.now() - Date.parse(record.createdAt)), chunks);
    } else {
      // The job ended before its parent ran (cancelled, or failed): the upload's last reader is gone.
      await commands.hdel(redisKeys.active, spec.jobId);
      await rm(spec.path, { force: true });
    }
  }

  const workers: Worker[] = [];
  if (options.work) {
    const settings = { lockDuration: options.lockMs, stalledInterval: options.stalledIntervalMs, maxStalledCount: options.maxStalled };
    const settingsOff = { ...settings, autorun: false };
    const chunkWorker = new Worker(CHUNK_QUEUE, processChunk, { connection: workerConnection(), concurrency: options.chunkConcurrency, ...settingsOff });
    // A chunk out of attempts, or stalled more than maxStalled times (its workers keep
    // dying), fails, and BullMQ fails the parent with it: the record must say so, and the
    // upload go. A failed attempt that BullMQ will retry is not the end.
    chunkWorker.on('failed', async (job, err) => {
      const payload = chunkPayloadSchema.safeParse(job?.data);
      if (!payload.success || (await job!.getState().catch(() => 'unknown')) !== 'failed') return;
      await failJob(payload.data.spec, { code: 'INTERRUPTED', message: `chunk ${payload.data.index} could not be finished: ${err.message}` });
    });
    chunkWorker.on('stalled', (jobId: string) => {
      metrics.chunksStalled.inc();
      logger.warn('a chunk stalled (its worker stopped renewing the lock); it is handed to another worker', { chunk: jobId });
    });
    const parentWorker = new Worker(VIDEO_QUEUE, processParent, { connection: workerConnection(), concurrency: 1, ...settingsOff });
    // Assembly that fails (a full disk, a thumbnail frame that will not decode) fails the job.
    parentWorker.on('failed', (job, err) => {
      const spec = videoJobSpecSchema.safeParse(job?.data?.spec);
      if (!spec.success) return;
      logger.error('video job assembly failed', { jobId: spec.data.jobId, error: err.message });
      void failJob(spec.data, err instanceof FramewatchError ? toJobError(err) : { code: 'INTERNAL', message: 'the job could not be assembled' });
    });
    workers.push(chunkWorker, parentWorker);
    for (const w of workers) w.on('error', noteError);
    // A worker that took a chunk before its models load would fail it with MODEL_NOT_READY.
    void options.modelsReady.then(() => workers.forEach((w) => void w.run().catch(noteError)));
  }

  const refreshGauges = async () => {
    if (commands.status !== 'ready') return;
    await readBacklog();
    for (const [queue, q] of [['chunks', chunkQueue], ['videos', videoQueue]] as const) {
      const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
      for (const [state, n] of Object.entries(counts)) metrics.jobs.set({ queue, state }, n);
    }
  };
  const gauges = setInterval(() => void refreshGauges().catch(() => undefined), 2000);
  gauges.unref();

  return {
    mode: 'shared',
    reviews: createRedisReviewStore(commands, ttlS),
    checkBacklog(bytes = 0) {
      requireRedis();
      assertBacklogRoom(options.backlog, backlogSeen, bytes);
    },
    async submit(request) {
      const spec: VideoJobSpec = { ...request, jobId: randomUUID() };
      try {
        requireRedis();
        assertBacklogRoom(options.backlog, await readBacklog(), spec.bytes);
        const chunks = chunkPayloads(spec, options.chunkSeconds);
        const record = newJobRecord(spec, chunks);
        await records.create(record, spec.bytes);
        const keep = { age: ttlS };
        await flow.add({
          name: 'video',
          queueName: VIDEO_QUEUE,
          data: { spec },
          opts: { jobId: spec.jobId, removeOnComplete: keep, removeOnFail: keep },
          children: chunks.map((chunk) => ({
            name: 'chunk',
            queueName: CHUNK_QUEUE,
            data: chunk,
            opts: { jobId: `${spec.jobId}-${chunk.index}`, failParentOnFailure: true, removeOnComplete: keep, removeOnFail: keep, ...CHUNK_ATTEMPTS },
          })),
        });
        return record;
      } catch (err) {
        await rm(spec.path, { force: true });
        if (err instanceof FramewatchError) throw err;
        await records.forget(spec.jobId).catch(() => undefined);
        throw unavailable();
      }
    },
    async get(jobId) {
      requireRedis();
      return records.read(jobId);
    },
    async list() {
      requireRedis();
      return records.list();
    },
    async wait(jobId) {
      // A blip is ridden out; an outage ends the wait, so the client hears 503 rather than the HTTP timeout.
      let reachedAt = Date.now();
      for (;;) {
        const record = await records.read(jobId).then(
          (r) => ((reachedAt = Date.now()), r ?? null),
          () => undefined,
        );
        if (record === null) throw new FramewatchError('JOB_NOT_FOUND', `no job '${jobId}'`);
        if (record && isFinal(record.status)) return record;
        if (record === undefined && Date.now() - reachedAt >= WAIT_OUTAGE_MS) throw unavailable();
        await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
      }
    },
    async cancel(jobId) {
      requireRedis();
      const record = await records.read(jobId);
      if (!record) throw new FramewatchError('JOB_NOT_FOUND', `no job '${jobId}'`);
      if (isFinal(record.status)) return record;
      const spec = videoJobSpecSchema.safeParse((await videoQueue.getJob(jobId))?.data?.spec);
      const final = await lifecycle.end(jobId, spec.success ? spec.data.path : undefined, CANCELLED);
      // Every worker stops its running chunks of this job; their ffmpeg is killed.
      await commands.publish(redisKeys.cancel, jobId);
      return final ?? record;
    },
    readResult: (jobId) => store.readResult(jobId),
    filesDir: (jobId) => store.filesDir(jobId),
    videoPath: (jobId) => store.videoPath(jobId),
    dashboardQueues: () => [chunkQueue, videoQueue],
    health: () => (commands.status === 'ready' ? { ready: true } : { ready: false, reason: `video queue: Redis is unreachable (${lastRedisError || commands.status})` }),
    async close() {
      clearInterval(gauges);
      // Workers stop taking chunks; a running one finishes within the drain timeout, or is
      // handed back (its lock lapses and another worker's stalled check picks it up).
      const drained = await within(Promise.all(workers.map((w) => w.close())), options.drainTimeoutMs);
      // BullMQ's close can wait forever on a connection that is reconnecting (after a Redis
      // restart: taskforcesh/bullmq#4656), so each step is bounded and the connections are
      // then ended here.
      const closed = (drained || (await within(Promise.all(workers.map((w) => w.close(true))), CLOSE_STEP_MS))) && (await within(Promise.all([flow.close(), chunkQueue.close(), videoQueue.close()]), CLOSE_STEP_MS));
      if (!closed) logger.warn('the video queue did not close in time; its Redis connections are ended', { afterMs: CLOSE_STEP_MS });
      subscriber.disconnect();
      for (const connection of connections) connection.disconnect();
    },
  };
}
