import { Router, type Request, type Response } from 'express';
import { join } from 'node:path';
import { ERROR_CATALOGUE, FramewatchError, isFramewatchError } from '../errors/index.js';
import { probeAudioUpload } from '../media/ffmpeg.js';
import type { SamplingMode } from '../shared/video.js';
import { defaultReviewLabels, hearsAudio, predictImage, probeAndPlanSampling, predictPipelineImage, reviewLabels, type JobQueue } from '../pipeline/index.js';
import type { ReadyModel, ReadyPipeline } from '../registry/index.js';
import type { Logger } from '../logging/logger.js';
import { parseInput, predictQuerySchema, validateModelName, versionParamSchema, videoQuerySchema } from './params.js';
import { requireToken } from './security.js';
import type { AppDeps } from './deps.js';
import { receiveUpload, type ReceivedUpload } from './upload.js';
import { jobLinks, withThumbnailLinks } from './routes-jobs.js';
import { requestedProfile } from './routes-profiles.js';

async function predictVideoUpload(
  req: Request,
  res: Response,
  deps: AppDeps,
  model: ReadyModel | ReadyPipeline,
  upload: Extract<ReceivedUpload, { kind: 'video' }>,
): Promise<void> {
  let submitted = false;
  try {
    const asked = parseInput(videoQuerySchema, { ...req.query, ...upload.fields });
    const labels = 'steps' in model ? model.steps[0].model.manifest.labels : model.manifest.labels;
    const profile = await requestedProfile(asked.profile, deps.profiles, labels);
    const hears = hearsAudio(model);
    const { info, sampling } = hears ? { info: await probeListening(upload.path, asked.options), sampling: undefined } : await probePicture(upload.path, model.name, asked);
    const mode = asked.mode ?? (info.durationS <= deps.config.syncMaxSeconds ? 'sync' : 'async');
    const defaults = hears ? [...AUDIO_REVIEW_LABELS] : defaultReviewLabels(model);
    const record = await deps.jobs.submit({
      model: { name: model.name, version: model.version },
      path: upload.path,
      bytes: upload.size,
      info,
      options: {
        ...asked.options, labels: reviewLabels(asked.options.labels, defaults), decodeThreads: deps.config.videoDecodeThreads, ...(sampling ? { sampling } : {}), ...(profile ? { profile } : {}),
        ...(hears ? { cues: false, motion: undefined } : {}),
      },
    });
    submitted = true;
    if (mode === 'async') {
      res.status(202).location(jobLinks(record.jobId).self).json({ jobId: record.jobId, status: record.status, links: jobLinks(record.jobId) });
      return;
    }
    await answerWhenDone(res, deps.jobs, record.jobId);
  } finally {
    if (!submitted) await upload.cleanup();
  }
}

/** What an audio job reviews unless asked otherwise: speech and loud sounds. */
const AUDIO_REVIEW_LABELS = ['speech', 'loud'] as const;

async function probeListening(path: string, options: { audio?: boolean }) {
  if (options.audio === false) throw new FramewatchError('INVALID_INPUT', "'audio=false' leaves a model that hears audio nothing to do", { field: 'audio' });
  return probeAudioUpload(path);
}

/** A picture model's upload: an audio-only file is refused, naming the model that would hear it. */
async function probePicture(path: string, model: string, asked: { sampling: SamplingMode; options: { fps: number; startS: number; endS?: number; maxFrames?: number } }) {
  try {
    return await probeAndPlanSampling(path, asked.sampling, asked.options);
  } catch (err) {
    if (!isFramewatchError(err) || err.code !== 'NO_VIDEO_STREAM') throw err;
    throw new FramewatchError('NO_VIDEO_STREAM', `model '${model}' needs pictures and this file has none (audio only); a voice detector hears it: POST /v1/models/voice-detector/predict`, err.details);
  }
}

