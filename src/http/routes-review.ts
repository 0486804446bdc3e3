import express, { Router } from 'express';
import { pack as tarPack } from 'tar-stream';
import { z } from 'zod';
import { FramewatchError } from '../errors/index.js';
import { metrics } from '../metrics/index.js';
import { mapPool, succeededWhere, type JobQueue, type SucceededFilter } from '../pipeline/index.js';
import {
  activityInputSchema, decisionInputSchema, missedInputSchema, reviewReport, summarizeReviews, versionQuality, type ReviewReport,
} from '../review/index.js';
import { datasetName, writeDataset } from '../datasets/index.js';
import type { VersionEntry } from '../registry/index.js';
import type { AppDeps } from './deps.js';
import { parseInput, redactQueryFields, stillRedaction, validateModelName, versionParamSchema, withFaceModel } from './params.js';
import { requireToken } from './security.js';

/** A succeeded job's result, or JOB_NOT_FOUND / JOB_NOT_FINISHED. */
async function reviewable(jobs: JobQueue, jobId: string) {
  const record = await jobs.get(jobId).catch(() => undefined);
  if (!record) throw new FramewatchError('JOB_NOT_FOUND', `no job '${jobId}'`);
  const result = record.status === 'succeeded' ? await jobs.readResult(jobId) : undefined;
  if (!result) throw new FramewatchError('JOB_NOT_FINISHED', `job '${jobId}' is ${record.status}: only a succeeded job has segments to review`);
  return { record, result };
}

async function reportOf(jobs: JobQueue, jobId: string): Promise<ReviewReport> {
  const { record, result } = await reviewable(jobs, jobId);
  return reviewReport(jobId, record.createdAt, result, await jobs.reviews.read(jobId));
}

/** Every succeeded job's review, filtered by model, version and creation time. */
async function reportsWhere(jobs: JobQueue, f: SucceededFilter): Promise<ReviewReport[]> {
  const records = succeededWhere(await jobs.list(), f);
  // A few at a time: each reads a result file.
  const reports = await mapPool(records, 8, (r) => reportOf(jobs, r.jobId).catch(() => undefined));
  return reports.filter((r): r is ReviewReport => r !== undefined);
}

const summaryQuery = z.strictObject({
  model: z.string().optional(),
  version: z.coerce.number().int().positive().optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});

const exportQuery = z.strictObject({
  model: z.string().min(1),
  version: z.coerce.number().int().positive().optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  format: z.enum(['coco', 'yolo']).default('coco'),
  ...redactQueryFields,
});

/**
 * The reviewer's side: decisions on segments, missed ranges, active review time, and what
 * they add up to per job, over many jobs, and per model version against its expectations.
 */
