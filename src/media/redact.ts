// The redaction encoder: every frame of the video (or of the spans asked for) decoded at its
// own rate (the same hardened decoder as sampling), masked in place, and piped into one H.264
// encoder whose inputs are hardened the same way; the audio is copied from the upload
// (re-encoded to AAC, cut to the same spans) unless asked not to. No frame reaches the encoder
// without going through the masks, and the output's frame count is checked against the
// frames decoded: an output that differs is removed and the redaction fails. The output is
// bounded: ffmpeg stops writing at `maxBytes` (-fs) and an output that reached it fails.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

/** The upload as the output's second input (its first audio stream, cut to the spans, as AAC), or no audio. */
function soundArgs(path: string, info: VideoInfo, o: Pick<RedactOptions, 'audio' | 'spans'>, fps: number) {
  return o.audio && info.hasAudio
    ? { input: inputArgs(path, info.demuxer), map: [...audioMapArgs(o.spans, fps), '-c:a', 'aac', '-b:a', '128k'] }
    : { input: [], map: ['-an'] };
}

/** The output's end of an ffmpeg command: bounded at `maxBytes`; `file:`, so the path is never read as another protocol's URL. */
const outputArgs = (maxBytes: number, out: string) => ['-sn', '-dn', '-movflags', '+faststart', '-fs', String(maxBytes), '-f', 'mp4', `file:${out}`];

/** x264 settings every redacted picture is encoded with (the parts of a chunked redaction too, so they join without re-encoding). */
const H264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p'];

function encoderArgs(path: string, info: VideoInfo, fps: number, o: RedactOptions, out: string): string[] {
  const frames = ['-pix_fmt', 'yuv420p', '-s', `${info.width}x${info.height}`, '-r', String(fps), ...inputArgs('pipe:0', 'rawvideo', 'pipe')];
  const sound = soundArgs(path, info, o, fps);
  return ['-hide_banner', '-loglevel', 'error', '-y', ...frames, ...sound.input, '-map', '0:v:0', ...H264, ...sound.map, ...outputArgs(o.maxBytes, out)];
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

const cancelled = () => new FramewatchError('CANCELLED', 'the redaction was cancelled');

/** Throws unless ffmpeg's output at `out` is whole: not cancelled, under its size limit, encoded, and holding `frames` frames. */
async function checkOutput(out: string, e: { code: number | null; stderr: string; source: string; maxBytes: number; frames: number; signal?: AbortSignal }): Promise<void> {
  if (e.signal?.aborted) throw cancelled();
  const bytes = (await stat(out).catch(() => undefined))?.size ?? 0;
  if (bytes >= e.maxBytes) throw new FramewatchError('REDACTION_TOO_LARGE', `the redacted video reached its size limit of ${e.maxBytes} bytes`, { maxBytes: e.maxBytes, frames: e.frames });
  if (e.code !== 0) throw new FramewatchError('INVALID_MEDIA', 'ffmpeg could not encode the redacted video', { reason: reasonFrom(e.stderr || `exit code ${e.code}`, e.source) });
  const inFile = await countFrames(out);
  if (inFile !== e.frames) throw new FramewatchError('INTERNAL', 'the redacted video does not hold every decoded frame', { framesDecoded: e.frames, framesInFile: inFile });
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
    await checkOutput(out, { code, stderr: encoder.stderr(), source: path, maxBytes: o.maxBytes, frames: counts.framesDecoded, signal: o.signal });
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

/**
 * Joins the parts of a chunked redaction (`names`, in order, in `dir`: each a redactVideo
 * output without audio, of consecutive frames) into `out` without re-encoding them, with the
 * upload's audio cut to `o.spans` as one output would have. The list ffmpeg reads is written
 * here, of our own files only (`-safe`: plain relative names). Checked like one output:
 * `frames` frames, under `maxBytes`; a failed join leaves nothing at `out`.
 */
export async function joinRedactedParts(dir: string, names: readonly string[], path: string, info: VideoInfo, o: Pick<RedactOptions, 'audio' | 'spans' | 'maxBytes' | 'signal'> & { frames: number }, out: string): Promise<void> {
  if (o.signal?.aborted) throw cancelled();
  const list = join(dir, 'parts.txt');
  await writeFile(list, names.map((n) => `file '${n}'\n`).join(''));
  const sound = soundArgs(path, info, o, redactionFps(info));
  const args = ['-hide_banner', '-loglevel', 'error', '-y', '-safe', '1', ...inputArgs(list, 'concat'), ...sound.input, '-map', '0:v:0', '-c:v', 'copy', ...sound.map, ...outputArgs(o.maxBytes, out)];
  const child = spawn(mediaTools().ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr = `${stderr}${t}`.slice(-4000)));
  const kill = () => child.kill('SIGKILL');
  o.signal?.addEventListener('abort', kill, { once: true });
  try {
    const [code] = (await once(child, 'close')) as [number | null];
    await checkOutput(out, { code, stderr, source: path, maxBytes: o.maxBytes, frames: o.frames, signal: o.signal });
  } catch (err) {
    await rm(out, { force: true });
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', kill);
    await rm(list, { force: true });
  }
}
