import express, { Router } from 'express';
import { z } from 'zod';
import { FramewatchError } from '../errors/index.js';
import { LABEL_RE } from '../registry/index.js';
import { parseInput, validateModelName, versionParamSchema } from './params.js';
import type { AppDeps } from './deps.js';
import { requireAdminToken } from './security.js';

const labelBody = z.object({ version: z.number().int().positive() });

/** Model management (admin token): load, unload, repository index and version labels. */
export function createManagementRoutes({ repository, config }: AppDeps): Router {
  const router = Router();
  router.param('name', validateModelName);
  const admin = requireAdminToken(config.adminToken);
  const json = express.json({ limit: '16kb' });
  const version = (v: unknown) => parseInput(versionParamSchema, v);
  const describe = (e: { name: string; version: number; state: string; reason?: string }) => ({ name: e.name, version: e.version, state: e.state, ...(e.reason ? { reason: e.reason } : {}) });

  router.post('/v1/repository/index', admin, (_req, res) => void res.json(repository.list().map(describe)));

  router.post('/v1/models/:name/versions/:version/load', admin, async (req, res) => {
    const entry = await repository.load(String(req.params.name), version(req.params.version));
    res.status(202).json(describe(entry));
  });

  router.post('/v1/models/:name/versions/:version/unload', admin, async (req, res) => {
    res.json(describe(await repository.unload(String(req.params.name), version(req.params.version))));
  });

  router.get('/v1/models/:name/labels', (req, res) => {
    if (!repository.list().some((e) => e.name === req.params.name)) throw new FramewatchError('MODEL_NOT_FOUND', `model '${req.params.name}' is not in the repository`);
    res.json(repository.labels(req.params.name));
  });

  router.put('/v1/models/:name/labels/:label', admin, json, async (req, res) => {
    if (!LABEL_RE.test(String(req.params.label))) throw new FramewatchError('INVALID_INPUT', "'label' must be lowercase letters, digits and dashes");
    const body = parseInput(labelBody, req.body);
    res.json(await repository.setLabel(String(req.params.name), String(req.params.label), body.version));
  });
  return router;
}
