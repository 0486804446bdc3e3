import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logging/logger.js';
import { loadImage } from '../src/media/image.js';
import { createRepository, readManifest, scanRepository, sha256File, type ImageDecoder } from '../src/registry/index.js';
import { runSingle, usableCores } from '../src/runtime/index.js';
import { getTask } from '../src/tasks/index.js';
import { beats, writeTunedVersion, type TuningRecord } from '../src/tuning/index.js';
import { runCli } from './helpers/cli.js';
import { postFile, scratchRepository, startTestServer } from './helpers/server.js';
import type { RunningServer } from '../src/cli/serve.js';

const decode: ImageDecoder = (bytes, spec) => loadImage(bytes, spec, { maxPixels: 40e6 });
let repo: { dir: string; remove(): Promise<void> };
let holdout: string;
let record: TuningRecord;
const versions = async () => (await readdir(join(repo.dir, 'object-detector'))).filter((v) => /^\d+$/.test(v)).sort();

beforeAll(async () => {
  repo = await scratchRepository(['object-detector', 'voice-detector']);
  holdout = await mkdtemp(join(tmpdir(), 'framewatch-holdout-'));
  for (const f of ['messi5.jpg', 'basketball1.png', 'home.jpg']) await copyFile(join('test/fixtures', f), join(holdout, f));
  const out = join(holdout, '..', `${holdout.split('/').pop()}-record.json`);
  const run = await runCli(['tune', 'object-detector', '--models-dir', repo.dir, '--holdout', holdout, '--seconds', '0.3', '--rounds', '1', '--dry-run', '--record', out]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  record = JSON.parse(await readFile(out, 'utf8'));
  await rm(out);
}, 180_000);
afterAll(async () => {
  await repo?.remove();
  await rm(holdout, { recursive: true, force: true });
});

describe('framewatch tune: the sweep, side by side, with parity on the golden and held-out images', () => {
  it('measures every stage, names a winner per stage, refuses an int8 variant that loses parity, and judges parity on 4 images; a dry run writes no version', async () => {
    expect(record.stages.map((s) => s.stage)).toEqual(['graph optimization', 'execution mode', 'threads x instances', 'batch size', 'model variant']);
    // The int8 variant is measured, and refused: it loses the detections' parity on the photos with people (bench:int8).
    const int8 = record.stages[4].candidates[1];
    expect(int8.id).toBe('int8 (u8, per-channel)');
    expect(int8.parity!.ok).toBe(false);
    expect(int8.parity!.failures.some((f) => f.includes('messi5.jpg'))).toBe(true);
    expect(record.stages[4].winner).not.toBe(int8.id);
    expect(record.winner.variant).toBe('copy');
    for (const stage of record.stages) {
      expect(stage.candidates.map((c) => c.id)).toContain(stage.winner);
      for (const c of stage.candidates) expect((c.figures as { imagesPerS: number }).imagesPerS).toBeGreaterThan(0);
    }
    expect(record.stages[3].candidates.map((c) => c.id)).toEqual(['batch 1', 'batch 2', 'batch 4', 'batch 8']);
    expect(record.machine.usableCores).toBe(usableCores());
    // The golden sample and the three held-out photos, each with its people matched.
    expect(record.parity.images).toHaveLength(4);
    expect(record.parity.ok).toBe(true);
    expect(record.parity.images.find((p) => p.image.endsWith('messi5.jpg'))!.pairs.length).toBeGreaterThan(0);
    expect(record.speedup).toBeGreaterThan(0);
    // 'dry run', or why nothing would be written anyway (no clear gain on this noisy machine).
    expect(record.outcome).toEqual({ notWritten: expect.stringMatching(/^(dry run|no candidate beat)/) });
    expect(await versions()).toEqual(['2']);
  });

  it('a written winner is the next version: its settings in the manifest, its record beside it, served with its threads and batches and the same detections', async () => {
    const [v2] = (await scanRepository(repo.dir)).filter((e) => e.name === 'object-detector');
    const winner = { ...record.winner, graph: { ...record.winner.graph, graphOptimizationLevel: 'extended' as const }, intraOpThreads: 1, instances: 2, instanceThreads: 1, maxBatchSize: 2, bulkIntraOpThreads: 1 };
    await writeTunedVersion({ modelsDir: repo.dir, maxImagePixels: 40e6 }, { dir: v2.dir, manifest: v2.manifest! }, { ...record, winner, outcome: { written: 3 } });
    expect(await versions()).toEqual(['2', '3']);
    const dir = join(repo.dir, 'object-detector', '3');
    const { manifest } = await readManifest(dir, 'object-detector', 3);
    expect(manifest!.runtime).toEqual({ graphOptimizationLevel: 'extended', executionMode: winner.graph.executionMode, interOpThreads: winner.graph.interOpThreads, intraOpThreads: 1, bulkIntraOpThreads: 1, tunedCores: usableCores() });
    expect(manifest!.serving).toMatchObject({ maxBatchSize: 2, instances: 2 });
    expect(manifest!.source).toMatchObject({ format: 'version', path: 'object-detector/2', sha256: v2.manifest!.file.sha256, variant: 'copy' });
    expect(JSON.parse(await readFile(join(dir, 'tuning.json'), 'utf8')).outcome).toEqual({ written: 3 });

    const repository = createRepository({ root: repo.dir, device: 'cpu', logger: createLogger('silent'), decode, only: (n) => n === 'object-detector' });
    try {
      await repository.loadAll();
      const tuned = repository.resolve('object-detector', 3);
      expect(repository.list().find((e) => e.version === 3)!.skew?.ok).toBe(true);
      expect(tuned.threads).toMatchObject({ session: 1, from: 'tuning' });
      expect(tuned.batching).toMatchObject({ maxBatchSize: 2, instances: 2 });
      // The same people on a real photo as the version it came from.
      const { input } = await decode(await readFile('test/fixtures/messi5.jpg'), manifest!.preprocessing);
      const task = getTask(manifest!.task);
      const detect = async (v: number) => {
        const m = repository.resolve('object-detector', v);
        return task.postprocess({ outputs: await runSingle(m.session, input), outputNames: m.session.outputs.map((o) => o.name), transform: input.transform, params: m.params, labels: m.manifest.labels });
      };
      const [before, after] = [await detect(2), await detect(3)];
      expect(after.map((d) => d.label)).toEqual(before.map((d) => d.label));
      after.forEach((d, i) => expect(Math.abs(d.box.x - before[i].box.x)).toBeLessThan(0.5));
    } finally {
      await repository.close();
    }
  }, 120_000);

  it('a version tuned on a machine with other cores keeps the rule\'s threads, and says so', async () => {
    const dir = join(repo.dir, 'object-detector', '3');
    const path = join(dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...manifest, runtime: { ...manifest.runtime, tunedCores: usableCores() + 6 } }));
    const repository = createRepository({ root: repo.dir, device: 'cpu', logger: createLogger('silent'), only: (n) => n === 'object-detector' });
    try {
      await repository.loadAll();
      expect(repository.resolve('object-detector', 3).threads).toMatchObject({ session: usableCores(), from: 'rule' });
    } finally {
      await repository.close();
      await writeFile(path, JSON.stringify(manifest));
    }
  }, 60_000);

  it('models prepare derives a tuned version again from the version it names, to the committed sha256', async () => {
    const dir = join(repo.dir, 'object-detector', '3');
    const { manifest } = await readManifest(dir, 'object-detector', 3);
    await rm(join(dir, 'model.onnx'));
    await rm(join(dir, 'golden', 'outputs'), { recursive: true });
    const run = await runCli(['models', 'prepare', '--models-dir', repo.dir]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'bundled model', name: 'object-detector', version: 3, action: 'exported' }));
    expect(await sha256File(join(dir, 'model.onnx'))).toBe(manifest!.file.sha256);
    expect(await readdir(join(dir, 'golden', 'outputs'))).toContain('index.json');
  }, 60_000);

  it.each([
    ['a model that is not there', ['no-such-model'], /no model 'no-such-model'/],
    ['a version that is not there', ['object-detector@9'], /has no version 9; it has 2/],
    ['an audio model', ['voice-detector'], /audio model; tune measures image models/],
    ['an empty held-out folder', ['object-detector', '--holdout', 'EMPTY'], /held-out folder .* has no images/],
    ['an empty calibration set', ['object-detector', '--calibration', 'EMPTY'], /calibration folder .* has no images/],
    ['a bad count', ['object-detector', '--rounds', '0'], /--rounds must be a positive number/],
  ])('refuses %s with a clear message and writes no version', async (_what, args, message) => {
    const empty = await mkdtemp(join(tmpdir(), 'framewatch-empty-'));
    await mkdir(empty, { recursive: true });
    const before = await versions();
    const run = await runCli(['tune', ...args.map((a) => (a === 'EMPTY' ? empty : a)), '--models-dir', repo.dir]);
    await rm(empty, { recursive: true, force: true });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(message);
    expect(await versions()).toEqual(before);
  });
});

