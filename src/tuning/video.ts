import { applyPreprocessing, type PreprocessSpec } from '../../preprocessing/index.js';
import { probeVideo, sampleFrames } from '../media/ffmpeg.js';
import { decoderThreadsFor, videoDecoderScale } from '../pipeline/index.js';
import { DEFAULT_VIDEO_FPS } from '../shared/video.js';
import type { OpenCandidate } from './measure.js';

/** Frames per round: enough to reach the steady state of decode beside inference. */
const FRAMES_PER_ROUND = 48;

/**
 * Frames per second of a video as a job runs it by default: ffmpeg decodes every frame at the
 * model's scale and hands on DEFAULT_VIDEO_FPS of them each second, while the frames before are
 * preprocessed and inferred (two in flight), all on this machine's cores. (At the clip's own
 * rate inference alone would decide, and ffmpeg's share of the cores would not be measured.) Rounds rotate over the candidates, as for images; the figure is the median round.
 */
export async function measureVideoSideBySide(opened: readonly OpenCandidate[], clip: string, spec: PreprocessSpec, rounds: number): Promise<number[]> {
  const info = await probeVideo(clip);
  const scale = videoDecoderScale({ manifest: { preprocessing: spec } }, info);
  const oneRound = async (open: OpenCandidate) => {
    const t0 = performance.now();
    const inflight: Array<Promise<unknown>> = [];
    let frames = 0;
    for await (const frame of sampleFrames(clip, info, { fps: DEFAULT_VIDEO_FPS, startS: 0, maxFrames: FRAMES_PER_ROUND, threads: decoderThreadsFor('cpu'), scale })) {
      inflight.push(open.run(await applyPreprocessing(frame.image, spec, frame.scaledFrom)));
      if (inflight.length >= 2) await inflight.shift();
      frames++;
    }
    await Promise.all(inflight);
    return frames / ((performance.now() - t0) / 1000);
  };
  const perCandidate = opened.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < opened.length; k++) {
      const i = (k + r) % opened.length;
      perCandidate[i].push(await oneRound(opened[i]));
    }
  }
  return perCandidate.map((fps) => [...fps].sort((a, b) => a - b)[Math.floor(fps.length / 2)]);
}
