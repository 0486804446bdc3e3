import type { DriftMonitor } from '../metrics/index.js';
import type { Batcher, BatcherOptions, BatcherSettings, Device, ModelSession, Provider } from '../runtime/index.js';
import type { Task } from '../tasks/index.js';
import type { LazySession } from './lazy-session.js';
import type { Manifest, PipelineManifest } from './manifest.js';
import type { ImageDecoder, SkewReport } from './skew.js';
import type { Logger } from '../logging/logger.js';

/** Where a version's thread counts came from: FRAMEWATCH_THREADS, its tuning record's machine, or the rule. */
export type ThreadSource = 'config' | 'tuning' | 'rule';

/** Where a version stands: the lifecycle (models) or its steps (pipelines) set it. */
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
  /** ONNX Runtime's intra-op threads of each session (CPU), and where the counts came from. */
  readonly threads: { session: number; bulk?: number; from: ThreadSource };
  readonly task: Task<{ scoreThreshold: number }>;
  readonly params: { scoreThreshold: number };
  /** Every inference goes through the version's dynamic batcher. */
  readonly batcher: Batcher;
  readonly batching: BatcherOptions;
  /** Present when the export wrote a reference profile. */
  readonly drift?: DriftMonitor;
}

/** One version as the repository knows it: where it is, its state and, when READY, what serves. */
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


/** What createRepository needs: the folder, the device, threads, batching and the load-time checks. */
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

/** The model repository: versions as scanned, loaded and served. */
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
