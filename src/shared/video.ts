import { z } from 'zod';
import { profileSchema } from './profile.js';

// The video contract, shared by the server (which parses with these schemas wherever a value
// crosses a process) and the review page (which imports the types only). One schema each;
// every type is z.infer of it. Pure: no Node and no DOM.

/** What ffprobe said of an upload. */
export const videoInfoSchema = z.object({
  durationS: z.number().positive(),
  fps: z.number().nonnegative(),
  /** Frame size after rotation, as ffmpeg delivers decoded frames (0 for an audio-only file). */
  width: z.number().int().nonnegative(),
  height: z.number().int().nonnegative(),
  rotation: z.number(),
  codec: z.string(),
  container: z.string(),
  /** The ffmpeg demuxer that reads this file; sampling passes it as `-f`. */
  demuxer: z.string(),
  /** The container's start time: packet times are offset by it, ffmpeg's seeking is not. */
  startTimeS: z.number().optional(),
  hasAudio: z.boolean(),
  /** false: an audio-only upload (or the picture ignored) for a model that hears audio; unset = a video. */
  hasVideo: z.boolean().optional(),
});
export type VideoInfo = z.infer<typeof videoInfoSchema>;

export const SAMPLING_MODES = ['auto', 'exact', 'keyframes'] as const;
export type SamplingMode = (typeof SAMPLING_MODES)[number];

/** Frames per second a video request samples when it does not say (`fps`). */
export const DEFAULT_VIDEO_FPS = 2;

/**
 * Which frames a video job decodes. `exact`: the fps grid (ffmpeg decodes every frame to
 * pick them). `keyframes`: only keyframes, at their own times; the decoder skips all other
 * frames, so decoding costs a fraction. `auto` picks keyframes when the keyframe interval is
 * no longer than the requested frame interval (1/fps), else exact.
 */
export const samplingPlanSchema = z.object({
  mode: z.enum(['exact', 'keyframes']),
  requested: z.enum(SAMPLING_MODES),
  /** Median keyframe interval of the video, when it was read. */
  keyframeIntervalS: z.number().nonnegative().optional(),
  /** keyframes mode: the times to decode, within start/end and maxFrames. */
  keyframeTimes: z.array(z.number().nonnegative()).optional(),
});
export type SamplingPlan = z.infer<typeof samplingPlanSchema>;

/**
 * Motion gating for static cameras, as Frigate does it: a frame that differs too little from
 * the last inferred frame is not sent to the model, and its detections carry forward. An
 * inference is forced at least every `maxSkipS` seconds of video.
 */
export const motionOptionsSchema = z.object({ enabled: z.boolean(), maxSkipS: z.number().positive() });
export type MotionOptions = z.infer<typeof motionOptionsSchema>;

/**
 * A time range of the sampling grid, as one chunk decodes it: frames from `firstIndex` of a
 * video sampled at `fps` from `gridStartS`, up to `endS` and at most `frames` of them (unset:
 * to the end). Frame i is at gridStartS + i / fps wherever the range starts, so ranges decoded
 * apart give the frames one decode gives. Keyframe sampling lists its times instead.
 */
export const frameRangeSchema = z.object({
  gridStartS: z.number().nonnegative(),
  fps: z.number().positive(),
  firstIndex: z.number().int().nonnegative(),
  frames: z.number().int().positive().optional(),
  endS: z.number().positive().optional(),
  /** Keyframe sampling: the times of this range's keyframes, decoded in place of the grid. */
  keyframeTimes: z.array(z.number().nonnegative()).optional(),
  /**
   * A job cut into chunks: the part of its audio this chunk hears, from its start to the next
   * chunk's (the job's end for the last; unset: to the end). Unset for a job of one chunk,
   * whose first range hears the job's whole range.
   */
  audio: z.object({ startS: z.number().nonnegative(), endS: z.number().positive().optional() }).optional(),
});
export type FrameRange = z.infer<typeof frameRangeSchema>;

/** What a video job is asked to do: the one shape the HTTP layer, the CLI and the queues share. */
export const videoJobOptionsSchema = z.object({
  fps: z.number().positive(),
  startS: z.number().nonnegative(),
  endS: z.number().positive().optional(),
  maxFrames: z.number().int().positive().optional(),
  /** Only tracks of these labels make segments (all when unset). */
  labels: z.array(z.string()).optional(),
  /** Text readers: keep only segments whose text contains one of these terms. */
  query: z.array(z.string()).optional(),
  pad: z.number().nonnegative(),
  mergeGap: z.number().nonnegative(),
  threshold: z.number().min(0).max(1).optional(),
  includeFrames: z.boolean(),
  /** ffmpeg's decoder threads; unset = per provider (decoderThreadsFor). */
  decodeThreads: z.number().int().positive().optional(),
  /** Which decoded frames to infer: motion gating; unset = every frame. */
  motion: motionOptionsSchema.optional(),
  /** Which frames to decode (probeAndPlanSampling); unset = the exact fps grid. */
  sampling: samplingPlanSchema.optional(),
  /** Tracks spanning fewer seconds make no segment and are left out of the result; unset = DEFAULT_MIN_TRACK_S, 0 keeps all. */
  minTrackS: z.number().nonnegative().optional(),
  /** A review profile: segments come from its rules instead of from every track of `labels`. */
  profile: profileSchema.optional(),
  /** Shots, black and frozen spans of the picture; unset = on with exact sampling (same decode), off with keyframes (a decode of their own). */
  cues: z.boolean().optional(),
  /** Speech and loud sounds from the audio track; unset = on. */
  audio: z.boolean().optional(),
});
export type VideoJobOptions = z.infer<typeof videoJobOptionsSchema>;
