// The audio side of the ffmpeg adapter: the same hardened input options as ffmpeg.ts (one
// named demuxer, the file protocol only, mov's data references off), the first audio stream
// only, decoded to 16 kHz mono float32 on a pipe.
import { spawn } from 'node:child_process';
import { FramewatchError } from '../errors/index.js';
import { inputArgs, mediaTools, reasonFrom, runFfprobe, type VideoInfo } from './ffmpeg.js';

/** What the voice model and the loudness detector hear: 16 kHz mono. */
export const AUDIO_SAMPLE_RATE = 16_000;

/** The first audio stream as ffprobe describes it. */
export interface AudioStreamInfo {
  codec: string;
  sampleRate: number;
  channels: number;
}

/** The first audio stream's codec, rate and channels; undefined when the file has none. INVALID_MEDIA when ffprobe fails. */
export async function probeAudioStream(path: string, info: Pick<VideoInfo, 'demuxer'>, signal?: AbortSignal): Promise<AudioStreamInfo | undefined> {
  const show = ['-select_streams', 'a:0', '-show_entries', 'stream=codec_name,sample_rate,channels', '-of', 'json'];
  const stdout = await runFfprobe(path, info.demuxer, show, 'the audio stream cannot be read', undefined, signal);
  const stream = (JSON.parse(stdout) as { streams?: Array<{ codec_name?: string; sample_rate?: string; channels?: number }> }).streams?.[0];
  if (!stream) return undefined;
  return { codec: stream.codec_name ?? 'unknown', sampleRate: Number(stream.sample_rate) || 0, channels: Number(stream.channels) || 0 };
}

export interface AudioDecodeOptions {
  /** Samples per window given out; the last window may be shorter. */
  windowSamples: number;
  startS?: number;
  /** Exclusive end time; undefined = to the end. */
  endS?: number;
  signal?: AbortSignal;
}

function audioArgs(path: string, info: Pick<VideoInfo, 'demuxer'>, o: AudioDecodeOptions): string[] {
  const seek = o.startS ? ['-ss', String(o.startS)] : [];
  const duration = o.endS !== undefined ? ['-t', String(Math.max(0, o.endS - (o.startS ?? 0)))] : [];
  const output = ['-vn', '-sn', '-dn', '-map', '0:a:0', '-ac', '1', '-ar', String(AUDIO_SAMPLE_RATE), ...duration, '-f', 'f32le', 'pipe:1'];
  return ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', ...seek, ...inputArgs(path, info.demuxer), ...output];
}

/**
 * Decodes the first audio stream to 16 kHz mono float32, given out in windows of
 * `windowSamples`. Pull-based, like sampleFrames: the pipe's backpressure holds ffmpeg while
 * the consumer is busy, so memory stays at a window or two. ffmpeg is killed when the signal
 * aborts or the consumer stops early; it never outlives the generator. CANCELLED on abort;
 * INVALID_MEDIA when no sample comes out (a truncated stream that fails later ends early with
 * what it decoded).
 */
export async function* decodeAudio(path: string, info: Pick<VideoInfo, 'demuxer'>, o: AudioDecodeOptions): AsyncGenerator<Float32Array> {
  const child = spawn(mediaTools().ffmpeg, audioArgs(path, info, o), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = `${stderr}${text}`.slice(-4000)));
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  const kill = () => child.kill('SIGKILL');
  o.signal?.addEventListener('abort', kill, { once: true });
  const windowBytes = o.windowSamples * 4;
  // Bytes land straight in the window's own buffer: a chunk may end inside a sample.
  let window = new Uint8Array(windowBytes);
  let filled = 0;
  let given = 0;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      for (let offset = 0; offset < chunk.length;) {
        const take = Math.min(windowBytes - filled, chunk.length - offset);
        window.set(chunk.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === windowBytes) {
          yield new Float32Array(window.buffer);
          given++;
          window = new Uint8Array(windowBytes);
          filled = 0;
        }
      }
    }
    const { code, error } = await exited;
    if (o.signal?.aborted) throw new FramewatchError('CANCELLED', 'the job was cancelled');
    if (error) throw new FramewatchError('INVALID_MEDIA', 'ffmpeg could not be started', { reason: error.message });
    const samples = Math.floor(filled / 4);
    // A stream ffprobe lists that yields no sample at all is as unreadable as one ffmpeg fails on.
    if (given === 0 && samples === 0) {
      throw new FramewatchError('INVALID_MEDIA', 'ffmpeg could not decode the audio stream', { reason: reasonFrom(stderr || (code === 0 ? 'no audio samples' : `exit code ${code}`), path) });
    }
    if (samples > 0) yield new Float32Array(window.buffer, 0, samples);
  } finally {
    o.signal?.removeEventListener('abort', kill);
    if (child.exitCode === null && child.signalCode === null) kill();
    await exited;
  }
}
