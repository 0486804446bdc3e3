import { Router, json } from 'express';
import { existsSync } from 'node:fs';
import { FramewatchError } from '../errors/index.js';
import { redactionRequestSchema, type RedactionRecord } from '../shared/redaction.js';
import type { AppDeps } from './deps.js';
import { parseInput } from './params.js';
import { requireToken } from './security.js';

/** Where a redaction and its files are served. */
const redactionLinks = (r: RedactionRecord) => {
  const self = `/v1/jobs/${r.jobId}/redactions/${r.redactionId}`;
  return { self, ...(r.status === 'succeeded' ? { video: `${self}/video.mp4`, audit: `${self}/audit.json` } : {}) };
};
const served = (r: RedactionRecord) => ({ ...r, links: redactionLinks(r) });

/**
 * Redaction of a finished job's video: POST starts one (202, then poll its link), GET lists
 * a job's (newest first) or reads one, DELETE cancels it; a finished one serves its redacted video and its audit.
 */
export function createRedactionRoutes({ redactions, config }: AppDeps): Router {
  const router = Router();
  router.use('/v1/jobs/:id/redact', requireToken(config.apiToken, 'predict'));
  router.use('/v1/jobs/:id/redactions', requireToken(config.apiToken, 'predict'));

  router.post('/v1/jobs/:id/redact', json({ limit: '256kb' }), async (req, res) => {
    const request = parseInput(redactionRequestSchema, req.body ?? {});
    const record = await redactions.start(req.params.id, request);
    res.status(202).json(served(record));
  });

  router.get('/v1/jobs/:id/redactions', async (req, res) => {
    res.json({ redactions: (await redactions.list(req.params.id)).map(served) });
  });

  router.get('/v1/jobs/:id/redactions/:rid', async (req, res) => {
    res.json(served(await redactions.get(req.params.id, req.params.rid)));
  });

  router.delete('/v1/jobs/:id/redactions/:rid', async (req, res) => {
    res.json(served(await redactions.cancel(req.params.id, req.params.rid)));
  });

  for (const name of ['video.mp4', 'audit.json'] as const) {
    router.get(`/v1/jobs/:id/redactions/:rid/${name}`, async (req, res) => {
      const record = await redactions.get(req.params.id, req.params.rid);
      const file = redactions.fileOf(record.jobId, record.redactionId, name);
      if (record.status !== 'succeeded' || !existsSync(file)) throw new FramewatchError('JOB_NOT_FINISHED', `redaction '${record.redactionId}' is ${record.status}: it has no ${name}`);
      res.type(name.endsWith('.mp4') ? 'video/mp4' : 'application/json').sendFile(file);
    });
  }
  return router;
}
