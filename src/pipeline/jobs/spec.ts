import { hostname } from 'node:os';
import { z } from 'zod';

/**
 * What a video job is, as it crosses processes: the queue's payloads and results have zod
 * schemas at both ends, since another process, another version or another machine may
 * have written them.
 */
const videoInfoSchema = z.object({
  durationS: z.number().positive(),
  fps: z.number().nonnegative(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  rotation: z.number(),
  codec: z.string(),
  container: z.string(),
  demuxer: z.string(),
  startTimeS: z.number().optional(),
  hasAudio: z.boolean(),
});

export const videoJobOptionsSchema = z.object({
  fps: z.number().positive(),
  startS: z.number().nonnegative(),
  endS: z.number().positive().optional(),
  maxFrames: z.number().int().positive().optional(),
  labels: z.array(z.string()).optional(),
  query: z.array(z.string()).optional(),
  pad: z.number().nonnegative(),
  mergeGap: z.number().nonnegative(),
  threshold: z.number().min(0).max(1).optional(),
  includeFrames: z.boolean(),
  decodeThreads: z.number().int().positive().optional(),
  motion: z.object({ enabled: z.boolean(), maxSkipS: z.number().positive() }).optional(),
  sampling: z
    .object({
      mode: z.enum(['exact', 'keyframes']),
      requested: z.enum(['exact', 'keyframes', 'auto']),
      keyframeIntervalS: z.number().nonnegative().optional(),
      keyframeTimes: z.array(z.number().nonnegative()).optional(),
    })
    .optional(),
});
export type VideoJobOptions = z.infer<typeof videoJobOptionsSchema>;

/** A submitted video: the model (pinned version), the upload, what ffprobe said, the options. */
export const videoJobSpecSchema = z.object({
  jobId: z.string().uuid(),
  model: z.object({ name: z.string(), version: z.number().int().positive() }),
  /** The upload, under the data directory (a shared volume in shared mode). */
  path: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  filename: z.string().optional(),
  info: videoInfoSchema,
  options: videoJobOptionsSchema,
});
export type VideoJobSpec = z.infer<typeof videoJobSpecSchema>;

export const frameRangeSchema = z.object({
  gridStartS: z.number().nonnegative(),
  fps: z.number().positive(),
  firstIndex: z.number().int().nonnegative(),
  frames: z.number().int().positive().optional(),
  endS: z.number().positive().optional(),
  keyframeTimes: z.array(z.number().nonnegative()).optional(),
});

/** One chunk job: its place in the job and the job's spec. */
export const chunkPayloadSchema = z.object({
  index: z.number().int().nonnegative(),
  range: frameRangeSchema,
  spec: videoJobSpecSchema,
});
export type ChunkPayload = z.infer<typeof chunkPayloadSchema>;

const boxSchema = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });
const detectionSchema = z.object({
  label: z.string(),
  classId: z.number(),
  score: z.number(),
  box: boxSchema,
  polygon: z.array(z.object({ x: z.number(), y: z.number() })).optional(),
  /** What a pipeline's reader read: it must survive the trip from a chunk to its parent. */
  text: z.string().optional(),
  textScore: z.number().optional(),
});

/** What a chunk returns: each frame's detections, its stage timings, and who ran it. */
export const chunkResultSchema = z.object({
  index: z.number().int().nonnegative(),
  frames: z.array(z.object({ index: z.number().int().nonnegative(), timeS: z.number(), detections: z.array(detectionSchema) })),
  timings: z.object({ decodeMs: z.number(), preprocessMs: z.number(), inferenceMs: z.number(), postprocessMs: z.number() }),
  /** Frames sent to the model (the rest were kept from it by the motion gate). */
  framesInferred: z.number().int().nonnegative(),
  worker: z.string(),
});
export type ChunkResult = z.infer<typeof chunkResultSchema>;

/** This process, as job records name the worker that ran a chunk. */
export const WORKER_ID = `${hostname()}:${process.pid}`;
