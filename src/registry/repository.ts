import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { applyPreprocessing } from '../../preprocessing/index.js';
import { FramewatchError, isFramewatchError } from '../errors/index.js';
import type { Logger } from '../logging/logger.js';
import { readFile } from 'node:fs/promises';
import { createDriftMonitor, metrics, type DriftMonitor, type DriftProfile } from '../metrics/index.js';
import {
  createBatcher,
  createSession,
  PROVIDER_DEFAULTS,
  resolveBatcherOptions,
  runSingle,
  tensorArray,
  usableCores,
  type Batcher,
  type BulkSession,
  type BatcherOptions,
  type BatcherSettings,
  type Device,
  type ModelSession,
  type PlainTensor,
  type Provider,
} from '../runtime/index.js';
import { getTask, type Task } from '../tasks/index.js';
import { sha256File } from './hash.js';
import type { Manifest, PipelineManifest } from './manifest.js';
import { readLabels, writeLabels } from './labels.js';
import { readManifest, scanRepository, type ScannedVersion } from './scan.js';
import { checkSkew, SKEW_TOLERANCE, type ImageDecoder, type SkewReport } from './skew.js';

export type VersionState = 'LOADING' | 'READY' | 'FAILED' | 'UNLOADED';

/** A version that serves: its manifest, session, task and resolved parameters. */
export interface ReadyModel {
  readonly name: string;
  readonly version: number;
  readonly manifest: Manifest;
  readonly session: ModelSession;
  /**
   * The same model on fewer intra-op threads for bulk (video) work, where ffmpeg needs a core,
   * opened in the background on the first bulk item (bulk batches use `session` until it is
   * open); unset = `session` for all.
   */
  readonly bulkSession?: LazySession;
  /** ONNX Runtime's intra-op threads of each session (CPU). */
  readonly threads: { session: number; bulk?: number };
  readonly task: Task<{ scoreThreshold: number }>;
  readonly params: { scoreThreshold: number };
  /** Every inference goes through the version's dynamic batcher. */
  readonly batcher: Batcher;
  readonly batching: BatcherOptions;
  /** Present when the export wrote a reference profile. */
  readonly drift?: DriftMonitor;
}

export interface VersionEntry {
  name: string;
  version: number;
  dir: string;
  state: VersionState;
  reason?: string;
  provider?: Provider;
  manifest?: Manifest;
  ready?: ReadyModel;
  /** Set instead of manifest for a pipeline; it is READY while every step was at load. */
  pipeline?: PipelineManifest;
  /** The golden replay at load, when the version has golden samples. */
  skew?: SkewReport;
}

/** A pipeline that serves: its manifest and its steps' ready versions, resolved per request. */
export interface ReadyPipeline {
  readonly name: string;
  readonly version: number;
  readonly manifest: PipelineManifest;
  readonly steps: ReadonlyArray<{ model: ReadyModel; crop?: 'quad' }>;
}

/**
 * ONNX Runtime's intra-op threads per session: as configured, else the usable cores (a
 * container's CPU limit included) less the reserved ones, divided among the instances (at
 * least one each), so that they never oversubscribe.
 */
export function intraOpThreads(o: Pick<RepositoryOptions, 'threads' | 'reservedCores'>, instances: number, cores?: number): number {
  return o.threads ?? Math.max(1, Math.floor(((cores ?? usableCores()) - (o.reservedCores ?? 0)) / instances));
}

