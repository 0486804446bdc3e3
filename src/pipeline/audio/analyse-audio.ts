import { performance } from 'node:perf_hooks';
import { FramewatchError, isFramewatchError } from '../../errors/index.js';
import { AUDIO_SAMPLE_RATE, decodeAudio, probeAudioStream, type AudioStreamInfo } from '../../media/audio.js';
import type { VideoInfo } from '../../media/ffmpeg.js';
import type { ReadyModel } from '../../registry/index.js';
import { DEFAULT_LANES, frameProbabilities, speechRatio, speechSpans, VOICE_FRAME_SAMPLES, voiceParamsSchema, WARMUP_FRAMES, type RunVoiceModel } from '../../tasks/index.js';
import type { AudioAnalysis } from '../../shared/job-result.js';
import { createLoudDetector } from './loud-events.js';

export interface AudioAnalysisOptions {
  /** The voice-detector version (`repository.resolve('voice-detector')`); unset = loud sounds only. */
  voice?: ReadyModel;
  signal?: AbortSignal;
  startS?: number;
  /** Exclusive end; undefined = to the end. */
  endS?: number;
  /** Seconds of audio heard so far, every 10 s of it. */
  onProgress?: (secondsDone: number) => void;
}

/** Decoded windows: 8192 samples (0.5 s), a whole number of voice frames. */
const WINDOW_SAMPLES = 16 * VOICE_FRAME_SAMPLES;
/** One voice block: 16 lanes of 128 frames (65 s, 4 MB): the memory the analysis holds. */
const BLOCK_SAMPLES = DEFAULT_LANES * 128 * VOICE_FRAME_SAMPLES;
const FRAME_S = VOICE_FRAME_SAMPLES / AUDIO_SAMPLE_RATE;
const PROGRESS_SAMPLES = 10 * AUDIO_SAMPLE_RATE;
/** Seconds heard before a part's start: the loudness background's window (3 s), which also covers the lanes' warm-up. */
const PRE_ROLL_S = 3;

/**
 * The audio track of a video: speech spans (the voice model) and loud sounds, from one decode
 * of the first audio stream at 16 kHz mono. Never fails the job for its audio: no stream is
 * status 'none', a stream ffmpeg cannot read is 'undecodable' with the error. Throws CANCELLED
 * when the signal aborts, and what the voice model's session throws (INFERENCE_FAILED).
 */
export async function analyseAudio(path: string, info: VideoInfo, o: AudioAnalysisOptions = {}): Promise<AudioAnalysis> {
  if (!info.hasAudio) return { status: 'none', speech: [], loud: [] };
  const started = performance.now();
  let stream: AudioStreamInfo | undefined;
  try {
    stream = await probeAudioStream(path, info, o.signal);
    if (!stream) return { status: 'none', speech: [], loud: [] };
    return { ...(await listen(path, info, stream, o)), decodeMs: Math.round(performance.now() - started) };
  } catch (err) {
    if (o.signal?.aborted) throw new FramewatchError('CANCELLED', 'the job was cancelled');
    if (!isFramewatchError(err) || err.code !== 'INVALID_MEDIA') throw err;
    const reason = (err.details as { reason?: string } | undefined)?.reason;
    return { status: 'undecodable', ...(stream ? { stream } : {}), error: { code: err.code, message: reason ? `${err.message}: ${reason}` : err.message }, speech: [], loud: [] };
  }
}

/** Decodes once and feeds both listeners: the voice model block by block, the loudness window by window. */
async function listen(path: string, info: VideoInfo, stream: AudioStreamInfo, o: AudioAnalysisOptions): Promise<AudioAnalysis> {
  const offsetS = o.startS ?? 0;
  // A part after the track's start hears the seconds before it too, unreported: the loudness
  // background and the voice model's lanes then start as they would in one pass.
  const decodeFromS = Math.max(0, offsetS - PRE_ROLL_S);
  const preRoll = new Float32Array(Math.round((offsetS - decodeFromS) * AUDIO_SAMPLE_RATE));
  let preRolled = 0;
  const loud = createLoudDetector({ sampleRate: AUDIO_SAMPLE_RATE });
  let voice: ReturnType<typeof createVoiceListener> | undefined;
  let samples = 0;
  for await (const decoded of decodeAudio(path, info, { windowSamples: WINDOW_SAMPLES, startS: decodeFromS || undefined, endS: o.endS, signal: o.signal })) {
    loud.push(decoded);
    const skip = Math.min(decoded.length, preRoll.length - preRolled);
    preRoll.set(decoded.subarray(0, skip), preRolled);
    preRolled += skip;
    const window = decoded.subarray(skip);
    if (window.length === 0) continue;
    voice ??= o.voice ? createVoiceListener(o.voice, preRoll.length ? preRoll : undefined) : undefined;
    samples += window.length;
    await voice?.push(window);
    if (samples % PROGRESS_SAMPLES < window.length) o.onProgress?.(samples / AUDIO_SAMPLE_RATE);
  }
  const analysedS = samples / AUDIO_SAMPLE_RATE;
  const base = { status: 'analysed' as const, stream, analysedS: Math.round(analysedS * 1000) / 1000, loud: loud.finish(decodeFromS).filter((e) => e.timeS >= offsetS) };
  if (!o.voice) return { ...base, speech: [] };
  if (!voice) return { ...base, voiceModel: { name: o.voice.name, version: o.voice.version }, speech: [], speechRatio: 0 };
  const speech = speechSpans(await voice.finish(), FRAME_S, voiceParamsSchema.parse(o.voice.manifest.postprocessing), offsetS);
  return { ...base, voiceModel: { name: o.voice.name, version: o.voice.version }, speech, speechRatio: speechRatio(speech, analysedS) };
}

/**
 * Below this peak (-60 dBFS) a block is digital silence: no speech to hear, so the model is
 * not run on it (a silent 10-hour track costs its decode only).
 */
const SILENCE_PEAK = 1e-3;

const peakOf = (audio: Float32Array) => audio.reduce((peak, v) => Math.max(peak, Math.abs(v)), 0);

/**
 * Gathers samples into blocks and runs each through the voice model's lanes (one batch per
 * step, through the model's batcher as bulk work, so image requests go first and its
 * metrics count it), warmed up on the end of the block before; the frame probabilities of
 * the whole track (4 bytes per 32 ms).
 */
function createVoiceListener(model: ReadyModel, before?: Float32Array) {
  const run: RunVoiceModel = (feeds) => model.batcher.runFeeds(feeds, 'bulk');
  const block = new Float32Array(BLOCK_SAMPLES);
  const parts: Float32Array[] = [];
  let filled = 0;
  let history = before?.slice(-WARMUP_FRAMES * VOICE_FRAME_SAMPLES);
  const flush = async () => {
    const audio = block.subarray(0, filled);
    const silent = peakOf(audio) < SILENCE_PEAK;
    parts.push(silent ? new Float32Array(Math.ceil(filled / VOICE_FRAME_SAMPLES)) : await frameProbabilities(run, audio, { history }));
    history = audio.slice(-WARMUP_FRAMES * VOICE_FRAME_SAMPLES);
    filled = 0;
  };
  return {
    async push(window: Float32Array): Promise<void> {
      for (let offset = 0; offset < window.length;) {
        const take = Math.min(BLOCK_SAMPLES - filled, window.length - offset);
        block.set(window.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === BLOCK_SAMPLES) await flush();
      }
    },
    async finish(): Promise<Float32Array> {
      if (filled > 0) await flush();
      const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
      return all;
    },
  };
}
