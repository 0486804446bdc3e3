// The redaction encoder: every frame of the video (or of the spans asked for) decoded at its
// own rate (the same hardened decoder as sampling), masked in place, and piped into one H.264
// encoder whose inputs are hardened the same way; the audio is copied from the upload
// (re-encoded to AAC, cut to the same spans) unless asked not to. No frame reaches the encoder
// without going through the masks, and the output's frame count is checked against the
// frames decoded: an output that differs is removed and the redaction fails. The output is
// bounded: ffmpeg stops writing at `maxBytes` (-fs) and an output that reached it fails.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm, stat } from 'node:fs/promises';
import { FramewatchError } from '../errors/index.js';
import { inputArgs, reasonFrom, sampleYuvFrames, type VideoInfo } from './ffmpeg.js';
import { mediaTools } from './ffmpeg-tools.js';
import { drawMasksYuv420, type MaskStyle } from './mask.js';

/** A part of the source the output holds: `frames` frames from `startS` (unset: to the end). */
export interface SourceSpan {
  startS: number;
  frames?: number;
}

/** The whole video, as one span. */
export const WHOLE_VIDEO: readonly SourceSpan[] = [{ startS: 0 }];

export interface RedactOptions {
  style: MaskStyle;
  /** Keep the upload's first audio stream (re-encoded to AAC); false: no audio. */
  audio: boolean;
  /** The parts of the source to output, in order, joined one after the other. */
  spans: readonly SourceSpan[];
  /** The output's size limit in bytes: ffmpeg stops writing there and the redaction fails (REDACTION_TOO_LARGE). */
  maxBytes: number;
  signal?: AbortSignal;
  onProgress?: (framesDone: number) => void;
}

/** Where a span of the source went in the output. */
export interface RedactedSpan {
  sourceStartS: number;
  sourceEndS: number;
  outputStartS: number;
  frames: number;
}

export interface RedactedVideo {
  framesDecoded: number;
  framesEncoded: number;
  /** Frames with at least one mask, and masks drawn over all frames. */
  framesMasked: number;
  masks: number;
  fps: number;
  spans: RedactedSpan[];
}

/** The frame rate frames are decoded and encoded at: the video's own (its average, for variable-rate files). */
export const redactionFps = (info: Pick<VideoInfo, 'fps'>) => (info.fps > 0 && info.fps <= 240 ? info.fps : 25);

const seconds = (x: number) => Math.round(x * 1e6) / 1e6;
const isWholeVideo = (spans: readonly SourceSpan[]) => spans.length === 1 && spans[0].startS === 0 && spans[0].frames === undefined;

/**
 * The audio input's first stream, cut sample-exactly to each span's frames and joined, so
 * sound and picture stay in step across the cuts; the whole stream for the whole video.
 */
function audioMapArgs(spans: readonly SourceSpan[], fps: number): string[] {
  if (isWholeVideo(spans)) return ['-map', '1:a:0?'];
  const cut = (s: SourceSpan, i: number) => `[in${i}]atrim=start=${seconds(s.startS)}${s.frames === undefined ? '' : `:end=${seconds(s.startS + s.frames / fps)}`},asetpts=PTS-STARTPTS[cut${i}]`;
  const labels = (name: string) => spans.map((_, i) => `[${name}${i}]`).join('');
  const graph = [`[1:a:0]asplit=${spans.length}${labels('in')}`, ...spans.map(cut), `${labels('cut')}concat=n=${spans.length}:v=0:a=1[audio]`].join(';');
  return ['-filter_complex', graph, '-map', '[audio]'];
}

