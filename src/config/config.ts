import { readFileSync } from 'node:fs';
import { z } from 'zod';

const MB = 1024 * 1024;

const intFromEnv = (min: number) => z.coerce.number().int().min(min);

/** Every setting framewatch reads, with its default. Env names are listed in ENV_NAMES. */
export const configSchema = z.object({
  port: intFromEnv(0).max(65535).default(8080),
  host: z.string().default('0.0.0.0'),
  modelsDir: z.string().min(1).default('./models'),
  dataDir: z.string().min(1).default('./data'),
  device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  /** ONNX Runtime intra-op threads; unset = the usable cores (less one on a worker) divided among a model's instances. */
  threads: intFromEnv(1).max(256).optional(),
  /**
   * Whether ONNX Runtime's idle intra-op threads spin before sleeping. Off by default: on a
   * few cores, spinning threads take CPU from decode, preprocessing and the other session.
   */
  threadSpinning: z.union([z.boolean(), z.stringbool()]).default(false),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  maxImageBytes: intFromEnv(1).default(25 * MB),
  maxVideoBytes: intFromEnv(1).default(2048 * MB),
  maxImagePixels: intFromEnv(1).default(40_000_000),
  /** Video frames per batch (a job keeps two batches in flight); unset = per provider (CPU 1, CUDA the max batch size). */
  videoBatchSize: intFromEnv(1).max(256).optional(),
  /** ffmpeg decoder threads per video; unset = per provider (CPU 1, CUDA one per core). */
  videoDecodeThreads: intFromEnv(1).max(64).optional(),
  /** Video jobs running at once in this process. */
  maxVideoJobs: intFromEnv(1).max(64).default(1),
  /** Video jobs waiting or running at once; more are refused with 503 QUEUE_FULL. */
  maxQueuedVideoJobs: intFromEnv(1).max(10_000).default(8),
  /** Bytes of uploaded video waiting or running at once; more are refused with 503 QUEUE_FULL. */
  maxQueuedVideoBytes: intFromEnv(1).default(4096 * MB),
  /** An upload that sends no byte for this long is cut with 408 REQUEST_TIMEOUT. */
  bodyIdleTimeoutMs: intFromEnv(100).max(600_000).default(10_000),
  /** KServe v2 JSON requests (no binary tensor data) up to this size; checked before reading. */
  maxV2JsonBytes: intFromEnv(1024).max(1024 * MB).default(8 * MB),
  /** KServe v2 requests with binary tensor data up to this size. */
  maxV2BinaryBytes: intFromEnv(1024).max(4096 * MB).default(64 * MB),
  /** ffmpeg and ffprobe binaries, set together; unset = a pair on PATH (the system's), else the npm builds. */
  ffmpegPath: z.string().min(1).optional(),
  ffprobePath: z.string().min(1).optional(),
  /** Hardware video decoding: `cuda` (NVDEC) with an ffmpeg built for it; unset = CPU. */
  ffmpegHwaccel: z.enum(['cuda']).optional(),
  /** Video chunks: longer videos are split into time chunks of this many seconds (aligned to the sampling grid). */
  chunkSeconds: z.coerce.number().min(1).max(86_400).default(60),
  /** Chunks decoded and inferred at once in this process (BullMQ worker concurrency in shared mode). */
  chunkConcurrency: intFromEnv(1).max(64).default(1),
  /** Shared mode: the Redis that holds the job queue (BullMQ); unset = the embedded in-process queue. */
  redisUrl: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
  /** all: serve and work; api: serve HTTP and enqueue videos; worker: run chunks and parents (shared mode only). */
  role: z.enum(['all', 'api', 'worker']).default('all'),
  /** BullMQ: how long a worker's lock on a chunk lasts without renewal before the chunk counts as stalled. */
  queueLockMs: intFromEnv(1000).max(3_600_000).default(30_000),
  /** BullMQ: how often workers look for stalled chunks (locks that expired) and hand them back. */
  queueStalledIntervalMs: intFromEnv(500).max(3_600_000).default(30_000),
  /** BullMQ: how many times a chunk may stall (its worker die) before the job fails. */
  queueMaxStalled: intFromEnv(0).max(100).default(2),
  /** Finished jobs, results, thumbnails and uploads are deleted after this many hours. */
  jobTtlHours: z.coerce.number().gt(0).max(87_600).default(168),
  /** A succeeded job keeps its video (for the review page and dataset export) until it expires. */
  keepVideos: z.union([z.boolean(), z.stringbool()]).default(true),
  /** A redacted video's size, at most, whatever the video (it protects the disk). */
  redactMaxBytes: intFromEnv(1).default(8192 * MB),
  /**
   * ...and at most this many bits per pixel of each frame planned, plus 1 MiB and 32 KiB per
   * second for the container and the audio: an encode that runs past its frames stops. Half of
   * raw 4:2:0; libx264 at crf 20 spent 5.7 on pure noise and 0.05 on a test pattern.
   */
  redactMaxBitsPerPixel: z.coerce.number().gt(0).max(48).default(6),
  /** One redaction may run this long plus FRAMEWATCH_REDACT_TIMEOUT_FACTOR times the video's duration; then ffmpeg is stopped and it fails. */
  redactTimeoutBaseMs: intFromEnv(0).max(86_400_000).default(60_000),
  redactTimeoutFactor: z.coerce.number().min(0).max(1000).default(10),
  /** Videos up to this long answer synchronously unless ?mode= says otherwise. */
  syncMaxSeconds: z.coerce.number().nonnegative().default(60),
  /** Batcher defaults for every model; unset = the measured default for the provider (docs/benchmarks.md). */
  maxBatchSize: intFromEnv(1).max(256).optional(),
  maxQueueDelayMs: z.coerce.number().min(0).max(10_000).optional(),
  maxQueueSize: intFromEnv(1).max(100_000).optional(),
  /** Deadline for an image request to start inference; 0 = none. */
  requestTimeoutMs: intFromEnv(0).max(3_600_000).default(30_000),
  instances: intFromEnv(1).max(64).optional(),
  /** Golden replay tolerance at load; unset = per provider (CPU 1e-4, CUDA 1e-2). */
  skewTolerance: z.coerce.number().gt(0).max(1).optional(),
  /** Recent inputs and predictions kept per model version for drift. */
  driftWindow: intFromEnv(10).max(100_000).default(500),
  /** Bearer token for predict, infer and job routes; unset = open. */
  apiToken: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Separate bearer token for management routes; unset = management closed. */
  adminToken: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Serve /metrics on this port instead; unset = on the main port. */
  metricsPort: intFromEnv(1).max(65535).optional(),
  /** On SIGTERM, in-flight requests get this long to finish. */
  drainTimeoutMs: intFromEnv(0).max(600_000).default(25_000),
  /** Whole-request limit (uploads included). */
  httpTimeoutMs: intFromEnv(1000).max(86_400_000).default(600_000),
  /** Poll models/ for new complete versions this often; unset = off. */
  pollIntervalMs: intFromEnv(100).max(86_400_000).optional(),
});

