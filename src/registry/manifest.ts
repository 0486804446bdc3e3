import { z } from 'zod';
import { preprocessSpecSchema } from '../../preprocessing/index.js';

export const MODEL_NAME_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const VERSION_RE = /^[1-9][0-9]{0,8}$/;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256');

const tensorSpec = z.object({
  name: z.string().min(1),
  dtype: z.string().min(1),
  /** -1 marks a dynamic dimension. */
  shape: z.array(z.number().int().min(-1)),
});

/** The committed description of one model version: naming, provenance, I/O and processing. */
/** Decisions a version needs before its reviewers' numbers judge it. */
export const DEFAULT_MIN_DECISIONS = 20;

/** What a model version is expected to achieve with reviewers (GET .../quality judges it). */
export const expectedSchema = z.strictObject({
  precision: z.number().min(0).max(1).optional(),
  timeSavedRatio: z.number().max(1).optional(),
  /** Decisions needed before the version is judged (fewer: insufficient-data). */
  minDecisions: z.number().int().positive().default(DEFAULT_MIN_DECISIONS),
});
export type Expected = z.infer<typeof expectedSchema>;

const modelName = z.string().regex(MODEL_NAME_RE, 'must be lowercase kebab-case');
const positiveInt = z.number().int().positive();

/** The file beside a tuned version's manifest that records how its settings were chosen. */
export const TUNING_RECORD = 'tuning.json';

/**
 * ONNX Runtime settings `framewatch tune` measured best on a machine with `tunedCores` usable
 * cores. Thread counts apply only on a machine with that many cores (elsewhere the rule in
 * registry/threads.ts does); the graph settings apply everywhere.
 */
export const runtimeSchema = z.strictObject({
  graphOptimizationLevel: z.enum(['basic', 'extended', 'all']).optional(),
  executionMode: z.enum(['sequential', 'parallel']).optional(),
  interOpThreads: positiveInt.optional(),
  /** Intra-op threads of the (first) session that answers images. */
  intraOpThreads: positiveInt.optional(),
  /** Intra-op threads of each further instance (a session of its own, CPU); default intraOpThreads. */
  instanceIntraOpThreads: positiveInt.optional(),
  /** Intra-op threads of the session that runs video frames beside ffmpeg (bulk, and the worker role). */
  bulkIntraOpThreads: positiveInt.optional(),
  tunedCores: positiveInt,
});
export type RuntimeTuning = z.infer<typeof runtimeSchema>;

export const manifestSchema = z.object({
  project: z.string().min(1),
  name: modelName,
  version: z.number().int().positive(),
  createdAt: z.iso.datetime(),
  task: z.string().min(1),
  description: z.string().optional(),
  source: z.object({
    /**
     * ONNX file, a TF.js graph model converted by the exporter, or another version of this
     * model (`path` "<name>/<version>", its model file's sha256), which `tune` derived.
     */
    format: z.enum(['onnx', 'tfjs', 'version']).default('onnx'),
    package: z.string().optional(),
    path: z.string().min(1),
    /** For tfjs: over model.json followed by its weight shards. */
    sha256,
    license: z.string().optional(),
    /** For tfjs: the TF node names the graph was cut at, which become the ONNX outputs. */
    outputs: z.array(z.string()).optional(),
    /** For version: how the model file was derived (int8: quantized with the committed quantization.json). */
    variant: z.enum(['copy', 'int8']).optional(),
  }),
  file: z.object({ name: z.string().min(1), sha256 }),
  inputs: z.array(tensorSpec).min(1),
  outputs: z.array(tensorSpec).min(1),
  preprocessing: preprocessSpecSchema,
  postprocessing: z.record(z.string(), z.unknown()).default({}),
  labels: z.array(z.string()).min(1),
  golden: z.array(z.object({ input: z.string().min(1), sha256 })).default([]),
  /** Reviewers' numbers this version should reach: precision, time saved. */
  expected: expectedSchema.optional(),
  /**
   * What a review of this model's video starts from: the labels that make segments when a
   * request names none (the page and the CLI prefill them).
   */
  review: z.strictObject({ labels: z.array(z.string().min(1)).min(1).optional() }).optional(),
  /** Per-model batcher overrides; unset fields take the server's defaults. */
  serving: z
    .object({
      maxBatchSize: z.number().int().positive().optional(),
      bulkMaxBatchSize: z.number().int().positive().optional(),
      maxQueueDelayMs: z.number().nonnegative().optional(),
      maxQueueSize: z.number().int().positive().optional(),
      timeoutMs: z.number().int().nonnegative().optional(),
      instances: z.number().int().positive().optional(),
    })
    .optional(),
  /** ONNX Runtime settings from `framewatch tune` (the record is TUNING_RECORD). */
  runtime: runtimeSchema.optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type TensorSpec = z.infer<typeof tensorSpec>;

/**
 * A pipeline of existing model versions, versioned and named like a model. Step 0 runs on the
 * image; each later step runs on crops of the previous step's detections (`crop: 'quad'`: the
 * detection's rotated quad, warped upright; its box when it has none) and what it reads
 * (`text`, `textScore`) is merged into that detection.
 */
export const pipelineManifestSchema = z.strictObject({
  kind: z.literal('pipeline'),
  // Named, versioned and described as a model is.
  ...manifestSchema.pick({ project: true, name: true, version: true, createdAt: true, description: true }).shape,
  steps: z
    .array(z.strictObject({
      model: modelName,
      /** Pinned: a pipeline version always runs the same step versions. */
      version: z.number().int().positive(),
      crop: z.enum(['quad']).optional(),
    }))
    .min(2)
    .refine((steps) => steps.slice(1).every((s) => s.crop), 'every step after the first needs crop'),
});
export type PipelineManifest = z.infer<typeof pipelineManifestSchema>;
