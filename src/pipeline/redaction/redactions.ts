import { randomUUID } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FramewatchError } from '../../errors/index.js';
import type { Logger } from '../../logging/logger.js';
import { redactionFps, WHOLE_VIDEO } from '../../media/redact.js';
import type { ModelRepository } from '../../registry/index.js';
import type { RedactionRecord, RedactionRequest } from '../../shared/redaction.js';
import type { JobQueue } from '../jobs/queue.js';
import { redactionTimeLimitMs, type RedactionLimits } from './limits.js';
import { createLocalRunner } from './local-run.js';
import { passSamples, plannedPasses } from './passes.js';
import { framesToEncode, redactionFiles, stageProgress } from './records.js';
import { createSharedRunner, type SharedRedactionOptions } from './shared-run.js';
import { confirmedSpans } from './spans.js';
import type { AsRedacted } from './stills.js';

// Redactions of finished jobs: each runs in the background from the job's kept video and the
// tracks in its result, into the job's own files (records.ts): in this process in the
// embedded mode (local-run.ts), in chunks on the workers in the shared one (shared-run.ts).
// Persons and text need no inference; faces (and text a job does not hold) are found by the
// redaction's own detect passes (passes.ts). The output is the whole video or its confirmed
// segments (spans.ts), bounded in bytes and in wall time (limits.ts). A cancelled or failed
// one leaves no video behind.

export function createRedactions(jobs: JobQueue, repository: Pick<ModelRepository, 'resolve'>, logger: Logger, limits: RedactionLimits, shared?: SharedRedactionOptions) {
  const files = redactionFiles(jobs);
  const runner = shared ? createSharedRunner(jobs, repository, files, logger, limits, shared) : createLocalRunner(jobs, files, logger, limits);
  const assertJob = async (jobId: string) => {
    if (!(await jobs.get(jobId).catch(() => undefined))) throw new FramewatchError('JOB_NOT_FOUND', `no job '${jobId}'`);
  };
  const readRecord = async (jobId: string, redactionId: string) => {
    const record = await files.read(jobId, redactionId);
    if (!record) throw new FramewatchError('REDACTION_NOT_FOUND', `job '${jobId}' has no redaction '${redactionId}'`);
    return runner.live(record);
  };

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
      const progress = planned.length ? stageProgress('detect', 0, passSamples(planned, result.video.durationS)) : stageProgress('encode', 0, framesToEncode(result.video, spans));
      const record: RedactionRecord = { redactionId: randomUUID(), jobId, status: 'running', createdAt: now, updatedAt: now, progress };
      await mkdir(files.dirOf(jobId, record.redactionId), { recursive: true });
      await files.save(record);
      await runner.launch({ record, result, request, planned, spans, limitMs: redactionTimeLimitMs(result.video.durationS, limits) }).catch(async (err) => {
        await rm(files.dirOf(jobId, record.redactionId), { recursive: true, force: true });
        throw err;
      });
      return record;
    },
    async get(jobId: string, redactionId: string): Promise<RedactionRecord> {
      await assertJob(jobId);
      return readRecord(jobId, redactionId);
    },
    /** The job's redactions, newest first (how the page finds its last one after a reload). */
    async list(jobId: string): Promise<RedactionRecord[]> {
      await assertJob(jobId);
      // A folder whose record is not written yet (or not readable) is left out, not an error.
      const records = await Promise.all((await files.ids(jobId)).map((id) => readRecord(jobId, id).catch(() => undefined)));
      return records.filter((r) => r !== undefined).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    },
    /** Stops a running redaction (its video is removed); a finished one is answered as it is. */
    async cancel(jobId: string, redactionId: string): Promise<RedactionRecord> {
      const record = await this.get(jobId, redactionId);
      if (record.status === 'running') await runner.cancel(record);
      return this.get(jobId, redactionId);
    },
    /** What a succeeded redaction masked, for the job's pictures (`redaction=<id>`): 409 while it runs or if it did not succeed. */
    async asRedacted(jobId: string, redactionId: string): Promise<AsRedacted> {
      const record = await this.get(jobId, redactionId);
      if (record.status !== 'succeeded' || !record.audit) throw new FramewatchError('JOB_NOT_FINISHED', `redaction '${redactionId}' is ${record.status}: it has no masks to show`);
      const masked = await files.targets(jobId, redactionId);
      if (!masked) throw new FramewatchError('REDACTION_NOT_FOUND', `redaction '${redactionId}' was made before its targets were kept; redact again to mask pictures as it does`);
      const { leadS, holdS, margin, style } = record.audit.settings;
      return { redactionId, masked, timing: { leadS, holdS, margin }, style };
    },
    /** Where a finished redaction's files are. */
    fileOf: (jobId: string, redactionId: string, name: 'video.mp4' | 'audit.json') => join(files.dirOf(jobId, redactionId), name),
    /** Stops every redaction running here (shutdown; in the shared mode, this process's chunks are handed back). */
    close: () => runner.close(),
  };
}
export type Redactions = ReturnType<typeof createRedactions>;
