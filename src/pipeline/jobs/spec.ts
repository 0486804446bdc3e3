import { hostname } from 'node:os';
import { z } from 'zod';
import { rawCuesSchema } from '../../media/cues.js';
import { audioAnalysisSchema, frameDetectionsSchema, stageTimingsSchema } from '../../shared/job-result.js';
import { frameRangeSchema, videoInfoSchema, videoJobOptionsSchema } from '../../shared/video.js';

export { videoJobOptionsSchema, type VideoJobOptions } from '../../shared/video.js';

/**
 * What a video job is, as it crosses processes: the queue's payloads and results have zod
 * schemas at both ends, since another process, another version or another machine may
 * have written them.
 */
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

/** One chunk job: its place in the job and the job's spec. */
export const chunkPayloadSchema = z.object({
  index: z.number().int().nonnegative(),
  range: frameRangeSchema,
  spec: videoJobSpecSchema,
});
export type ChunkPayload = z.infer<typeof chunkPayloadSchema>;

/** What a chunk returns: each frame's detections, its stage timings, and who ran it. */
export const chunkResultSchema = z.object({
  index: z.number().int().nonnegative(),
  frames: z.array(frameDetectionsSchema),
  timings: stageTimingsSchema,
  /** Frames sent to the model (the rest were kept from it by the motion gate). */
  framesInferred: z.number().int().nonnegative(),
  /** The picture cues found in the chunk's decode (cues on). */
  cues: rawCuesSchema.optional(),
  /** The chunk's part of the job's audio (the whole job's when it is the only chunk). */
  audio: audioAnalysisSchema.optional(),
  worker: z.string(),
});
export type ChunkResult = z.infer<typeof chunkResultSchema>;

/** This process, as job records name the worker that ran a chunk. */
export const WORKER_ID = `${hostname()}:${process.pid}`;