export function createReviewRoutes({ jobs, repository, config }: AppDeps): Router {
  const router = Router();
  const json = express.json({ limit: '16kb' });
  // Reviews are about predictions: the same token as predict guards them.
  const token = requireToken(config.apiToken, 'predict');
  router.param('name', validateModelName);

  /**
   * A model's version entry: the one named, or the newest when none is; among those `usable`
   * accepts. MODEL_NOT_FOUND for an unknown name, VERSION_NOT_FOUND for a missing version.
   */
  const versionEntry = (name: string, version?: number, usable: (e: VersionEntry) => boolean = () => true): VersionEntry => {
    const entry = repository.list().filter((e) => e.name === name && usable(e) && (version === undefined || e.version === version)).sort((a, b) => b.version - a.version)[0];
    if (entry) return entry;
    repository.resolve(name); // MODEL_NOT_FOUND when the name is unknown
    throw new FramewatchError('VERSION_NOT_FOUND', version === undefined ? `model '${name}' has no version` : `model '${name}' has no version ${version}`);
  };

  /** Runs a change and records what it did to the job's review in the metrics. */
  const change = async (jobId: string, apply: (before: ReviewReport) => Promise<unknown>) => {
    // The job and its result are read once; only the review state is read again after the change.
    const { record, result } = await reviewable(jobs, jobId);
    const before = reviewReport(jobId, record.createdAt, result, await jobs.reviews.read(jobId));
    const value = await apply(before);
    const after = reviewReport(jobId, record.createdAt, result, await jobs.reviews.read(jobId));
    const labels = { model: after.model.name, version: String(after.model.version) };
    if (after.status === 'reviewed' && before.status !== 'reviewed' && after.timeSaved !== null) metrics.reviewTimeSaved.observe(labels, after.timeSaved);
    return { value, report: after };
  };

  router.get('/v1/jobs/:id/review', token, async (req, res) => void res.json(await reportOf(jobs, id(req))));

  router.put('/v1/jobs/:id/segments/:n/decision', token, json, async (req, res) => {
    const input = parseInput(decisionInputSchema, req.body);
    const { report } = await change(id(req), async (before) => {
      const n = segmentNumber(param(req, 'n'), before.counts.segments, id(req));
      await jobs.reviews.decide(id(req), n, { ...input, decidedAt: new Date().toISOString() });
      metrics.reviewDecisions.inc({ model: before.model.name, version: String(before.model.version), decision: input.decision });
    });
    res.json(report);
  });

  router.delete('/v1/jobs/:id/segments/:n/decision', token, async (req, res) => {
    const { report } = await change(id(req), async (before) => jobs.reviews.decide(id(req), segmentNumber(param(req, 'n'), before.counts.segments, id(req)), undefined));
    res.json(report);
  });

  router.post('/v1/jobs/:id/missed', token, json, async (req, res) => {
    const input = parseInput(missedInputSchema, req.body);
    const { value, report } = await change(id(req), async (before) => {
      if (input.endS > before.videoS + 0.001) throw new FramewatchError('INVALID_INPUT', `'endS' ${input.endS} is past the end of the video (${before.videoS} s)`);
      return jobs.reviews.addMissed(id(req), { ...input, markedAt: new Date().toISOString() });
    });
    res.status(201).json({ missed: value, review: report });
  });

  router.delete('/v1/jobs/:id/missed/:m', token, async (req, res) => {
    const { value: removed, report } = await change(id(req), () => jobs.reviews.removeMissed(id(req), Number(param(req, 'm'))));
    if (!removed) throw new FramewatchError('NOT_FOUND', `job '${id(req)}' has no missed range ${param(req, 'm')}`);
    res.json(report);
  });

  router.post('/v1/jobs/:id/review/activity', token, json, async (req, res) => {
    const input = parseInput(activityInputSchema, req.body);
    const { report } = await change(id(req), () => jobs.reviews.addActivity(id(req), input.activeMs));
    res.json(report);
  });

  router.get('/v1/review/summary', token, async (req, res) => {
    const q = parseInput(summaryQuery, req.query);
    res.json({ filter: q, ...summarizeReviews(await reportsWhere(jobs, q)) });
  });

  // A dataset for the next version, streamed as a tar while its frames are cut.
  router.get('/v1/datasets/export', token, async (req, res) => {
    const q = parseInput(exportQuery, req.query);
    const asked = stillRedaction(q);
    const manifest = versionEntry(q.model, q.version, (e) => e.manifest !== undefined).manifest!;
    // Resolved before the tar starts, so a face model that is not served is this request's 404/503.
    const redact = withFaceModel(asked, repository);
    // One time for the download's name and the dataset's own (they must not straddle midnight).
    const createdAt = new Date().toISOString();
    const name = datasetName(manifest.project, q, createdAt.slice(0, 10));
    const pack = tarPack();
    res.type('application/x-tar').attachment(`${name}.tar`);
    pack.pipe(res);
    const stop = () => pack.destroy();
    res.on('close', stop);
    try {
      await writeDataset(jobs, q, q.format, { project: manifest.project, labels: manifest.labels }, pack, createdAt, redact);
      pack.finalize();
    } catch (err) {
      // The headers are gone: end the download broken rather than as a valid, partial tar.
      res.locals.logger?.error?.('dataset export failed', { error: String(err) });
      res.destroy(err as Error);
    } finally {
      res.off('close', stop);
    }
  });

  router.get('/v1/models/:name/versions/:version/quality', token, async (req, res) => {
    const version = parseInput(versionParamSchema, req.params.version);
    const entry = versionEntry(param(req, 'name'), version);
    res.json({ model: entry.name, version, ...versionQuality(await reportsWhere(jobs, { model: entry.name, version }), entry.manifest?.expected) });
  });
  return router;
}

const param = (req: express.Request, name: string): string => String(req.params[name]);
const id = (req: express.Request): string => param(req, 'id');

function segmentNumber(text: string, count: number, jobId: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n >= count) throw new FramewatchError('SEGMENT_NOT_FOUND', `job '${jobId}' has no segment ${text} (it has ${count})`);
  return n;
}
