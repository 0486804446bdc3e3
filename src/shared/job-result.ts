import { z } from 'zod';
import { COLOURS } from './colour.js';
import { CUE_KINDS } from './profile.js';
import { ERROR_CODES } from './error-catalogue.js';
import { samplingPlanSchema } from './video.js';

// The job contract from worker to page: detections, a video's result, a job's record. One
// schema each, every type z.infer of it. The server parses stored and queued values with
// them; the review page imports the types only. Pure: no Node and no DOM.

export const boxSchema = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });
export const pointSchema = z.object({ x: z.number(), y: z.number() });

/** One detection in source-image pixels; x and y are the top-left corner. */
export const detectionSchema = z.object({
  label: z.string(),
  classId: z.number(),
  score: z.number(),
  box: boxSchema,
  /** Rotated quad for text boxes: top-left, top-right, bottom-right, bottom-left. */
  polygon: z.array(pointSchema).optional(),
  /** What a text recognizer read in the box, and its confidence (0-1). */
  text: z.string().optional(),
  textScore: z.number().optional(),
  /** The palette colour most common in the centre of the box (video frames; not for text). */
  colour: z.enum(COLOURS).optional(),
});
export type Detection = z.infer<typeof detectionSchema>;

/** One sampled frame's detections: its grid index (or keyframe number) and time. */
export const frameDetectionsSchema = z.object({
  index: z.number().int().nonnegative(),
  timeS: z.number(),
  detections: z.array(detectionSchema).readonly(),
});
export type FrameDetections = z.infer<typeof frameDetectionsSchema>;

export const stageTimingsSchema = z.object({ decodeMs: z.number(), preprocessMs: z.number(), inferenceMs: z.number(), postprocessMs: z.number() });
export type StageTimings = z.infer<typeof stageTimingsSchema>;

export const segmentLabelSchema = z.object({ label: z.string(), maxScore: z.number(), trackCount: z.number().int() });
export type SegmentLabel = z.infer<typeof segmentLabelSchema>;

/** What a review rule saw: an object entering or leaving a zone, crossing a line, dwelling, a crowd, a match. */
export const ruleEventSchema = z.object({
  rule: z.string(),
  kind: z.enum(['enter', 'exit', 'cross', 'dwell', 'count', 'match', 'cue']),
  timeS: z.number(),
  /** cue: which one (speech, loud, black, frozen). */
  cue: z.enum(CUE_KINDS).optional(),
  trackIds: z.array(z.number().int()),
  /** cross: which way, by the line's sides. */
  direction: z.enum(['a-to-b', 'b-to-a']).optional(),
  /** count: how many were in the zone at once. */
  count: z.number().int().optional(),
});
export type RuleEvent = z.infer<typeof ruleEventSchema>;

/** A time span worth watching, with the frame its thumbnail shows. */
export const videoSegmentSchema = z.object({
  index: z.number().int().nonnegative(),
  startS: z.number(),
  endS: z.number(),
  labels: z.array(segmentLabelSchema),
  /** Text readers: what the segment's lines say, clearest first. */
  texts: z.array(z.string()).optional(),
  bestFrame: z.object({ timeS: z.number(), detections: z.array(detectionSchema) }),
  /** With a review profile: the rules that fired in the segment, whether one is an alert, and the tracks behind it. */
  rules: z.array(z.string()).optional(),
  alert: z.boolean().optional(),
  trackIds: z.array(z.number().int()).optional(),
});
export type VideoSegment = z.infer<typeof videoSegmentSchema>;

/** One sample of a track's path: `[timeS, x, y, width, height, score]` (source pixels, the box's top-left corner). */
export const trajectoryPointSchema = z.tuple([z.number(), z.number(), z.number(), z.number(), z.number(), z.number()]);

/**
 * One object followed across sampled frames. `trajectory` is every sample the track matched,
 * in time order, as `[timeS, x, y, width, height, score]`: the detection's box in source pixels
 * (top-left corner, rounded to integers), the time to the millisecond, the score to 0.01.
 */
export const trackSummarySchema = z.object({
  id: z.number().int(),
  label: z.string(),
  text: z.string().optional(),
  startS: z.number(),
  endS: z.number(),
  maxScore: z.number(),
  hits: z.number().int(),
  /** The colour its samples showed most often (absent for text, and in results stored before colours). */
  colour: z.enum(COLOURS).optional(),
  // Results stored before trajectories were kept still read (as tracks without a path), so old jobs keep their review.
  trajectory: z.array(trajectoryPointSchema).default([]),
});
export type TrackSummary = z.infer<typeof trackSummarySchema>;

export const reviewSummarySchema = z.object({ totalS: z.number(), flaggedS: z.number(), flaggedRatio: z.number(), segmentCount: z.number().int() });
export type ReviewSummary = z.infer<typeof reviewSummarySchema>;

const modelRefSchema = z.object({ name: z.string(), version: z.number().int().positive() });

/** A span of speech heard on the audio track, with the voice model's mean probability over it. */
export const speechSpanSchema = z.object({ startS: z.number(), endS: z.number(), score: z.number() });
/** A sudden rise of the short-term level above the track's own background: `level` (the loudest 50 ms RMS) and `backgroundLevel` in dBFS. */
export const loudEventSchema = z.object({ timeS: z.number(), endS: z.number(), level: z.number(), backgroundLevel: z.number().optional() });
/**
 * What the audio track said: `status` 'none' (no audio stream), 'undecodable', 'off'
 * (audio=false), 'failed' (the voice model failed; `error` says why) or 'analysed'.
 */
