import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { applyPreprocessing } from '../../preprocessing/index.js';
import { FramewatchError } from '../errors/index.js';
import type { Logger } from '../logging/logger.js';
import { availableParallelism } from 'node:os';
import { readFile } from 'node:fs/promises';
import { createDriftMonitor, metrics, type DriftMonitor, type DriftProfile } from '../metrics/index.js';
import {
  createBatcher,
  createSession,
  PROVIDER_DEFAULTS,
  resolveBatcherOptions,
  runSingle,
  type Batcher,
  type BatcherOptions,
  type BatcherSettings,
  type Device,
  type ModelSession,
  type PlainTensor,
  type Provider,
} from '../runtime/index.js';
import { getTask, type Task } from '../tasks/index.js';
import { sha256File } from './hash.js';
import type { Manifest } from './manifest.js';
import { scanRepository } from './scan.js';
import { checkSkew, SKEW_TOLERANCE, type ImageDecoder, type SkewReport } from './skew.js';

export type VersionState = 'LOADING' | 'READY' | 'FAILED';

/** A version that serves: its manifest, session, task and resolved parameters. */
export interface ReadyModel {
  readonly name: string;
  readonly version: number;
  readonly manifest: Manifest;
  readonly session: ModelSession;
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
  /** The golden replay at load, when the version has golden samples. */
  skew?: SkewReport;
}

export interface RepositoryOptions {
  root: string;
  device: Device;
  /** Intra-op threads; 0 = the cores divided among the batcher's instances. */
  threads: number;
  logger: Logger;
  batching?: BatcherSettings;
  /** The serving path's image decoder; enables the golden skew check at load. */
  decode?: ImageDecoder;
  /** 0 = SKEW_TOLERANCE for the provider. */
  skewTolerance?: number;
  /** Samples per version in the drift window. */
  driftWindow?: number;
  /** Only load models whose name passes (the CLI loads just the one it scores with). */
  only?: (name: string) => boolean;
}

const DEFAULT_BATCHING: BatcherSettings = { maxBatchSize: 0, maxQueueDelayMs: -1, maxQueueSize: 0, requestTimeoutMs: 30_000, instances: 0 };

export interface ModelRepository {
  /** Scans the repository and loads every version; failures are recorded, never thrown. */
  loadAll(): Promise<void>;
  list(): readonly VersionEntry[];
  /** The ready version asked for, or the newest ready one. Throws the matching error code. */
  resolve(name: string, version?: number): ReadyModel;
  close(): Promise<void>;
}

function zeros(dtype: string, dims: number[]): PlainTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = dtype === 'float32' ? new Float32Array(n) : dtype === 'int64' ? new BigInt64Array(n) : dtype === 'int32' ? new Int32Array(n) : dtype === 'float16' ? new Uint16Array(n) : new Uint8Array(n);
  return { type: dtype, data, dims };
}

