import { randomUUID } from 'node:crypto';
import express, { Router } from 'express';
import { z } from 'zod';
import { FramewatchError } from '../errors/index.js';
import { tune, type TuningRecord } from '../tuning/index.js';
import type { AppDeps } from './deps.js';
import { parseInput, validateModelName, versionParamSchema } from './params.js';
import { requireAdminToken } from './security.js';

/** What POST .../tune takes; the paths are folders and files on the server (admin only). */
const tuneBody = z.strictObject({
  holdout: z.string().min(1).max(4096).optional(),
  video: z.string().min(1).max(4096).optional(),
  calibration: z.string().min(1).max(4096).optional(),
  int8: z.boolean().optional(),
  concurrency: z.number().int().min(1).max(64).optional(),
  seconds: z.number().positive().max(60).optional(),
  rounds: z.number().int().min(1).max(10).optional(),
  dryRun: z.boolean().optional(),
});

interface TuningRun {
  id: string;
  model: { name: string; version: number };
  state: 'running' | 'succeeded' | 'failed';
  startedAt: string;
  finishedAt?: string;
  /** The stage lines, as the CLI prints them. */
  log: string[];
  record?: TuningRecord;
  error?: { code: string; message: string };
}

/** Finished runs kept for GET; the oldest go first. */
const KEPT_RUNS = 20;

/**
 * `framewatch tune` in the background (admin token): one run at a time, since two would
 * measure each other. A written version is picked up by a repository poll at once.
 */
export function createTuningRoutes({ repository, config, logger }: AppDeps): Router {
  const router = Router();
  router.param('name', validateModelName);
  const admin = requireAdminToken(config.adminToken);
  const runs = new Map<string, TuningRun>();

  const start = (run: TuningRun, body: z.infer<typeof tuneBody>) => tune({
    modelsDir: config.modelsDir, name: run.model.name, version: run.model.version, device: config.device, maxImagePixels: config.maxImagePixels,
    holdoutDir: body.holdout, videoPath: body.video, calibrationDir: body.calibration, int8: body.int8, dryRun: body.dryRun,
    measure: { device: config.device, concurrency: body.concurrency ?? 4, secondsPerRound: body.seconds ?? 3, rounds: body.rounds ?? 3 },
    log: (line) => run.log.push(line),
  }).then(async (record) => {
    Object.assign(run, { state: 'succeeded', record });
    if ('written' in record.outcome) await repository.poll();
  }, (err: Error) => {
    const code = err instanceof FramewatchError ? err.code : 'INTERNAL';
    Object.assign(run, { state: 'failed', error: { code, message: code === 'INTERNAL' ? 'tuning failed unexpectedly; see the server log' : err.message } });
    if (code === 'INTERNAL') logger.error('tuning failed', { id: run.id, err });
  }).finally(() => {
    run.finishedAt = new Date().toISOString();
    const finished = [...runs.values()].filter((r) => r.state !== 'running');
    for (const old of finished.slice(0, Math.max(0, finished.length - KEPT_RUNS))) runs.delete(old.id);
  });

  router.post('/v1/models/:name/versions/:version/tune', admin, express.json({ limit: '16kb' }), (req, res) => {
    const name = String(req.params.name);
    const version = parseInput(versionParamSchema, req.params.version);
    const body = parseInput(tuneBody, req.body ?? {});
    const versions = repository.list().filter((e) => e.name === name);
    if (versions.length === 0) throw new FramewatchError('MODEL_NOT_FOUND', `model '${name}' is not in the repository`);
    if (!versions.some((e) => e.version === version)) throw new FramewatchError('VERSION_NOT_FOUND', `model '${name}' has no version ${version}`);
    const running = [...runs.values()].find((r) => r.state === 'running');
    if (running) throw new FramewatchError('TUNING_RUNNING', `tuning ${running.id} of ${running.model.name}/${running.model.version} is running; one at a time, or they measure each other`, { id: running.id });
    const run: TuningRun = { id: randomUUID(), model: { name, version }, state: 'running', startedAt: new Date().toISOString(), log: [] };
    runs.set(run.id, run);
    void start(run, body);
    res.status(202).location(`/v1/tuning/${run.id}`).json(run);
  });

  router.get('/v1/tuning/:id', admin, (req, res) => {
    const run = runs.get(String(req.params.id));
    if (!run) throw new FramewatchError('TUNING_NOT_FOUND', `no tuning run '${req.params.id}'`);
    res.json(run);
  });
  return router;
}