/** Sync mode: waits for the job; a client that goes away cancels it. */
async function answerWhenDone(res: Response, jobs: JobQueue, jobId: string): Promise<void> {
  const onClose = () => {
    if (res.writableFinished) return;
    // The queue may be unreachable now; the job then ends by itself or by retention.
    const log = res.locals.logger as Logger;
    jobs.cancel(jobId).catch((err: Error) => log.warn('cancel after a dropped sync request failed', { jobId, error: err.message }));
  };
  res.on('close', onClose);
  try {
    const final = await jobs.wait(jobId);
    if (final.status !== 'succeeded') {
      const error = final.error ?? { code: 'INTERNAL' as const, message: 'the job failed' };
      res.status(ERROR_CATALOGUE[error.code].status).json({ error: { ...error, details: { ...(error.details as object), jobId } } });
      return;
    }
    const result = await jobs.readResult(jobId);
    if (!result) throw new FramewatchError('INTERNAL', `job '${jobId}' succeeded but its result cannot be read`);
    res.json(withThumbnailLinks(jobId, result));
  } finally {
    res.off('close', onClose);
  }
}

/**
 * An image's threshold: a multipart field's, else the query's (checked before the upload is
 * read). A field wins over the query, as for video options.
 */
const imageThreshold = (fromQuery: number | undefined, upload: ReceivedUpload): number | undefined =>
  parseInput(predictQuerySchema, { threshold: upload.fields.threshold }).threshold ?? fromQuery;

export function createPredictRoutes(deps: AppDeps): Router {
  const router = Router();
  const { config, repository } = deps;

  /** The upload under the configured limits, for a model or a pipeline alike. */
  const receive = (req: Request) =>
    receiveUpload(req, {
      maxImageBytes: config.maxImageBytes,
      maxVideoBytes: config.maxVideoBytes,
      tmpDir: join(config.dataDir, 'tmp'),
      // A video is refused as soon as its first bytes say so, not after gigabytes arrive.
      checkVideoBacklog: () => deps.jobs.checkBacklog(Number(req.headers['content-length']) || 0),
    });

  const predict = async (req: Request, res: Response, pick: { version?: number; label?: string } = {}) => {
    const query = parseInput(predictQuerySchema, { threshold: req.query.threshold });
    const name = String(req.params.name);
    if (repository.isPipeline(name)) return predictWithPipeline(req, res, pick.label ? repository.labelVersion(name, pick.label) : pick.version, query.threshold);
    const model = pick.label ? repository.resolveLabel(name, pick.label) : repository.resolve(name, pick.version);
    // Shed load before reading the body; but take a slot only once the body is here, so
    // clients that open uploads and send nothing cannot hold the queue.
    model.batcher.assertRoom();
    const upload = await receive(req);
    // Video frames queue as bulk work under the job and backlog limits instead.
    if (upload.kind === 'video') return predictVideoUpload(req, res, deps, model, upload);
    const release = model.batcher.admit();
    try {
      res.json(await predictImage(model, upload.bytes, { maxPixels: config.maxImagePixels, threshold: imageThreshold(query.threshold, upload) }));
    } finally {
      release();
    }
  };

  /** A pipeline: each step admits the work through its own batcher; a video becomes a job like any other. */
  const predictWithPipeline = async (req: Request, res: Response, version: number | undefined, threshold: number | undefined) => {
    const pipeline = repository.resolvePipeline(String(req.params.name), version);
    pipeline.steps.forEach((s) => s.model.batcher.assertRoom());
    const upload = await receive(req);
    if (upload.kind === 'video') return predictVideoUpload(req, res, deps, pipeline, upload);
    res.json(await predictPipelineImage(pipeline, upload.bytes, { maxPixels: config.maxImagePixels, threshold: imageThreshold(threshold, upload) }));
  };

  const auth = requireToken(config.apiToken, 'predict');
  router.param('name', validateModelName);
  router.post('/v1/models/:name/predict', auth, (req, res) => predict(req, res));
  router.post('/v1/models/:name/versions/:version/predict', auth, (req, res) => predict(req, res, { version: parseInput(versionParamSchema, req.params.version) }));
  router.post('/v1/models/:name/labels/:label/predict', auth, (req, res) => predict(req, res, { label: String(req.params.label) }));
  return router;
}