describe('POST /v1/models/:name/versions/:version/tune: the same sweep in the background, one at a time', () => {
  const ADMIN = 'tune-admin-token-0123456789';
  let server: RunningServer;
  const call = (path: string, init: RequestInit = {}, token = ADMIN) =>
    fetch(`${server.url}${path}`, { ...init, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  beforeAll(async () => {
    server = await startTestServer({ modelsDir: repo.dir, adminToken: ADMIN });
  }, 60_000);
  afterAll(() => server?.close());

  it('answers 202 with a run to follow, refuses a second run with 409 TUNING_RUNNING, and ends with the record', async () => {
    const body = JSON.stringify({ seconds: 0.2, rounds: 1, dryRun: true });
    const started = await call('/v1/models/object-detector/versions/2/tune', { method: 'POST', body });
    expect(started.status).toBe(202);
    const run = await started.json();
    expect(started.headers.get('location')).toBe(`/v1/tuning/${run.id}`);
    expect(run).toMatchObject({ state: 'running', model: { name: 'object-detector', version: 2 } });
    const second = await call('/v1/models/object-detector/versions/2/tune', { method: 'POST', body });
    expect([second.status, (await second.json()).error.code]).toEqual([409, 'TUNING_RUNNING']);
    let done: any;
    for (let i = 0; i < 600 && done?.state !== 'succeeded' && done?.state !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      done = await (await call(`/v1/tuning/${run.id}`)).json();
    }
    expect(done.state).toBe('succeeded');
    expect(done.log).toHaveLength(6);
    expect(done.log[5]).toMatch(/^winner against the current settings/);
    expect(done.record.stages.map((s: any) => s.stage)).toEqual(['graph optimization', 'execution mode', 'threads x instances', 'batch size', 'model variant']);
    expect(done.record.outcome).toEqual({ notWritten: expect.stringMatching(/^(dry run|no candidate beat)/) });
    // The server answered images throughout.
    const listed = (await (await call('/v1/models')).json()).models.find((m: any) => m.name === 'object-detector');
    expect(listed.versions.find((v: any) => v.version === 3)).toMatchObject({ status: 'READY', runtime: { intraOpThreads: 1, tunedCores: usableCores() }, threads: { session: 1, from: 'tuning' } });
    expect(listed.versions.find((v: any) => v.version === 2).threads.from).toBe('rule');
    const predict = await postFile(`${server.url}/v1/models/object-detector/predict`, await readFile('test/fixtures/messi5.jpg'), 'messi5.jpg', 'image/jpeg');
    expect(predict.status).toBe(200);
  }, 120_000);

  it.each([
    ['no admin token', '/v1/models/object-detector/versions/2/tune', 'POST', '{}', '', 401, 'UNAUTHORIZED'],
    ['an unknown field', '/v1/models/object-detector/versions/2/tune', 'POST', '{"threads":2}', ADMIN, 400, 'INVALID_INPUT'],
    ['an unknown version', '/v1/models/object-detector/versions/9/tune', 'POST', '{}', ADMIN, 404, 'VERSION_NOT_FOUND'],
    ['an unknown run', '/v1/tuning/no-such-run', 'GET', undefined, ADMIN, 404, 'TUNING_NOT_FOUND'],
  ])('%s: %s answers the catalogue code', async (_what, path, method, body, token, status, code) => {
    const res = await call(path, { method, body }, token);
    expect([res.status, (await res.json()).error.code]).toEqual([status, code]);
  });
});

describe('what counts as a win: side by side, in every round', () => {
  const figures = (rounds: number[], p99Ms = 300) => ({ imagesPerS: [...rounds].sort((a, b) => a - b)[Math.floor(rounds.length / 2)], p99Ms, rounds });
  it('a candidate wins at 3% more images/s in the median round and faster in every round, p99 at most 10% worse', () => {
    expect(beats(figures([11, 11.5, 12]), figures([10, 10.5, 11]))).toBe(true);
    expect(beats(figures([11, 11.5, 12], 340), figures([10, 10.5, 11], 300))).toBe(false); // p99 13% worse
    expect(beats(figures([10.2, 10.6, 11.2]), figures([10, 10.5, 11]))).toBe(false); // under 3%
  });
  it('a candidate faster on the median that lost one round (the machine was busy for it, or quiet for the other) does not win', () => {
    expect(beats(figures([9.5, 12, 13]), figures([10, 10.5, 11]))).toBe(false);
  });
});
