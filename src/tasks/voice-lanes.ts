import { initialVoiceState, voiceFeeds, VOICE_CONTEXT_SAMPLES, VOICE_FRAME_SAMPLES, type RunVoiceModel } from './voice-activity.js';

/**
 * Frames each lane hears before its own, outputs discarded: the recurrent state forgets its
 * zero start in well under 0.5 s (test/audio.test.ts compares the lanes with one stream).
 */
export const WARMUP_FRAMES = 16;

/** Lanes run in one batch: 16 take a third of one stream's CPU per frame (bench/vad.ts). */
export const DEFAULT_LANES = 16;

export interface LaneOptions {
  /** The audio just before `audio` (up to WARMUP_FRAMES frames), heard only to warm the lanes up. */
  history?: Float32Array;
  lanes?: number;
}

/**
 * The speech probability of each 512-sample frame of `audio` (a last partial frame is padded
 * with silence). The recurrent model is one stream in time, so instead of one frame per run
 * the block is cut into `lanes` consecutive parts, run side by side as one batch, each with its
 * own state, started WARMUP_FRAMES frames early on the audio before it (silence before the
 * track's start).
 */
export async function frameProbabilities(run: RunVoiceModel, audio: Float32Array, o: LaneOptions = {}): Promise<Float32Array> {
  const frames = Math.ceil(audio.length / VOICE_FRAME_SAMPLES);
  const probabilities = new Float32Array(frames);
  if (frames === 0) return probabilities;
  const lanes = Math.max(1, Math.min(o.lanes ?? DEFAULT_LANES, frames));
  const laneFrames = Math.ceil(frames / lanes);
  const padded = withWarmUp(audio, o.history, lanes * laneFrames);
  let state = initialVoiceState(lanes);
  const batch = new Float32Array(lanes * (VOICE_CONTEXT_SAMPLES + VOICE_FRAME_SAMPLES));
  for (let step = 0; step < WARMUP_FRAMES + laneFrames; step++) {
    for (let lane = 0; lane < lanes; lane++) copyFrameWithContext(padded, lane * laneFrames + step, batch, lane);
    const outputs = await run(voiceFeeds(batch.slice(), state, lanes));
    state = Float32Array.from(outputs.stateN.data as ArrayLike<number>);
    if (step < WARMUP_FRAMES) continue;
    for (let lane = 0; lane < lanes; lane++) {
      const frame = lane * laneFrames + step - WARMUP_FRAMES;
      if (frame < frames) probabilities[frame] = Number(outputs.output.data[lane]);
    }
  }
  return probabilities;
}

/** WARMUP_FRAMES frames of history (silence where there is none), the audio, then silence to `frames` frames. */
function withWarmUp(audio: Float32Array, history: Float32Array | undefined, frames: number): Float32Array {
  const lead = WARMUP_FRAMES * VOICE_FRAME_SAMPLES;
  const padded = new Float32Array(lead + frames * VOICE_FRAME_SAMPLES);
  const heard = history ? history.subarray(Math.max(0, history.length - lead)) : new Float32Array(0);
  padded.set(heard, lead - heard.length);
  padded.set(audio, lead);
  return padded;
}

/** Frame `index` of `padded` with the 64 samples before it (zeros before the start), into `lane` of `batch`. */
function copyFrameWithContext(padded: Float32Array, index: number, batch: Float32Array, lane: number): void {
  const width = VOICE_CONTEXT_SAMPLES + VOICE_FRAME_SAMPLES;
  const end = (index + 1) * VOICE_FRAME_SAMPLES;
  const start = end - width;
  const target = batch.subarray(lane * width, (lane + 1) * width);
  if (start >= 0) target.set(padded.subarray(start, end));
  else {
    target.fill(0, 0, -start);
    target.set(padded.subarray(0, end), -start);
  }
}