export interface RepositoryOptions {
  root: string;
  device: Device;
  /** Intra-op threads; unset = the cores (less reservedCores) divided among the batcher's instances. */
  threads?: number;
  /** Cores left to other work when threads is unset: a video worker leaves ffmpeg one. */
  reservedCores?: number;
  /**
   * Cores bulk (video) work leaves to ffmpeg in a process that also answers images: set, and
   * on CPU with threads unset, each version opens a second session on that many fewer threads
   * for its bulk batches (when that is a different count). Unset = one session for both.
   */
  bulkReservedCores?: number;
  /** ONNX Runtime thread spinning (see config threadSpinning). */
  spinning?: boolean;
  logger: Logger;
  batching?: BatcherSettings;
  /** The serving path's image decoder; enables the golden skew check at load. */
  decode?: ImageDecoder;
  /** Unset = SKEW_TOLERANCE for the provider. */
  skewTolerance?: number;
  /** Samples per version in the drift window. */
  driftWindow?: number;
  /** Only load models whose name passes, and the models a passing pipeline's steps pin (the CLI loads just what it scores with). */
  only?: (name: string) => boolean;
}

const DEFAULT_BATCHING: BatcherSettings = { requestTimeoutMs: 30_000 };

export interface ModelRepository {
  /** Scans the repository and loads every version; failures are recorded, never thrown. */
  loadAll(): Promise<void>;
  list(): readonly VersionEntry[];
  /** The ready version asked for, or the newest ready one. Throws the matching error code. */
  resolve(name: string, version?: number): ReadyModel;
  /** True when `name` is a pipeline of other versions (served by /predict, not KServe v2). */
  isPipeline(name: string): boolean;
  /** Like resolve, for a pipeline: its steps resolved now (a step unloaded since is MODEL_NOT_READY). */
  resolvePipeline(name: string, version?: number): ReadyPipeline;
  /** What a name runs on a video or in score: resolvePipeline for a pipeline, else resolve. */
  resolveTarget(name: string, version?: number): ReadyModel | ReadyPipeline;
  /** The version a label (stable, canary, ...) points at, from models/<name>/labels.json. */
  resolveLabel(name: string, label: string): ReadyModel;
  /** The version a label points at, for a model or a pipeline; VERSION_NOT_FOUND when none. */
  labelVersion(name: string, label: string): number;
  labels(name: string): Record<string, number>;
  setLabel(name: string, label: string, version: number): Promise<Record<string, number>>;
  /** (Re)loads a version in the background; a failed reload keeps the loaded copy serving. */
  load(name: string, version: number): Promise<VersionEntry>;
  /** Stops serving a version, drains its queue and releases its ONNX Runtime session. */
  unload(name: string, version: number): Promise<VersionEntry>;
  /** Picks up complete new version directories; returns those it loaded. */
  poll(): Promise<VersionEntry[]>;
  close(): Promise<void>;
}

const zeros = (dtype: string, dims: number[]): PlainTensor => ({ type: dtype, data: tensorArray(dtype, dims.reduce((a, b) => a * b, 1)), dims });