async function loadVersion(entry: VersionEntry, options: RepositoryOptions): Promise<ReadyModel> {
  const manifest = entry.manifest!;
  const task = getTask(manifest.task);
  const params = task.paramsSchema.parse(manifest.postprocessing);
  const modelPath = join(entry.dir, manifest.file.name);
  if (!existsSync(modelPath)) throw new Error(`model file ${manifest.file.name} is missing`);
  const actual = await sha256File(modelPath);
  if (actual !== manifest.file.sha256) {
    throw new Error(`sha256 mismatch for ${manifest.file.name}: manifest ${manifest.file.sha256}, file ${actual}`);
  }
  const settings = options.batching ?? DEFAULT_BATCHING;
  // Instances share the cores: each session gets its part, so they never oversubscribe.
  const plannedInstances = manifest.serving?.instances ?? (settings.instances || PROVIDER_DEFAULTS.cpu.instances);
  const threads = options.threads || Math.max(1, Math.floor(availableParallelism() / plannedInstances));
  const session = await createSession(modelPath, { device: options.device, threads, logger: options.logger });
  try {
    if (task.inputKind === 'tensor') {
      // Warm-up: zeros of each input's shape (dynamic dimensions as 1).
      await session.run(Object.fromEntries(session.inputs.map((i) => [i.name, zeros(i.dtype, i.shape.map((d) => (d < 0 ? 1 : d)))])));
    } else {
      // Warm-up: a blank image through the whole serving path must succeed before READY.
      const blank = { data: new Uint8Array(64 * 64 * 3).fill(128), width: 64, height: 64 };
      const input = await applyPreprocessing(blank, manifest.preprocessing);
      const outputs = await runSingle(session, input);
      task.postprocess({ outputs, outputNames: session.outputs.map((o) => o.name), transform: input.transform, params, labels: manifest.labels });
    }
  } catch (err) {
    await session.release();
    throw new Error(`warm-up failed: ${(err as Error).message}`);
  }
  if (options.decode && manifest.golden.length > 0) {
    const tolerance = options.skewTolerance || SKEW_TOLERANCE[session.provider];
    let report: SkewReport;
    try {
      report = await checkSkew(entry.dir, manifest, session, options.decode, tolerance);
    } catch (err) {
      report = { ok: false, tolerance, samples: [], maxAbsDiff: Infinity, reason: `SKEW_DETECTED: golden replay failed: ${(err as Error).message}` };
    }
    entry.skew = report;
    if (!report.ok) {
      await session.release();
      throw new Error(report.reason!.startsWith('SKEW_DETECTED') ? report.reason : `SKEW_DETECTED: ${report.reason}`);
    }
  }
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
  });
  const reference = await readFile(join(entry.dir, 'reference.json'), 'utf8').then((t) => JSON.parse(t) as { profile: DriftProfile }, () => undefined);
  const drift = reference ? createDriftMonitor(entry.name, entry.version, reference.profile, options.driftWindow ?? 500) : undefined;
  return { name: entry.name, version: entry.version, manifest, session, task, params, batcher, batching, drift };
}

export function createRepository(options: RepositoryOptions): ModelRepository {
  let entries: VersionEntry[] = [];
  const log = options.logger;

  return {
    async loadAll() {
      const scanned = (await scanRepository(options.root)).filter((s) => !options.only || options.only(s.name));
      entries = scanned.map((s) => ({
        name: s.name,
        version: s.version,
        dir: s.dir,
        manifest: s.manifest,
        state: s.manifest ? 'LOADING' : 'FAILED',
        reason: s.problem,
      }));
      for (const entry of entries) {
        if (entry.state !== 'LOADING') {
          log.error('model version failed', { model: entry.name, version: entry.version, reason: entry.reason });
          continue;
        }
        try {
          entry.ready = await loadVersion(entry, options);
          entry.provider = entry.ready.session.provider;
          entry.state = 'READY';
          metrics.modelReady.set({ model: entry.name, version: String(entry.version), provider: entry.provider }, 1);
          log.info('model version ready', { model: entry.name, version: entry.version, provider: entry.provider, batching: entry.ready.batching });
        } catch (err) {
          entry.state = 'FAILED';
          entry.reason = (err as Error).message;
          metrics.modelReady.set({ model: entry.name, version: String(entry.version), provider: 'none' }, 0);
          log.error('model version failed', { model: entry.name, version: entry.version, reason: entry.reason });
        }
      }
    },
    list: () => entries,
    resolve(name, version) {
      const versions = entries.filter((e) => e.name === name);
      if (versions.length === 0) throw new FramewatchError('MODEL_NOT_FOUND', `model '${name}' is not in the repository`);
      if (version !== undefined) {
        const entry = versions.find((e) => e.version === version);
        if (!entry) {
          throw new FramewatchError('VERSION_NOT_FOUND', `model '${name}' has no version ${version}`, {
            versions: versions.map((e) => e.version),
          });
        }
        if (!entry.ready) {
          throw new FramewatchError('MODEL_NOT_READY', `model '${name}' version ${version} is ${entry.state}`, {
            state: entry.state,
            reason: entry.reason,
          });
        }
        return entry.ready;
      }
      const newest = versions.filter((e) => e.ready).sort((a, b) => b.version - a.version)[0];
      if (!newest) {
        throw new FramewatchError('MODEL_NOT_READY', `model '${name}' has no ready version`, {
          versions: versions.map((e) => ({ version: e.version, state: e.state, reason: e.reason })),
        });
      }
      return newest.ready!;
    },
    async close() {
      entries.forEach((e) => e.ready?.batcher.close());
      await Promise.all(entries.map((e) => e.ready?.session.release()));
      entries = [];
    },
  };
}
