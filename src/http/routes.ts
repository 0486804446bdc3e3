import { Router } from 'express';
import { FramewatchError } from '../errors/index.js';
import { registry } from '../metrics/index.js';
import { parseInput, validateModelName, versionParamSchema } from './params.js';
import type { VersionEntry } from '../registry/index.js';
import { createJobRoutes } from './routes-jobs.js';
import { createManagementRoutes } from './routes-manage.js';
import { createTuningRoutes } from './routes-tune.js';
import { createPredictRoutes } from './routes-predict.js';
import { createReviewRoutes } from './routes-review.js';
import { createProfileRoutes } from './routes-profiles.js';
import { createRedactionRoutes } from './routes-redact.js';
import { createV2Routes } from './routes-v2.js';
import type { AppDeps } from './deps.js';

function describeVersion(e: VersionEntry) {
  const m = e.manifest;
  if (e.pipeline) {
    const p = e.pipeline;
    return { version: e.version, status: e.state, ...(e.reason ? { reason: e.reason } : {}), kind: 'pipeline', task: 'pipeline', project: p.project, createdAt: p.createdAt, steps: p.steps };
  }
  return {
    version: e.version,
    status: e.state,
    ...(e.reason ? { reason: e.reason } : {}),
    task: m?.task ?? null,
    project: m?.project ?? null,
    createdAt: m?.createdAt ?? null,
    provider: e.provider ?? null,
    inputShape: m?.inputs[0]?.shape ?? null,
    labelCount: m?.labels.length ?? 0,
    ...(m?.review ? { review: m.review } : {}),
    ...(m?.runtime ? { runtime: m.runtime } : {}),
    ...(e.ready ? { threads: e.ready.threads } : {}),
    ...(e.skew ? { skew: { ok: e.skew.ok, maxAbsDiff: e.skew.maxAbsDiff, tolerance: e.skew.tolerance } } : {}),
  };
}

function describeModels(entries: readonly VersionEntry[]) {
  const byName = new Map<string, VersionEntry[]>();
  for (const e of entries) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
  return [...byName].map(([name, versions]) => {
    const ready = versions.filter((v) => v.state === 'READY').map((v) => v.version);
    return {
      name,
      defaultVersion: ready.length ? Math.max(...ready) : null,
      versions: versions.map(describeVersion),
    };
  });
}

/** Prometheus exposition of the one registry. */
export const metricsHandler = async (_req: import('express').Request, res: import('express').Response) => {
  res.type(registry.contentType).send(await registry.metrics());
};

/** Health, model listing, predict and job routes. */
export function createRoutes(deps: AppDeps): Router {
  const { repository } = deps;
  const router = Router();

  router.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));

  if (!deps.config.metricsPort) router.get('/metrics', metricsHandler);
  router.param('name', validateModelName);

  // A worker without its queue can do nothing: not ready. An API replica without it still
  // serves images and KServe requests: ready, with the queue named as degraded.
  router.get('/readyz', (_req, res) => {
    const models = describeModels(repository.list());
    const notReady = models.filter((m) => m.defaultVersion === null);
    const queue = deps.jobs.health();
    const queueBlocks = !queue.ready && deps.config.role === 'worker';
    const ready = !deps.draining() && models.length > 0 && notReady.length === 0 && !queueBlocks;
    const degraded = queue.ready ? [] : [queue.reason ?? 'video queue unavailable'];
    res.status(ready ? 200 : 503).json({
      ready,
      role: deps.config.role,
      ...(ready
        ? degraded.length ? { degraded } : {}
        : {
            reasons: deps.draining()
              ? ['shutting down: draining in-flight requests']
              : models.length === 0
              ? ['no models are configured']
              : [...notReady.map((m) => `${m.name}: ${m.versions.map((v) => `v${v.version} ${v.status}${v.reason ? ` (${v.reason})` : ''}`).join(', ')}`), ...degraded],
          }),
    });
  });

  router.get('/v1/models', (_req, res) => void res.json({ models: describeModels(repository.list()) }));

  router.get('/v1/models/:name', (req, res) => {
    const model = describeModels(repository.list()).find((m) => m.name === req.params.name);
    if (!model) repository.resolve(req.params.name); // throws MODEL_NOT_FOUND
    res.json(model);
  });

  router.get('/v1/models/:name/versions/:version/drift', (req, res) => {
    const model = repository.resolve(req.params.name, parseInput(versionParamSchema, req.params.version));
    if (!model.drift) throw new FramewatchError('NOT_FOUND', `${model.name}@${model.version} has no drift reference (reference.json)`);
    res.json(model.drift.report());
  });

  // A worker takes chunks from the queue; it answers probes, metrics and model listings only.
  if (deps.config.role === 'worker') return router;
  router.use(
    createV2Routes(repository, deps.logger, deps.version, {
      apiToken: deps.config.apiToken,
      draining: deps.draining,
      limits: { maxJsonBytes: deps.config.maxV2JsonBytes, maxBinaryBytes: deps.config.maxV2BinaryBytes },
    }),
  );
  router.use(createManagementRoutes(deps));
  router.use(createTuningRoutes(deps));
  router.use(createPredictRoutes(deps));
  router.use(createJobRoutes(deps));
  router.use(createReviewRoutes(deps));
  router.use(createProfileRoutes(deps));
  router.use(createRedactionRoutes(deps));
  return router;
}
