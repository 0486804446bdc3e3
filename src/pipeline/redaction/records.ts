import { readdir, readFile } from 'node:fs/promises';
import { z } from 'zod';
import { join } from 'node:path';
import { FramewatchError, isFramewatchError } from '../../errors/index.js';
import { redactionFps, type SourceSpan } from '../../media/redact.js';
import { writeFileAtomic } from '../../registry/atomic.js';
import type { JobResult } from '../../shared/job-result.js';
import { trajectoryPointSchema } from '../../shared/job-result.js';
import { redactionRecordSchema, type RedactionRecord, type RedactionRequest } from '../../shared/redaction.js';
import type { JobQueue } from '../jobs/queue.js';
import { percentDone } from '../jobs/video-job.js';
import type { PlannedPass } from './passes.js';
import type { RedactionTarget } from './plan.js';

// Where a redaction's record and files live: redactions/<id>/{record.json, video.mp4,
// audit.json} in its job's files (the shared volume in the shared mode), and the record's
// progress and failure as the runners write them.

const REDACTION_ID_RE = /^[0-9a-f-]{36}$/;

/** One masked target as a redaction keeps it (targets.json, and the shared mode's plan.json). */
export const redactionTargetSchema = z.object({
  trackId: z.number().int(), label: z.string(),
  trajectory: z.array(trajectoryPointSchema),
  minMarginPx: z.number().optional(), minMarginShare: z.object({ x: z.number(), y: z.number() }).optional(),
});
/** targets.json beside a succeeded redaction's video: every target it masked, so its pictures can be masked the same way. */
const targetsFileSchema = z.object({ targets: z.array(redactionTargetSchema) });
export const TARGETS_FILE = 'targets.json';

export function redactionFiles(jobs: Pick<JobQueue, 'filesDir'>) {
  const dirOf = (jobId: string, redactionId: string) => {
    if (!REDACTION_ID_RE.test(redactionId)) throw new FramewatchError('REDACTION_NOT_FOUND', `job '${jobId}' has no redaction '${redactionId}'`);
    return join(jobs.filesDir(jobId), 'redactions', redactionId);
  };
  return {
    dirOf,
    save: (record: RedactionRecord) => writeFileAtomic(join(dirOf(record.jobId, record.redactionId), 'record.json'), JSON.stringify(record)),
    /** The record as saved; undefined when there is none (or it is not readable yet). */
    async read(jobId: string, redactionId: string): Promise<RedactionRecord | undefined> {
      const text = await readFile(join(dirOf(jobId, redactionId), 'record.json'), 'utf8').catch(() => undefined);
      return text ? redactionRecordSchema.parse(JSON.parse(text)) : undefined;
    },
    /** The targets a succeeded redaction masked (undefined for one made before they were kept). */
    async targets(jobId: string, redactionId: string): Promise<RedactionTarget[] | undefined> {
      const text = await readFile(join(dirOf(jobId, redactionId), TARGETS_FILE), 'utf8').catch(() => undefined);
      return text ? targetsFileSchema.parse(JSON.parse(text)).targets : undefined;
    },
    /** The ids of the job's redactions. */
    async ids(jobId: string): Promise<string[]> {
      return (await readdir(join(jobs.filesDir(jobId), 'redactions')).catch(() => [] as string[])).filter((id) => REDACTION_ID_RE.test(id));
    },
  };
}
export type RedactionFiles = ReturnType<typeof redactionFiles>;

/** A record's progress through one stage. */
export const stageProgress = (stage: RedactionRecord['progress']['stage'] & string, framesDone: number, framesTotal: number): RedactionRecord['progress'] => ({
  stage, framesDone, framesTotal, percent: percentDone(framesDone, framesTotal),
});

/** The encode stage's total: the spans' frames, or for the whole video, from the job's description of it (the redaction decodes at its rate). */
export const framesToEncode = (video: Pick<JobResult['video'], 'durationS' | 'fps'>, spans: readonly SourceSpan[]) =>
  spans.reduce((n, s) => n + (s.frames ?? Math.round(video.durationS * redactionFps(video))), 0);

/** A failed redaction's error: the time limit's once it has passed (whatever stopped on it), else the error's own. */
export function failureOf(err: unknown, timedOut: boolean, limitMs: number): { code: string; message: string } {
  if (timedOut) return { code: 'REDACTION_TIMEOUT', message: `the redaction ran past its time limit of ${limitMs / 1000} s and was stopped` };
  return isFramewatchError(err) ? { code: err.code, message: err.message } : { code: 'INTERNAL', message: (err as Error).message };
}

/** One redaction to run, as `start` accepted it: the record is saved (running). */
export interface RedactionWork {
  record: RedactionRecord;
  result: JobResult;
  request: RedactionRequest;
  /** The output's parts of the source: the whole video, or the confirmed segments' frames. */
  spans: readonly SourceSpan[];
  /** The passes it runs, their models resolved where it was asked (a model not served is a 404/503 there). */
  planned: readonly PlannedPass[];
  limitMs: number;
}

/** Where redactions run: in this process (embedded), or in chunks on the workers (shared). */
export interface RedactionRunner {
  /** Runs it in the background; its record is saved when it ends. */
  launch(work: RedactionWork): Promise<void>;
  /** The record with a running redaction's progress where it is kept apart from it (shared mode: in Redis). */
  live(record: RedactionRecord): Promise<RedactionRecord>;
  /** Stops a running redaction; its record says cancelled once this resolves, and no video is left. */
  cancel(record: RedactionRecord): Promise<void>;
  close(): Promise<void>;
}
