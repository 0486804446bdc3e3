import { z } from 'zod';
import type { Task } from './types.js';

/** Silero VAD v5 hears 16 kHz mono float32 in frames of 512 samples (32 ms). */
export const VOICE_SAMPLE_RATE = 16_000;
export const VOICE_FRAME_SAMPLES = 512;
/**
 * v5 wants the last 64 samples of the previous frame before each frame ([N, 576]), as
 * silero-vad's `OnnxWrapper.__call__` and vad-web's `models/silero.js` feed it.
 */
export const VOICE_CONTEXT_SAMPLES = 64;
/** The recurrent state: float32 [2, N, 128], carried from each frame's `stateN` to the next. */
const STATE_WIDTH = 128;

/**
 * From frame probabilities to speech spans: on at `scoreThreshold`, off below `offThreshold`
 * (hysteresis, as Silero's own `get_speech_timestamps`), spans shorter than `minSpeechS`
 * dropped, gaps shorter than `minSilenceS` bridged, each span widened by `padS`.
 */
export const voiceParamsSchema = z.object({
  scoreThreshold: z.number().min(0).max(1).default(0.5),
  offThreshold: z.number().min(0).max(1).default(0.35),
  minSpeechS: z.number().nonnegative().default(0.25),
  minSilenceS: z.number().nonnegative().default(0.2),
  padS: z.number().nonnegative().default(0.1),
});
export type VoiceParams = z.infer<typeof voiceParamsSchema>;

/**
 * A voice-activity model: it takes audio (media/audio.ts decodes it, pipeline/audio frames
 * it), never an image, so image and video-frame routes refuse it; KServe v2 serves its raw
 * tensors like any model's.
 */
export const voiceActivity: Task<VoiceParams> = {
  name: 'silero-vad',
  inputKind: 'audio',
  paramsSchema: voiceParamsSchema,
  postprocess: () => [],
};

/** A tensor fed to the voice model (the runtime's PlainTensor, structurally). */
export interface VoiceTensor {
  readonly type: 'float32' | 'int64';
  readonly data: Float32Array | BigInt64Array;
  readonly dims: readonly number[];
}

/** One run of the voice model on `lanes` frames at once: session.run, or ORT's directly. */
export type RunVoiceModel = (feeds: Record<string, VoiceTensor>) => Promise<Record<string, { readonly data: ArrayLike<number> | BigInt64Array; readonly dims: readonly number[] }>>;

/** A zero state for `lanes` independent streams. */
export const initialVoiceState = (lanes: number): Float32Array => new Float32Array(2 * lanes * STATE_WIDTH);

/** The feeds for `lanes` frames with their context ([lanes, 576]) and their state. */
export function voiceFeeds(framesWithContext: Float32Array, state: Float32Array, lanes: number): Record<string, VoiceTensor> {
  return {
    input: { type: 'float32', data: framesWithContext, dims: [lanes, VOICE_CONTEXT_SAMPLES + VOICE_FRAME_SAMPLES] },
    state: { type: 'float32', data: state, dims: [2, lanes, STATE_WIDTH] },
    sr: { type: 'int64', data: BigInt64Array.of(BigInt(VOICE_SAMPLE_RATE)), dims: [] },
  };
}

/** A warm-up the model accepts (the zero tensors of other models' warm-up are refused: sr 0 is no rate). */
export const voiceWarmUpFeeds = () => voiceFeeds(new Float32Array(VOICE_CONTEXT_SAMPLES + VOICE_FRAME_SAMPLES), initialVoiceState(1), 1);
