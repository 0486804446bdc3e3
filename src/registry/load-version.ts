import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applyPreprocessing } from '../../preprocessing/index.js';
import { FramewatchError } from '../errors/index.js';
import { AUDIO_DRIFT_FEATURES, createDriftMonitor, DRIFT_FEATURES, metrics, type DriftProfile } from '../metrics/index.js';
import { createBatcher, createSession, resolveBatcherOptions, runSingle, tensorArray, type ModelSession, type PlainTensor } from '../runtime/index.js';
import { getTask, voiceWarmUpFeeds, type Task } from '../tasks/index.js';
import { checkAudioSkew } from './audio-golden.js';
import { sha256File } from './hash.js';
import { lazySession } from './lazy-session.js';
import { sessionPool } from './session-pool.js';
import type { Manifest } from './manifest.js';
import { checkSkew, SKEW_TOLERANCE, type SkewReport } from './skew.js';
import { planThreads } from './threads.js';
import type { ReadyModel, RepositoryOptions, VersionEntry } from './types.js';

const zeros = (dtype: string, dims: number[]): PlainTensor => ({ type: dtype, data: tensorArray(dtype, dims.reduce((a, b) => a * b, 1)), dims });

/**
 * Opens one copy of a model version: checks the file's sha256, opens and warms up the
 * session, replays the golden samples (skew guard), and adds its bulk session, batcher and
 * drift monitor. Throws MODEL_NOT_READY or SKEW_DETECTED, with no session left open.
 */
export async function loadVersion(entry: VersionEntry, options: RepositoryOptions): Promise<ReadyModel> {
  const manifest = entry.manifest!;
  const task = getTask(manifest.task);
  const params = task.paramsSchema.parse(manifest.postprocessing);
  const modelPath = join(entry.dir, manifest.file.name);
  if (!existsSync(modelPath)) throw new FramewatchError('MODEL_NOT_READY', `model file ${manifest.file.name} is missing`);
  const actual = await sha256File(modelPath);
  if (actual !== manifest.file.sha256) {
    throw new FramewatchError('MODEL_NOT_READY', `sha256 mismatch for ${manifest.file.name}: manifest ${manifest.file.sha256}, file ${actual}`);
  }
  const { settings, threads, instanceThreads, bulkThreads, from } = planThreads(options, manifest);
  const graph = manifest.runtime;
  const open = (intraOp: number) => createSession(modelPath, { device: options.device, threads: intraOp, spinning: options.spinning, graph, logger: options.logger });
  const session = await open(threads);
  const [input] = session.inputs;
  if (manifest.preprocessing.normalizeInModel && (input?.dtype !== 'uint8' || input.shape.length !== 4 || input.shape[3] !== 3)) {
    await session.release();
    throw new FramewatchError('MODEL_NOT_READY', `preprocessing.normalizeInModel needs a uint8 [N, H, W, 3] input; '${input?.name}' is ${input?.dtype} [${input?.shape}]`);
  }
  await warmUp(session, task, manifest, params);
  const decode = options.decode;
  if (decode && manifest.golden.length > 0) {
    const tolerance = options.skewTolerance ?? SKEW_TOLERANCE[session.provider];
    let report: SkewReport;
    try {
      report = task.inputKind === 'audio'
        ? await checkAudioSkew(entry.dir, manifest, session, tolerance)
        : await checkSkew(entry.dir, manifest, session, decode, tolerance);
    } catch (err) {
      report = { ok: false, tolerance, samples: [], maxAbsDiff: Infinity, reason: `golden replay failed: ${(err as Error).message}` };
    }
    entry.skew = report;
    if (!report.ok) {
      await session.release();
      throw new FramewatchError('SKEW_DETECTED', report.reason ?? 'the golden replay differs');
    }
  }
  /** A further session of the version, opened and warmed up in the background on first use. */
  const openLater = (intraOp: number, what: string) => lazySession(async () => {
    const more = await open(intraOp);
    await warmUp(more, task, manifest, params);
    return more;
  }, (err) => options.logger.warn(`${what} failed to open; its runs go to the others`, { model: entry.name, version: entry.version, reason: (err as Error).message }));
  const cpu = session.provider === 'cpu';
  const bulkSession = cpu && options.bulkReservedCores !== undefined && bulkThreads !== threads ? openLater(bulkThreads, 'the bulk session') : undefined;
  const batching = resolveBatcherOptions(session.provider, settings, manifest.serving);
  // On CPU each instance is a session of its own (session.run blocks its worker thread).
  const served = cpu && batching.instances > 1
    ? sessionPool(session, Array.from({ length: batching.instances - 1 }, () => openLater(instanceThreads, 'an instance')))
    : session;
  const labels = { model: entry.name, version: String(entry.version) };
  const batcher = createBatcher(served, batching, {
    onBatch: (size, seconds) => {
      metrics.batchSize.observe(labels, size);
      metrics.inferenceDuration.observe({ ...labels, provider: session.provider }, seconds);
    },
    onQueued: (seconds) => metrics.queueDuration.observe(labels, seconds),
    onDepth: (depth) => metrics.queueDepth.set(labels, depth),
    onReject: (reason) => metrics.rejected.inc({ ...labels, reason }),
  }, bulkSession);
  const reference = await readFile(join(entry.dir, 'reference.json'), 'utf8').then((t) => JSON.parse(t) as { profile: DriftProfile }, () => undefined);
  const features = task.inputKind === 'audio' ? AUDIO_DRIFT_FEATURES : DRIFT_FEATURES;
  const drift = reference ? createDriftMonitor(entry.name, entry.version, reference.profile, options.driftWindow ?? 500, features) : undefined;
  const sessions = bulkSession ? { bulkSession, threads: { session: threads, bulk: bulkThreads, from } } : { threads: { session: threads, from } };
  return { name: entry.name, version: entry.version, manifest, session: served, ...sessions, task, params, batcher, batching, drift };
}