export type Config = Readonly<z.infer<typeof configSchema>>;

/** Environment variable for each config field; deployment scripts rely on these names. */
export const ENV_NAMES: Record<keyof z.infer<typeof configSchema>, string> = {
  port: 'FRAMEWATCH_PORT',
  host: 'FRAMEWATCH_HOST',
  modelsDir: 'FRAMEWATCH_MODELS_DIR',
  dataDir: 'FRAMEWATCH_DATA_DIR',
  device: 'FRAMEWATCH_DEVICE',
  threads: 'FRAMEWATCH_THREADS',
  threadSpinning: 'FRAMEWATCH_THREAD_SPINNING',
  logLevel: 'FRAMEWATCH_LOG_LEVEL',
  maxImageBytes: 'FRAMEWATCH_MAX_IMAGE_BYTES',
  maxVideoBytes: 'FRAMEWATCH_MAX_VIDEO_BYTES',
  maxImagePixels: 'FRAMEWATCH_MAX_IMAGE_PIXELS',
  videoBatchSize: 'FRAMEWATCH_VIDEO_BATCH_SIZE',
  videoDecodeThreads: 'FRAMEWATCH_VIDEO_DECODE_THREADS',
  maxVideoJobs: 'FRAMEWATCH_MAX_VIDEO_JOBS',
  maxQueuedVideoJobs: 'FRAMEWATCH_MAX_QUEUED_VIDEO_JOBS',
  maxQueuedVideoBytes: 'FRAMEWATCH_MAX_QUEUED_VIDEO_BYTES',
  bodyIdleTimeoutMs: 'FRAMEWATCH_BODY_IDLE_TIMEOUT_MS',
  maxV2JsonBytes: 'FRAMEWATCH_MAX_V2_JSON_BYTES',
  maxV2BinaryBytes: 'FRAMEWATCH_MAX_V2_BINARY_BYTES',
  ffmpegPath: 'FRAMEWATCH_FFMPEG_PATH',
  ffprobePath: 'FRAMEWATCH_FFPROBE_PATH',
  ffmpegHwaccel: 'FRAMEWATCH_FFMPEG_HWACCEL',
  syncMaxSeconds: 'FRAMEWATCH_SYNC_MAX_SECONDS',
  redactMaxBytes: 'FRAMEWATCH_REDACT_MAX_BYTES',
  redactMaxBitsPerPixel: 'FRAMEWATCH_REDACT_MAX_BITS_PER_PIXEL',
  redactTimeoutBaseMs: 'FRAMEWATCH_REDACT_TIMEOUT_BASE_MS',
  redactTimeoutFactor: 'FRAMEWATCH_REDACT_TIMEOUT_FACTOR',
  chunkSeconds: 'FRAMEWATCH_CHUNK_SECONDS',
  chunkConcurrency: 'FRAMEWATCH_CHUNK_CONCURRENCY',
  redisUrl: 'FRAMEWATCH_REDIS_URL',
  role: 'FRAMEWATCH_ROLE',
  queueLockMs: 'FRAMEWATCH_QUEUE_LOCK_MS',
  queueStalledIntervalMs: 'FRAMEWATCH_QUEUE_STALLED_INTERVAL_MS',
  queueMaxStalled: 'FRAMEWATCH_QUEUE_MAX_STALLED',
  jobTtlHours: 'FRAMEWATCH_JOB_TTL_HOURS',
  keepVideos: 'FRAMEWATCH_KEEP_VIDEOS',
  maxBatchSize: 'FRAMEWATCH_MAX_BATCH_SIZE',
  maxQueueDelayMs: 'FRAMEWATCH_MAX_QUEUE_DELAY_MS',
  maxQueueSize: 'FRAMEWATCH_MAX_QUEUE_SIZE',
  requestTimeoutMs: 'FRAMEWATCH_REQUEST_TIMEOUT_MS',
  instances: 'FRAMEWATCH_INSTANCES',
  skewTolerance: 'FRAMEWATCH_SKEW_TOLERANCE',
  driftWindow: 'FRAMEWATCH_DRIFT_WINDOW',
  apiToken: 'FRAMEWATCH_API_TOKEN',
  adminToken: 'FRAMEWATCH_ADMIN_TOKEN',
  metricsPort: 'FRAMEWATCH_METRICS_PORT',
  drainTimeoutMs: 'FRAMEWATCH_DRAIN_TIMEOUT_MS',
  httpTimeoutMs: 'FRAMEWATCH_HTTP_TIMEOUT_MS',
  pollIntervalMs: 'FRAMEWATCH_POLL_INTERVAL_MS',
};