async function loadVersion(entry: VersionEntry, options: RepositoryOptions): Promise<ReadyModel> {
  const manifest = entry.manifest!;
  const task = getTask(manifest.task);
  const params = task.paramsSchema.parse(manifest.postprocessing);
  const modelPath = join(entry.dir, manifest.file.name);
  if (!existsSync(modelPath)) throw new FramewatchError('MODEL_NOT_READY', `model file ${manifest.file.name} is missing`);
  const actual = await sha256File(modelPath);
  if (actual !== manifest.file.sha256) {
    throw new FramewatchError('MODEL_NOT_READY', `sha256 mismatch for ${manifest.file.name}: manifest ${manifest.file.sha256}, file ${actual}`);
  }
  const settings = options.batching ?? DEFAULT_BATCHING;
  const plannedInstances = manifest.serving?.instances ?? (settings.instances ?? PROVIDER_DEFAULTS.cpu.instances);
  // The cgroup is read once per version, and not at all when the threads are set.
  const cores = options.threads === undefined ? usableCores() : undefined;
  const threads = intraOpThreads(options, plannedInstances, cores);
  const open = (intraOp: number) => createSession(modelPath, { device: options.device, threads: intraOp, spinning: options.spinning, logger: options.logger });
  const session = await open(threads);
  const [input] = session.inputs;
  if (manifest.preprocessing.normalizeInModel && (input?.dtype !== 'uint8' || input.shape.length !== 4 || input.shape[3] !== 3)) {
    await session.release();
    throw new FramewatchError('MODEL_NOT_READY', `preprocessing.normalizeInModel needs a uint8 [N, H, W, 3] input; '${input?.name}' is ${input?.dtype} [${input?.shape}]`);
  }
  await warmUp(session, task, manifest, params);
  if (options.decode && manifest.golden.length > 0) {
    const tolerance = options.skewTolerance ?? SKEW_TOLERANCE[session.provider];
    let report: SkewReport;
    try {
      report = await checkSkew(entry.dir, manifest, session, options.decode, tolerance);
    } catch (err) {
      report = { ok: false, tolerance, samples: [], maxAbsDiff: Infinity, reason: `golden replay failed: ${(err as Error).message}` };
    }
    entry.skew = report;
    if (!report.ok) {
      await session.release();
      throw new FramewatchError('SKEW_DETECTED', report.reason ?? 'the golden replay differs');
    }
  }
  const bulkThreads = intraOpThreads({ threads: options.threads, reservedCores: options.bulkReservedCores }, plannedInstances, cores);
  const bulkSession = session.provider === 'cpu' && options.bulkReservedCores !== undefined && bulkThreads !== threads
    ? lazySession(async () => {
        const bulk = await open(bulkThreads);
        await warmUp(bulk, task, manifest, params);
        return bulk;
      }, (err) => options.logger.warn('bulk session failed to open; video runs on the main session', { model: entry.name, version: entry.version, reason: (err as Error).message }))
    : undefined;
  const batching = resolveBatcherOptions(session.provider, settings, manifest.serving);
  const labels = { model: entry.name, version: String(entry.version) };
  const batcher = createBatcher(session, batching, {
    onBatch: (size, seconds) => {
      metrics.batchSize.observe(labels, size);
      metrics.inferenceDuration.observe({ ...labels, provider: session.provider }, seconds);
    },
    onQueued: (seconds) => metrics.queueDuration.observe(labels, seconds),
    onDepth: (depth) => metrics.queueDepth.set(labels, depth),
    onReject: (reason) => metrics.rejected.inc({ ...labels, reason }),
  }, bulkSession);
  const reference = await readFile(join(entry.dir, 'reference.json'), 'utf8').then((t) => JSON.parse(t) as { profile: DriftProfile }, () => undefined);
  const drift = reference ? createDriftMonitor(entry.name, entry.version, reference.profile, options.driftWindow ?? 500) : undefined;
  const sessions = bulkSession ? { bulkSession, threads: { session: threads, bulk: bulkThreads } } : { threads: { session: threads } };
  return { name: entry.name, version: entry.version, manifest, session, ...sessions, task, params, batcher, batching, drift };
}

/**
 * Runs a first inference, which must succeed before READY: zeros of each input's shape
 * (dynamic dimensions as 1) for tensor models, a blank image through the whole serving path
 * for image models. On failure the session is released and the error is MODEL_NOT_READY.
 */