/**
 * Runs a first inference, which must succeed before READY: zeros of each input's shape
 * (dynamic dimensions as 1) for tensor models, a silent frame for audio models, a blank image through the whole serving path
 * for image models. On failure the session is released and the error is MODEL_NOT_READY.
 */
async function warmUp(session: ModelSession, task: Task<{ scoreThreshold: number }>, manifest: Manifest, params: { scoreThreshold: number }): Promise<void> {
  try {
    if (task.inputKind === 'audio') {
      await session.run(voiceWarmUpFeeds());
    } else if (task.inputKind === 'tensor') {
      await session.run(Object.fromEntries(session.inputs.map((i) => [i.name, zeros(i.dtype, i.shape.map((d) => (d < 0 ? 1 : d)))])));
    } else {
      const blank = { data: new Uint8Array(64 * 64 * 3).fill(128), width: 64, height: 64 };
      const input = await applyPreprocessing(blank, manifest.preprocessing);
      const outputs = await runSingle(session, input);
      task.postprocess({ outputs, outputNames: session.outputs.map((o) => o.name), transform: input.transform, params, labels: manifest.labels });
    }
  } catch (err) {
    await session.release();
    throw new FramewatchError('MODEL_NOT_READY', `warm-up failed: ${(err as Error).message}`, undefined, { cause: err });
  }
}

/** Releases a copy's sessions. */
const releaseSessions = (ready: ReadyModel) => Promise.all([ready.session.release(), ready.bulkSession?.release()]);

/** Takes a copy out of service gently: its queued and in-flight work finishes first. */
export async function retireVersion(ready: ReadyModel): Promise<void> {
  await ready.batcher.drain();
  ready.drift?.close();
  await releaseSessions(ready);
}

/** Takes a copy out of service at shutdown: queued work is refused, not run. */
export async function closeVersion(ready: ReadyModel): Promise<void> {
  ready.batcher.close();
  ready.drift?.close();
  await releaseSessions(ready);
}