function encoderArgs(path: string, info: VideoInfo, fps: number, o: RedactOptions, out: string): string[] {
  const frames = ['-pix_fmt', 'yuv420p', '-s', `${info.width}x${info.height}`, '-r', String(fps), ...inputArgs('pipe:0', 'rawvideo', 'pipe')];
  const sound = o.audio && info.hasAudio
    ? { input: inputArgs(path, info.demuxer), map: [...audioMapArgs(o.spans, fps), '-c:a', 'aac', '-b:a', '128k'] }
    : { input: [], map: ['-an'] };
  const video = ['-map', '0:v:0', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-sn', '-dn', '-movflags', '+faststart'];
  // `file:`: the output path is never read as another protocol's URL.
  return ['-hide_banner', '-loglevel', 'error', '-y', ...frames, ...sound.input, ...video, ...sound.map, '-fs', String(o.maxBytes), '-f', 'mp4', `file:${out}`];
}

/** Frames in the encoded file's video stream, as ffprobe counts its packets. */
async function countFrames(out: string): Promise<number> {
  const child = spawn(mediaTools().ffprobe, ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', ...inputArgs(out, 'mov')], { stdio: ['ignore', 'pipe', 'ignore'] });
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (text += t));
  await once(child, 'close');
  return Number(text.trim());
}

/** The encoder process, fed raw frames on its stdin. It may stop reading early (at its size limit): `write` then answers false. */
function startEncoder(args: string[]) {
  const child = spawn(mediaTools().ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr = `${stderr}${t}`.slice(-4000)));
  let running = true;
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => {
    running = false;
    resolve(code);
  }));
  child.stdin.on('error', () => undefined); // an encoder that stops reading is reported by its exit and its output
  return {
    exited,
    stderr: () => stderr,
    kill: () => child.kill('SIGKILL'),
    /** Writes one frame, waiting for the pipe to drain; false once the encoder has exited. */
    async write(frame: Uint8Array): Promise<boolean> {
      if (running && !child.stdin.write(frame)) await Promise.race([once(child.stdin, 'drain').catch(() => undefined), exited]);
      return running;
    },
    /** Ends the input and waits for the encoder's exit code. */
    finish(): Promise<number | null> {
      child.stdin.end();
      return exited;
    },
  };
}

/**
 * Writes the redacted video to `out`: the spans' frames one after the other, each frame at
 * source time t with `masksAt(t)` (which may wait: the detect passes run ahead). Fails (and leaves nothing at `out`) when decoding or
 * encoding fails, on cancel, when the output reached `maxBytes`, or when the output's frames
 * are not the frames decoded.
 */
type Masks = Array<{ x: number; y: number; width: number; height: number }>;

export async function redactVideo(path: string, info: VideoInfo, masksAt: (timeS: number) => Masks | Promise<Masks>, o: RedactOptions, out: string): Promise<RedactedVideo> {
  const fps = redactionFps(info);
  const cancelled = () => new FramewatchError('CANCELLED', 'the redaction was cancelled');
  if (o.signal?.aborted) throw cancelled(); // an abort listener added now would never fire
  const encoder = startEncoder(encoderArgs(path, info, fps, o, out));
  o.signal?.addEventListener('abort', encoder.kill, { once: true });
  const counts = { framesDecoded: 0, framesEncoded: 0, framesMasked: 0, masks: 0, fps };
  const spans: RedactedSpan[] = [];
  /** Masks and encodes one span's frames; false when the encoder stopped reading. */
  const encodeSpan = async (span: SourceSpan): Promise<boolean> => {
    const first = counts.framesDecoded;
    let reading = true;
    for await (const frame of sampleYuvFrames(path, info, { fps, startS: span.startS, maxFrames: span.frames, signal: o.signal })) {
      const masks = await masksAt(frame.timeS);
      drawMasksYuv420(frame.image, masks, o.style);
      counts.framesDecoded++;
      counts.framesMasked += masks.length > 0 ? 1 : 0;
      counts.masks += masks.length;
      reading = await encoder.write(frame.image.data);
      if (!reading) break;
      counts.framesEncoded++;
      if (counts.framesDecoded % 25 === 0) o.onProgress?.(counts.framesDecoded);
    }
    const frames = counts.framesDecoded - first;
    spans.push({ sourceStartS: seconds(span.startS), sourceEndS: seconds(span.startS + frames / fps), outputStartS: seconds(first / fps), frames });
    return reading;
  };
  try {
    for (const span of o.spans) if (!(await encodeSpan(span))) break;
    const code = await encoder.finish();
    if (o.signal?.aborted) throw cancelled();
    const bytes = (await stat(out).catch(() => undefined))?.size ?? 0;
    if (bytes >= o.maxBytes) throw new FramewatchError('REDACTION_TOO_LARGE', `the redacted video reached its size limit of ${o.maxBytes} bytes`, { maxBytes: o.maxBytes, framesEncoded: counts.framesEncoded });
    if (code !== 0) throw new FramewatchError('INVALID_MEDIA', 'ffmpeg could not encode the redacted video', { reason: reasonFrom(encoder.stderr() || `exit code ${code}`, path) });
    const inFile = await countFrames(out);
    if (inFile !== counts.framesDecoded) throw new FramewatchError('INTERNAL', 'the redacted video does not hold every decoded frame', { framesDecoded: counts.framesDecoded, framesInFile: inFile });
    return { ...counts, spans };
  } catch (err) {
    encoder.kill();
    await encoder.exited;
    await rm(out, { force: true });
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', encoder.kill);
  }
}
