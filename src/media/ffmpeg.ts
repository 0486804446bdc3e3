// The one adapter around fluent-ffmpeg (archived upstream in 2025): every ffmpeg and ffprobe
// call goes through here, so it can be swapped for a direct spawn without touching callers.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import ffmpeg from 'fluent-ffmpeg';
import type { RgbImage } from '../../preprocessing/index.js';
import { FramewatchError } from '../errors/index.js';

const require = createRequire(import.meta.url);

/** ffmpeg binary: FFMPEG_PATH (a maintained system build) or the npm package's static build. */
export const ffmpegPath = (): string => process.env.FFMPEG_PATH || (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
export const ffprobePath = (): string => process.env.FFPROBE_PATH || (require('@ffprobe-installer/ffprobe') as { path: string }).path;

/** First line of `ffmpeg -version`, logged at start. */
export async function ffmpegVersion(): Promise<string> {
  const { stdout } = await promisify(execFile)(ffmpegPath(), ['-hide_banner', '-version']);
  return stdout.split('\n')[0].trim();
}

export interface VideoInfo {
  durationS: number;
  fps: number;
  /** Frame size after rotation, as ffmpeg delivers decoded frames. */
  width: number;
  height: number;
  rotation: number;
  codec: string;
  container: string;
  hasAudio: boolean;
}

const ratio = (r: string | undefined): number => {
  const [n, d] = (r ?? '0/1').split('/').map(Number);
  return d ? n / d : Number(n) || 0;
};

/** Last meaningful lines of ffmpeg's stderr for error details, without our temp file's path. */
const reasonFrom = (text: string | undefined, path: string): string =>
  (text ?? '').replaceAll(path, 'input').split('\n').map((l) => l.trim()).filter(Boolean).slice(-2).join(' | ') || 'unknown ffmpeg error';

/** ffprobe: NO_VIDEO_STREAM when there is none, INVALID_MEDIA (422) when unreadable. */
export function probeVideo(path: string): Promise<VideoInfo> {
  return new Promise((resolve, reject) => {
    ffmpeg.setFfprobePath(ffprobePath());
    ffmpeg.ffprobe(path, (err: Error | null, data: ffmpeg.FfprobeData) => {
      if (err) return reject(new FramewatchError('INVALID_MEDIA', 'the file cannot be read as media', { reason: reasonFrom(err.message, path) }));
      const video = data.streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
      if (!video) {
        return reject(new FramewatchError('NO_VIDEO_STREAM', 'the file has no video stream', { streams: data.streams.map((s) => s.codec_type) }));
      }
      const sideRotation = (video as { side_data_list?: Array<{ rotation?: number }> }).side_data_list?.find((d) => d.rotation !== undefined)?.rotation;
      const rotation = Number(video.tags?.rotate ?? sideRotation ?? 0);
      const quarterTurn = Math.abs(rotation) % 180 === 90;
      const durationS = Number(data.format.duration ?? video.duration);
      const width = Number(video.width), height = Number(video.height);
      if (!(width > 0 && height > 0) || !(durationS > 0)) {
        return reject(new FramewatchError('INVALID_MEDIA', 'the video stream has no size or duration', { width, height, durationS }));
      }
      resolve({
        durationS,
        fps: ratio(video.avg_frame_rate) || ratio(video.r_frame_rate),
        width: quarterTurn ? height : width,
        height: quarterTurn ? width : height,
        rotation,
        codec: video.codec_name ?? 'unknown',
        container: data.format.format_name ?? 'unknown',
        hasAudio: data.streams.some((s) => s.codec_type === 'audio'),
      });
    });
  });
}

export interface SampleOptions {
  fps: number;
  startS: number;
  /** Exclusive end time; undefined = to the end. */
  endS?: number;
  maxFrames?: number;
  /** Decoder threads; 0 or undefined = ffmpeg's choice (one per core). */
  threads?: number;
  signal?: AbortSignal;
}

export interface SampledFrame {
  index: number;
  timeS: number;
  image: RgbImage;
}

/**
 * Decodes frames at `fps` as raw RGB on a pipe (no file per frame). Reading is pull-based:
 * the pipe applies backpressure, so ffmpeg waits while the consumer is busy.
 */
export async function* sampleFrames(path: string, info: Pick<VideoInfo, 'width' | 'height'>, options: SampleOptions): AsyncGenerator<SampledFrame> {
  const frameBytes = info.width * info.height * 3;
  const output = ['-an', '-sn', '-dn', '-vf', `fps=${options.fps}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24'];
  if (options.endS !== undefined) output.push('-t', String(Math.max(0, options.endS - options.startS)));
  if (options.maxFrames !== undefined) output.push('-frames:v', String(options.maxFrames));
  let stderr = '';
  let failure: Error | undefined;
  const command = ffmpeg(path)
    .setFfmpegPath(ffmpegPath())
    .inputOptions([...(options.threads ? ['-threads', String(options.threads)] : []), ...(options.startS > 0 ? ['-ss', String(options.startS)] : [])])
    .outputOptions(output)
    .on('stderr', (line: string) => {
      stderr = `${stderr}\n${line}`.slice(-4000);
    })
    .on('error', (err: Error) => {
      failure = err;
    });
  const stream = command.pipe() as Readable;
  const abort = () => command.kill('SIGKILL');
  options.signal?.addEventListener('abort', abort, { once: true });
  let index = 0;
  // Each frame is assembled once, straight from the pipe's chunks (no re-concatenation).
  let frame = new Uint8Array(frameBytes);
  let filled = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const take = Math.min(frameBytes - filled, chunk.length - offset);
        frame.set(chunk.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === frameBytes) {
          yield { index, timeS: options.startS + index / options.fps, image: { data: frame, width: info.width, height: info.height } };
          index++;
          frame = new Uint8Array(frameBytes);
          filled = 0;
        }
      }
    }
    // fluent-ffmpeg reports the exit after the stream ends; give it a tick to arrive.
    await new Promise((r) => setImmediate(r));
    if (options.signal?.aborted) throw new FramewatchError('CANCELLED', 'the job was cancelled');
    if (failure && index === 0) {
      throw new FramewatchError('INVALID_MEDIA', 'ffmpeg could not decode the video', { reason: reasonFrom(stderr || failure.message, path) });
    }
  } finally {
    options.signal?.removeEventListener('abort', abort);
    if (!stream.readableEnded) abort();
  }
}
