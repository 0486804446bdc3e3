import type { JobResult } from '../../src/pipeline/index.js';

/** A succeeded job's result with no segments, for stores that only need one on disk. */
export const emptyJobResult = (jobId: string, durationS = 1): JobResult => ({
  jobId,
  model: { name: 'm', version: 1 },
  video: {
    durationS, fps: 1, width: 2, height: 2, codec: 'h264', framesSampled: 0,
    sampling: { mode: 'exact', requested: 'exact' }, sampledTimes: [],
    motion: { enabled: false, framesInferred: 0, framesSkipped: 0 },
  },
  tracks: [],
  segments: [],
  review: { totalS: durationS, flaggedS: 0, flaggedRatio: 0, segmentCount: 0 },
  timings: { decodeMs: 0, preprocessMs: 0, inferenceMs: 0, postprocessMs: 0, thumbnailMs: 0, totalMs: 0, framesPerSecond: 0 },
});