export const CONFIG_FILE_ENV = 'FRAMEWATCH_CONFIG';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads the config once: JSON file (FRAMEWATCH_CONFIG) first, then environment variables
 * on top, then explicit overrides (CLI flags). Throws ConfigError listing every bad field.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Record<keyof Config, unknown>> = {},
): Config {
  const raw: Record<string, unknown> = {};
  const file = env[CONFIG_FILE_ENV];
  if (file) {
    try {
      Object.assign(raw, JSON.parse(readFileSync(file, 'utf8')));
    } catch (err) {
      throw new ConfigError([`${CONFIG_FILE_ENV}: cannot read '${file}': ${(err as Error).message}`]);
    }
  }
  for (const [field, name] of Object.entries(ENV_NAMES)) {
    const value = env[name];
    if (value !== undefined && value !== '') raw[field] = value;
  }
  for (const [field, value] of Object.entries(overrides)) {
    if (value !== undefined) raw[field] = value;
  }
  const parsed = configSchema
    .strict()
    .refine((c) => !c.ffmpegPath === !c.ffprobePath, { path: ['ffmpegPath'], message: 'set together with FRAMEWATCH_FFPROBE_PATH, so probing and decoding use one build' })
    .refine((c) => c.role === 'all' || c.redisUrl, { path: ['role'], message: "'api' and 'worker' need FRAMEWATCH_REDIS_URL (the embedded queue runs in one process)" })
    .safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const field = String(issue.path[0] ?? '');
        const envName = ENV_NAMES[field as keyof Config];
        return `${envName ?? field}: ${issue.message}`;
      }),
    );
  }
  return Object.freeze(parsed.data);
}