async function warmUp(session: ModelSession, task: Task<{ scoreThreshold: number }>, manifest: Manifest, params: { scoreThreshold: number }): Promise<void> {
  try {
    if (task.inputKind === 'tensor') {
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

/** A session opened in the background on first use (BulkSession), and released with its version. */
export interface LazySession extends BulkSession {
  /** Releases the session once any open under way has ended; none opens after this. */
  release(): Promise<void>;
}

export function lazySession(openIt: () => Promise<ModelSession>, onFailure: (err: unknown) => void): LazySession {
  let opening: Promise<ModelSession | undefined> | undefined;
  let opened: ModelSession | undefined;
  let released = false;
  return {
    open() {
      if (opening || released) return;
      opening = openIt().then(
        (session) => (opened = session),
        (err: unknown) => {
          onFailure(err);
          return undefined;
        },
      );
    },
    current: () => (released ? undefined : opened),
    async release() {
      released = true;
      await (await opening)?.release();
      opened = undefined;
    },
  };
}

/** Releases a version's sessions. */
const releaseSessions = (ready: ReadyModel) => Promise.all([ready.session.release(), ready.bulkSession?.release()]);

/** A load failure as /v1/models shows it: the code first when it says more than 'not ready'. */
const loadFailureReason = (err: unknown): string =>
  isFramewatchError(err) && err.code !== 'MODEL_NOT_READY' ? `${err.code}: ${err.message}` : (err as Error).message;

/** The scanned versions `only` selects, with the models the selected pipelines' steps pin. */
function selected(scanned: ScannedVersion[], only?: (name: string) => boolean): ScannedVersion[] {
  if (!only) return scanned;
  const names = new Set(scanned.filter((s) => only(s.name)).flatMap((s) => [s.name, ...(s.pipeline?.steps.map((step) => step.model) ?? [])]));
  return scanned.filter((s) => names.has(s.name));
}

export function createRepository(options: RepositoryOptions): ModelRepository {
  let entries: VersionEntry[] = [];
  const labels = new Map<string, Record<string, number>>();
  const log = options.logger;
  const gauge = (e: VersionEntry, up: boolean) =>
    metrics.modelReady.set({ model: e.name, version: String(e.version), provider: up ? e.provider! : 'none' }, up ? 1 : 0);

  /** Loads one entry's session; on failure keeps whatever served before (a failed reload). */
  async function activate(entry: VersionEntry): Promise<void> {
    const previous = entry.ready;
    entry.state = previous ? 'READY' : 'LOADING';
    refreshPipelines();
    try {
      const ready = await loadVersion(entry, options);
      entry.ready = ready;
      entry.provider = ready.session.provider;
      entry.state = 'READY';
      entry.reason = undefined;
      gauge(entry, true);
      log.info('model version ready', { model: entry.name, version: entry.version, provider: entry.provider, threads: ready.threads, batching: ready.batching });
      if (previous) await retire(previous); // after the swap: in-flight work on the old one finishes
    } catch (err) {
      const reason = loadFailureReason(err);
      if (previous) {
        entry.reason = `reload failed, still serving the loaded copy: ${reason}`;
        log.error('model version reload failed; the old session keeps serving', { model: entry.name, version: entry.version, reason });
        return;
      }
      entry.state = 'FAILED';
      entry.reason = reason;
      gauge(entry, false);
      log.error('model version failed', { model: entry.name, version: entry.version, reason });
    } finally {
      refreshPipelines();
    }
  }

  async function retire(ready: ReadyModel): Promise<void> {
    await ready.batcher.drain();
    ready.drift?.close();
    await releaseSessions(ready);
  }

  const entryFrom = (s: ScannedVersion): VersionEntry => ({
    name: s.name, version: s.version, dir: s.dir, manifest: s.manifest, pipeline: s.pipeline, state: s.manifest || s.pipeline ? 'LOADING' : 'FAILED', reason: s.problem,
  });

  /** A pipeline is READY when every pinned step is a READY model version; else FAILED, saying which step. */
  function activatePipeline(entry: VersionEntry): void {
    if (entry.state === 'UNLOADED') return; // until an explicit load
    const targets = entry.pipeline!.steps.map((step) => ({ step, target: entries.find((e) => e.name === step.model && e.version === step.version) }));
    const problems = targets.map(({ step, target }) => {
      if (!target) return `step ${step.model}@${step.version} is not in the repository`;
      if (target.pipeline) return `step ${step.model}@${step.version} is a pipeline; steps are models`;
      if (target.state !== 'READY') return `step ${step.model}@${step.version} is ${target.state}${target.reason ? ` (${target.reason})` : ''}`;
      return undefined;
    }).filter(Boolean);
    // A step still loading leaves the pipeline LOADING, not FAILED: it is judged again once the step is.
    const waiting = targets.some(({ target }) => target?.state === 'LOADING');
    const [state, reason] = waiting ? (['LOADING', undefined] as const) : problems.length ? (['FAILED', problems.join('; ')] as const) : (['READY', undefined] as const);
    if (entry.state === state && entry.reason === reason) return;
    entry.state = state;
    entry.reason = reason;
    if (state === 'LOADING') return;
    metrics.modelReady.set({ model: entry.name, version: String(entry.version), provider: 'pipeline' }, problems.length ? 0 : 1);
    if (problems.length) log.error('pipeline version failed', { model: entry.name, version: entry.version, reason });
    else log.info('pipeline version ready', { model: entry.name, version: entry.version, steps: entry.pipeline!.steps });
  }

  /** Adds a version found after start-up (a load call, a poll): in name and version order, its labels read. */
  async function track(entry: VersionEntry): Promise<VersionEntry> {
    entries.push(entry);
    entries.sort((a, b) => a.name.localeCompare(b.name) || a.version - b.version);
    if (!labels.has(entry.name)) labels.set(entry.name, await readLabels(options.root, entry.name));
    return entry;
  }

  /** A pipeline's state follows its steps: re-judged wherever a version's state changes (load, unload, scan). */
  const refreshPipelines = () => entries.filter((e) => e.pipeline).forEach(activatePipeline);

  return {
    async loadAll() {
      const scanned = selected(await scanRepository(options.root), options.only);
      entries = scanned.map(entryFrom);
      for (const name of new Set(entries.map((e) => e.name))) labels.set(name, await readLabels(options.root, name));
      for (const entry of entries) {
        if (entry.state === 'LOADING' && entry.manifest) await activate(entry);
        else if (entry.state === 'FAILED') log.error('model version failed', { model: entry.name, version: entry.version, reason: entry.reason });
      }
      // Pipelines after the models they run.
      refreshPipelines();
    },
    list: () => entries,
    isPipeline: (name) => entries.some((e) => e.name === name && e.pipeline),
    resolveTarget(name, version) {
      return this.isPipeline(name) ? this.resolvePipeline(name, version) : this.resolve(name, version);
    },
    resolvePipeline(name, version) {
      const versions = entries.filter((e) => e.name === name && e.pipeline);
      if (versions.length === 0) throw new FramewatchError('MODEL_NOT_FOUND', `pipeline '${name}' is not in the repository`);
      const entry = version === undefined ? versions.filter((e) => e.state === 'READY').sort((a, b) => b.version - a.version)[0] : versions.find((e) => e.version === version);
      if (!entry && version !== undefined) throw new FramewatchError('VERSION_NOT_FOUND', `pipeline '${name}' has no version ${version}`, { versions: versions.map((e) => e.version) });
      if (!entry || entry.state !== 'READY') {
        throw new FramewatchError('MODEL_NOT_READY', `pipeline '${name}' has no ready version`, { versions: versions.map((e) => ({ version: e.version, state: e.state, reason: e.reason })) });
      }
      const manifest = entry.pipeline!;
      return { name, version: entry.version, manifest, steps: manifest.steps.map((step) => ({ model: this.resolve(step.model, step.version), crop: step.crop })) };
    },
    resolve(name, version) {
      const versions = entries.filter((e) => e.name === name);
      if (versions.length === 0) throw new FramewatchError('MODEL_NOT_FOUND', `model '${name}' is not in the repository`);
      if (versions.some((e) => e.pipeline)) {
        throw new FramewatchError('MODEL_NOT_FOUND', `'${name}' is a pipeline, not a single model: POST /v1/models/${name}/predict serves it`);
      }
      if (version !== undefined) {
        const entry = versions.find((e) => e.version === version);
        if (!entry) {
          throw new FramewatchError('VERSION_NOT_FOUND', `model '${name}' has no version ${version}`, {
            versions: versions.map((e) => e.version),
          });
        }
        if (!entry.ready || entry.state !== 'READY') {
          throw new FramewatchError('MODEL_NOT_READY', `model '${name}' version ${version} is ${entry.state}`, {
            state: entry.state,
            reason: entry.reason,
          });
        }
        return entry.ready;
      }
      const newest = versions.filter((e) => e.ready && e.state === 'READY').sort((a, b) => b.version - a.version)[0];
      if (!newest) {
        throw new FramewatchError('MODEL_NOT_READY', `model '${name}' has no ready version`, {
          versions: versions.map((e) => ({ version: e.version, state: e.state, reason: e.reason })),
        });
      }
      return newest.ready!;
    },
    labelVersion(name, label) {
      const version = labels.get(name)?.[label];
      if (version === undefined) throw new FramewatchError('VERSION_NOT_FOUND', `model '${name}' has no label '${label}'`, { labels: labels.get(name) ?? {} });
      return version;
    },
    resolveLabel(name, label) {
      return this.resolve(name, this.labelVersion(name, label));
    },
    labels: (name) => ({ ...(labels.get(name) ?? {}) }),
    async setLabel(name, label, version) {
      if (!entries.some((e) => e.name === name && e.version === version)) throw new FramewatchError('VERSION_NOT_FOUND', `model '${name}' has no version ${version}`);
      const next = { ...(labels.get(name) ?? {}), [label]: version };
      await writeLabels(options.root, name, next);
      labels.set(name, next);
      return next;
    },
    async load(name, version) {
      const { manifest, pipeline, problem } = await readManifest(join(options.root, name, String(version)), name, version);
      let entry = entries.find((e) => e.name === name && e.version === version);
      if (pipeline) {
        entry ??= await track(entryFrom({ name, version, dir: join(options.root, name, String(version)), pipeline }));
        entry.pipeline = pipeline;
        if (entry.state === 'UNLOADED') entry.state = 'LOADING';
        activatePipeline(entry);
        return entry;
      }
      if (!entry) {
        if (!manifest) throw new FramewatchError('VERSION_NOT_FOUND', `models/${name}/${version} has no usable manifest: ${problem}`);
        entry = await track(entryFrom({ name, version, dir: join(options.root, name, String(version)), manifest }));
      } else if (manifest) entry.manifest = manifest;
      else if (!entry.ready) {
        entry.state = 'FAILED';
        entry.reason = problem;
        refreshPipelines();
        return entry;
      }
      const target = entry;
      void activate(target); // in the background; the caller polls the state
      return target;
    },
    async unload(name, version) {
      const entry = entries.find((e) => e.name === name && e.version === version);
      if (!entry) throw new FramewatchError('VERSION_NOT_FOUND', `model '${name}' has no version ${version}`);
      const ready = entry.ready;
      entry.ready = undefined;
      entry.state = 'UNLOADED';
      entry.reason = undefined;
      gauge(entry, false);
      refreshPipelines();
      if (ready) await retire(ready);
      log.info('model version unloaded', { model: name, version });
      return entry;
    },
    async poll() {
      const known = new Set(entries.map((e) => `${e.name}/${e.version}`));
      const found: VersionEntry[] = [];
      for (const s of selected(await scanRepository(options.root), options.only)) {
        if (known.has(`${s.name}/${s.version}`)) continue;
        if (s.pipeline) {
          // Judged after this poll's models have loaded (refreshPipelines below).
          found.push(await track(entryFrom(s)));
          continue;
        }
        // A version is picked up only once complete: valid manifest, model file, matching sha256.
        if (!s.manifest || !(await fileMatches(join(s.dir, s.manifest.file.name), s.manifest.file.sha256))) continue;
        const entry = await track(entryFrom(s));
        await activate(entry);
        found.push(entry);
      }
      refreshPipelines();
      return found;
    },
    async close() {
      entries.forEach((e) => {
        e.ready?.batcher.close();
        e.ready?.drift?.close();
      });
      await Promise.all(entries.map((e) => e.ready && releaseSessions(e.ready)));
      entries = [];
    },
  };
}

async function fileMatches(path: string, sha256: string): Promise<boolean> {
  return existsSync(path) && (await sha256File(path)) === sha256;
}