export const audioAnalysisSchema = z.object({
  status: z.enum(['analysed', 'none', 'undecodable', 'off', 'failed']),
  stream: z.object({ codec: z.string(), sampleRate: z.number().int(), channels: z.number().int() }).optional(),
  /** Why an audio stream could not be analysed ('undecodable', 'failed'). */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /** The voice model that heard the speech. */
  voiceModel: modelRefSchema.optional(),
  speech: z.array(speechSpanSchema).default([]),
  /** Seconds of speech over the seconds of audio analysed. */
  speechRatio: z.number().optional(),
  /** Seconds of audio analysed (the decoded stream's, which may end before the picture). */
  analysedS: z.number().optional(),
  loud: z.array(loudEventSchema).default([]),
  decodeMs: z.number().optional(),
});
export type AudioAnalysis = z.infer<typeof audioAnalysisSchema>;

/** A span of the picture (black or frozen), in seconds and in frame numbers at the video's frame rate (`endFrame` its last frame). */
export const cueSpanSchema = z.object({ startS: z.number(), endS: z.number(), startFrame: z.number().int(), endFrame: z.number().int() });
export type CueSpan = z.infer<typeof cueSpanSchema>;
/** A shot boundary: the first frame of the new shot, with the scene-change score (0-1). */
export const shotBoundarySchema = z.object({ timeS: z.number(), frame: z.number().int(), score: z.number() });
export type ShotBoundary = z.infer<typeof shotBoundarySchema>;
/** Technical cues of the picture, from ffmpeg's own filters. */
export const pictureCuesSchema = z.object({
  shots: z.array(shotBoundarySchema),
  black: z.array(cueSpanSchema),
  frozen: z.array(cueSpanSchema),
});
export type PictureCues = z.infer<typeof pictureCuesSchema>;

/** What a video prediction answers: the sampled video, its tracks, segments and review figures. */
export const videoPredictionSchema = z.object({
  model: modelRefSchema,
  video: z.object({
    durationS: z.number(),
    fps: z.number(),
    width: z.number().int(),
    height: z.number().int(),
    /** false: an audio job (a voice detector's): no picture was decoded, size and fps are 0, codec is the audio's. */
    hasVideo: z.boolean().optional(),
    codec: z.string(),
    framesSampled: z.number().int(),
    /** Which sampling ran (and was asked for). */
    sampling: samplingPlanSchema.pick({ mode: true, requested: true, keyframeIntervalS: true }),
    /** The time of every sampled frame. */
    sampledTimes: z.array(z.number()),
    /** Frames sent to the model and frames the motion gate kept from it (their detections carried forward). */
    motion: z.object({ enabled: z.boolean(), maxSkipS: z.number().optional(), framesInferred: z.number().int(), framesSkipped: z.number().int() }),
  }),
  frames: z.array(frameDetectionsSchema).optional(),
  /** With a review profile: which one (name, and version when stored), and what its rules saw. */
  profile: z.object({ name: z.string(), version: z.number().int().positive().optional() }).optional(),
  events: z.array(ruleEventSchema).optional(),
  tracks: z.array(trackSummarySchema),
  /** The audio track's speech and loud sounds (absent in results stored before audio analysis). */
  audio: audioAnalysisSchema.optional(),
  /** Shots, black and frozen spans of the picture (absent in results stored before cues). */
  cues: pictureCuesSchema.optional(),
  segments: z.array(videoSegmentSchema),
  review: reviewSummarySchema,
  timings: stageTimingsSchema.extend({ thumbnailMs: z.number(), totalMs: z.number(), framesPerSecond: z.number() }),
});
export type VideoPrediction = z.infer<typeof videoPredictionSchema>;

/** A succeeded job's stored result: the prediction under its job id. */
export const jobResultSchema = videoPredictionSchema.extend({ jobId: z.string() });
export type JobResult = z.infer<typeof jobResultSchema>;

/** A result as the API serves it: each segment links its thumbnail. */
export const servedResultSchema = jobResultSchema.extend({ segments: z.array(videoSegmentSchema.extend({ thumbnail: z.string() })) });
export type ServedResult = z.infer<typeof servedResultSchema>;

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const jobErrorSchema = z.object({ code: z.enum(ERROR_CODES), message: z.string(), details: z.unknown().optional() });
export type JobError = z.infer<typeof jobErrorSchema>;

/** A job's record: its state, input, progress and chunks, as every backend stores it. */
export const jobRecordSchema = z.object({
  jobId: z.string(),
  status: z.enum(JOB_STATUSES),
  createdAt: z.string(),
  updatedAt: z.string(),
  model: modelRefSchema,
  input: z.object({ filename: z.string().optional(), bytes: z.number().int().nonnegative(), durationS: z.number() }),
  progress: z.object({ framesDone: z.number().int().nonnegative(), framesTotal: z.number().int().nonnegative(), percent: z.number() }),
  /** The job's time chunks: where each starts, its frames done, and the worker that ran it. */
  chunks: z.array(z.object({ index: z.number().int().nonnegative(), startS: z.number(), framesDone: z.number().int().nonnegative(), worker: z.string().optional() })).optional(),
  error: jobErrorSchema.optional(),
});
export type JobRecord = z.infer<typeof jobRecordSchema>;

/** A job as `GET /v1/jobs/:id` answers it: the record, its links and, once succeeded, the result. */
export const jobViewSchema = jobRecordSchema.extend({ links: z.object({ self: z.string() }), result: servedResultSchema.optional() });
export type JobView = z.infer<typeof jobViewSchema>;
