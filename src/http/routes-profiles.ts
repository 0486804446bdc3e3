import { existsSync } from 'node:fs';
import express, { Router, type Request } from 'express';
import { z } from 'zod';
import { FramewatchError } from '../errors/index.js';
import { metrics } from '../metrics/index.js';
import { reReview } from '../pipeline/index.js';
import { frameThumbnailUrl } from '../pipeline/frame-thumbnail.js';
import type { ModelRepository } from '../registry/index.js';
import type { ProfileStore } from '../review/index.js';
import { profileSchema, unknownLabels, type Profile } from '../shared/profile.js';
import type { AppDeps } from './deps.js';
import { parseInput, versionParamSchema } from './params.js';
import { succeededResult } from './routes-jobs.js';
import { requireToken } from './security.js';

/** A stored profile by name, as `{"profile": "<name>", "version"?: N}`. */
const storedRefSchema = z.strictObject({ profile: z.string().min(1).max(64), version: versionParamSchema.optional() });
const evaluateQuery = z.object({
  pad: z.coerce.number().min(0).max(60).default(1),
  mergeGap: z.coerce.number().min(0).max(600).default(2),
});

/** The labels of a job's model version, when the repository still knows it. */
const modelLabels = (repository: ModelRepository, model: { name: string; version: number }) =>
  repository.list().find((e) => e.name === model.name && e.version === model.version)?.manifest?.labels;

/** Refuses a profile whose rules name labels the model does not have. */
function checkLabels(profile: Profile, labels: readonly string[] | undefined): void {
  const issues = labels ? unknownLabels(profile, labels) : [];
  if (issues.length) throw new FramewatchError('INVALID_INPUT', issues.map((i) => `'${i.path}' ${i.message}`).join('; '), { issues });
}

/** A request's profile: inline (a body with rules), or a stored one by name. */
export async function profileOf(body: unknown, profiles: ProfileStore): Promise<Profile> {
  if (body && typeof body === 'object' && 'rules' in body) return parseInput(profileSchema, body);
  const ref = parseInput(storedRefSchema, body);
  return profiles.get(ref.profile, ref.version);
}

/** The profile a predict request names (`profile=`) or carries (`rules`), checked against the model's labels. */
export async function requestedProfile(asked: { name?: string; rules?: string }, profiles: ProfileStore, labels: readonly string[] | undefined): Promise<Profile | undefined> {
  if (asked.rules === undefined && asked.name === undefined) return undefined;
  const profile = asked.rules === undefined ? await profiles.get(asked.name!) : parseInput(profileSchema, parseJsonField('rules', asked.rules));
  checkLabels(profile, labels);
  return profile;
}

function parseJsonField(field: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new FramewatchError('INVALID_INPUT', `'${field}' is not JSON (a review profile)`, { issues: [{ path: field, message: 'is not JSON' }] });
  }
}

/** Review profiles (stored, versioned) and re-review of a finished job with one. */
export function createProfileRoutes({ jobs, repository, profiles, config }: AppDeps): Router {
  const router = Router();
  // A profile is a few shapes; 1 MB leaves room to refuse a 10,000-vertex zone by its field, not by its size.
  const json = express.json({ limit: '1mb' });
  const token = requireToken(config.apiToken, 'predict');
  const id = (req: Request) => String(req.params.id);

  router.get('/v1/profiles', token, async (_req, res) => void res.json({ profiles: await profiles.list() }));

  router.post('/v1/profiles', token, json, async (req, res) => {
    const stored = await profiles.save(parseInput(profileSchema, req.body));
    res.status(201).location(`/v1/profiles/${stored.name}`).json(stored);
  });

  router.get('/v1/profiles/:profile', token, async (req, res) => {
    const version = req.query.version === undefined ? undefined : parseInput(versionParamSchema, req.query.version);
    res.json(await profiles.get(String(req.params.profile), version));
  });

  router.post('/v1/jobs/:id/evaluate', token, json, async (req, res) => {
    const query = parseInput(evaluateQuery, req.query);
    const { result } = await succeededResult(jobs, id(req), 'only a succeeded job can be re-reviewed');
    const profile = await profileOf(req.body, profiles);
    const labels = modelLabels(repository, result.model);
    checkLabels(profile, labels);
    const classIdOf = (label: string) => labels?.indexOf(label) ?? -1;
    const answer = reReview(result, profile, { ...query, classIdOf });
    for (const e of answer.events) metrics.ruleEvents.inc({ profile: profile.name, rule: e.rule, kind: e.kind });
    // Each segment links its best frame's picture, cut when the page asks (evaluate itself decodes nothing).
    const kept = existsSync(jobs.videoPath(id(req)));
    const segments = answer.segments.map((s) => (kept ? { ...s, thumbnail: frameThumbnailUrl(id(req), s.bestFrame.timeS) } : s));
    res.json({ jobId: id(req), ...answer, segments });
  });
  return router;
}
