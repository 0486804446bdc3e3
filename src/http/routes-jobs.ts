import { Router } from 'express';
import { resolve } from 'node:path';
import { FramewatchError } from '../errors/index.js';
import { z } from 'zod';
import { sniffFile } from '../media/sniff.js';
import { succeededWhere } from '../pipeline/index.js';
import { frameThumbnail, segmentThumbnail, type CutPicture } from '../pipeline/frame-thumbnail.js';
import { foldTerms, textMatches } from '../shared/text-match.js';
import { CUE_KINDS, type CueKind } from '../shared/profile.js';
import { segmentsWebVtt } from '../shared/webvtt.js';
import { cueSpans } from '../pipeline/rules/cue-spans.js';
import { parseInput, pictureQuerySchema, stillRedaction, withFaceModel } from './params.js';
import type { StillRedaction } from '../pipeline/redaction/stills.js';
import type { JobQueue, JobResult } from '../pipeline/index.js';
import type { JobView, ServedResult } from '../shared/job-result.js';
import type { AppDeps } from './deps.js';
import { requireToken } from './security.js';

export const jobLinks = (jobId: string) => ({ self: `/v1/jobs/${jobId}` });

/** Where segment `n`'s thumbnail is served. */
const thumbnailUrl = (jobId: string, n: number) => `/v1/jobs/${jobId}/segments/${n}/thumbnail.jpg`;

const searchQuery = z
  .strictObject({
    /** Comma-separated terms; case and spacing are folded. */
    text: z.string().trim().min(1).max(200).optional(),
    /** Jobs whose audio or picture has this cue (speech, loud, black, frozen). */
    cue: z.enum(CUE_KINDS).optional(),
    model: z.string().optional(),
    /** Jobs in the answer, newest first. */
    limit: z.coerce.number().int().positive().max(500).default(50),
  })
  .refine((q) => q.text !== undefined || q.cue !== undefined, { message: "give 'text', 'cue' or both", path: ['text'] });

/** What a search finds in one result: the segments whose text matches, and the spans of the cue asked for. */
function searchResult(jobId: string, result: JobResult | undefined, q: { text?: string; cue?: CueKind }) {
  const terms = q.text ? foldTerms(q.text.split(',')) : undefined;
  const segments = terms
    ? (result?.segments ?? [])
        .map((s, index) => ({ index, startS: s.startS, endS: s.endS, texts: s.texts ?? [], thumbnail: thumbnailUrl(jobId, index) }))
        .filter((s) => s.texts.some((t) => textMatches(t, terms)))
    : [];
  const cueSpansFound = q.cue && result ? cueSpans(result)[q.cue].map(({ startS, endS }) => ({ startS, endS })) : [];
  const found = (!terms || segments.length > 0) && (!q.cue || cueSpansFound.length > 0);
  return found ? { segments, ...(q.cue ? { cue: q.cue, cueSpans: cueSpansFound } : {}) } : undefined;
}

/** What a job picture hides: `redact=`'s kinds (their face model resolved), or what a redaction of the job masked (`redaction=`); undefined: nothing. */
async function pictureRedaction(q: z.infer<typeof pictureQuerySchema>, jobId: string, { repository, redactions }: Pick<AppDeps, 'repository' | 'redactions'>): Promise<StillRedaction | undefined> {
  return q.redaction ? redactions.asRedacted(jobId, q.redaction) : withFaceModel(stillRedaction(q), repository);
}

/** Sends a cut picture, from its cached file or its bytes. */
function sendPicture(res: import('express').Response, cut: CutPicture) {
  res.type('image/jpeg');
  if (cut.file) res.sendFile(resolve(cut.file));
  else res.send(cut.bytes);
}

/** Content types browsers play, by sniffed container. */
const VIDEO_TYPES: Record<string, string> = { mp4: 'video/mp4', mov: 'video/quicktime', matroska: 'video/webm', ogg: 'video/ogg', avi: 'video/x-msvideo' };

/** A stored result as the API serves it: each segment links its thumbnail. */
export function withThumbnailLinks(jobId: string, result: JobResult): ServedResult {
  return { ...result, segments: result.segments.map((s, n) => ({ ...s, thumbnail: thumbnailUrl(jobId, n) })) };
}

async function requireJob(jobs: JobQueue, jobId: string) {
  const record = await jobs.get(jobId).catch(() => undefined);
  if (!record) throw new FramewatchError('JOB_NOT_FOUND', `no job '${jobId}'`);
  return record;
}

/** A succeeded job's record and stored result; JOB_NOT_FOUND, or JOB_NOT_FINISHED saying what `needs` it. */
export async function succeededResult(jobs: JobQueue, jobId: string, needs: string) {
  const record = await requireJob(jobs, jobId);
  const result = record.status === 'succeeded' ? await jobs.readResult(record.jobId) : undefined;
  if (!result) throw new FramewatchError('JOB_NOT_FINISHED', `job '${record.jobId}' is ${record.status}: ${needs}`);
  return { record, result };
}

export function createJobRoutes(deps: AppDeps): Router {
  const { jobs, config, repository } = deps;
  const router = Router();
  // Job results are predictions: the same token as predict guards them.
  router.use('/v1/jobs', requireToken(config.apiToken, 'predict'));

  router.get('/v1/jobs', async (_req, res) => {
    res.json({ jobs: (await jobs.list()).map((r) => ({ ...r, links: jobLinks(r.jobId) })) });
  });

  router.get('/v1/jobs/:id', async (req, res) => {
    const record = await requireJob(jobs, req.params.id);
    const stored = record.status === 'succeeded' ? await jobs.readResult(record.jobId) : undefined;
    const view: JobView = { ...record, links: jobLinks(record.jobId), ...(stored ? { result: withThumbnailLinks(record.jobId, stored) } : {}) };
    res.json(view);
  });

  router.delete('/v1/jobs/:id', async (req, res) => {
    await requireJob(jobs, req.params.id);
    const record = await jobs.cancel(req.params.id);
    res.json({ ...record, links: jobLinks(record.jobId) });
  });

  // The job's video, kept for review (FRAMEWATCH_KEEP_VIDEOS); Range requests let players seek.
  router.get('/v1/jobs/:id/video', async (req, res) => {
    const record = await requireJob(jobs, req.params.id);
    const path = resolve(jobs.videoPath(record.jobId));
    const sniffed = await sniffFile(path).catch(() => undefined);
    if (!sniffed) throw new FramewatchError('NOT_FOUND', `job '${record.jobId}' has no kept video (it did not succeed, or FRAMEWATCH_KEEP_VIDEOS is off)`);
    res.type(VIDEO_TYPES[sniffed.format] ?? 'application/octet-stream').sendFile(path);
  });

  // Any moment of a finished job's kept video as a thumbnail (a re-review's best frames): cut once, then cached.
  router.get('/v1/jobs/:id/frames/:ms.jpg', async (req, res) => {
    const asked = parseInput(pictureQuerySchema, req.query); // a bad query is a 400 before the job is looked up
    const { record, result } = await succeededResult(jobs, req.params.id, 'it has no frames to show yet');
    const ms = /^\d{1,9}$/.test(String(req.params.ms)) ? Number(req.params.ms) : NaN;
    const redact = await pictureRedaction(asked, record.jobId, deps);
    sendPicture(res, await frameThumbnail(record.jobId, jobs.videoPath(record.jobId), jobs.filesDir(record.jobId), result, ms, redact));
  });

  // Text search over finished jobs: the segments whose text contains one of the terms.
  router.get('/v1/search', requireToken(config.apiToken, 'predict'), async (req, res) => {
    const q = parseInput(searchQuery, req.query);
    const records = succeededWhere(await jobs.list(), { model: q.model }).reverse();
    const results = [];
    for (const record of records) {
      const found = searchResult(record.jobId, await jobs.readResult(record.jobId).catch(() => undefined), q);
      if (found) results.push({ jobId: record.jobId, createdAt: record.createdAt, model: record.model, filename: record.input.filename, ...found, links: jobLinks(record.jobId) });
      if (results.length >= q.limit) break;
    }
    res.json({ ...(q.text !== undefined ? { text: q.text } : {}), ...(q.cue ? { cue: q.cue } : {}), results });
  });

  // The segments as WebVTT, for a player's <track> or an editor.
  router.get('/v1/jobs/:id/segments.vtt', async (req, res) => {
    const { result } = await succeededResult(jobs, req.params.id, 'it has no segments yet');
    res.type('text/vtt').send(segmentsWebVtt(result));
  });

  router.get('/v1/jobs/:id/segments/:n/thumbnail.jpg', async (req, res) => {
    const asked = parseInput(pictureQuerySchema, req.query);
    const record = await requireJob(jobs, req.params.id);
    // Masks need the job's tracks: a redacted thumbnail is only of a succeeded job (one with thumbnails is).
    const redacted = asked.redact || asked.redaction;
    const result = redacted ? (await succeededResult(jobs, record.jobId, 'it has no thumbnails yet')).result : undefined;
    const redact = redacted ? await pictureRedaction(asked, record.jobId, deps) : undefined;
    sendPicture(res, await segmentThumbnail(record.jobId, resolve(jobs.filesDir(record.jobId)), Number(req.params.n), result, redact));
  });
  return router;
}
