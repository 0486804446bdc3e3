// The one adapter around ffmpeg and ffprobe: every call spawns the binaries directly, with the
// demuxer named (-f) and only the file protocol allowed. Uploads are hostile input: nothing
// here lets ffmpeg guess a format or open a second file.
import { execFile, spawn } from 'node:child_process';
import type { PreprocessSpec, RgbImage } from '../../preprocessing/index.js';
import { FramewatchError } from '../errors/index.js';
import { mediaTools } from './ffmpeg-tools.js';
import { CUE_FILTERS, createCueLog, type CueLog, type RawCues } from './cues.js';
import { sniffFile } from './sniff.js';

export { checkHwaccel, ffmpegPath, mediaToolVersions, mediaTools, resolveMediaTools, useMediaTools, type MediaTools } from './ffmpeg-tools.js';

export type { VideoInfo } from '../shared/video.js';
import type { VideoInfo } from '../shared/video.js';

/** The ffprobe run has this long; a file that takes longer to probe is refused. */
const PROBE_TIMEOUT_MS = 30_000;

/**
 * Input options for a file we did not write: one named demuxer, no protocol but `file` (the
 * audio decoder and the redaction encoder use them too). The encoder's frames come on its
 * stdin: the same options, with `pipe` as the one protocol.
 */
export const inputArgs = (path: string, demuxer: string, protocol: 'file' | 'pipe' = 'file') => [
  '-protocol_whitelist', protocol,
  '-f', demuxer,
  // mov can follow "data references" to other files; keep that off whatever the build's default.
  ...(demuxer === 'mov' ? ['-enable_drefs', '0'] : []),
  '-i', path,
];

const ratio = (r: string | undefined): number => {
  const [n, d] = (r ?? '0/1').split('/').map(Number);
  return d ? n / d : Number(n) || 0;
};

/** Last meaningful lines of ffmpeg's stderr for error details, without our temp file's path. */
export const reasonFrom = (text: string | undefined, path: string): string =>
  (text ?? '').replaceAll(path, 'input').split('\n').map((l) => l.trim()).filter(Boolean).slice(-2).join(' | ') || 'unknown ffmpeg error';

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  duration?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  disposition?: { attached_pic?: number };
  tags?: { rotate?: string };
  side_data_list?: Array<{ rotation?: number }>;
}

interface ProbeOutput {
  streams?: ProbeStream[];
  format?: { duration?: string; format_name?: string; start_time?: string };
}

/** Runs ffprobe on an upload with the hardened input options; INVALID_MEDIA (`failure`) when it fails. */
export function runFfprobe(path: string, demuxer: string, show: string[], failure: string, maxBuffer = 4 * 1024 * 1024, signal?: AbortSignal): Promise<string> {
  const args = ['-v', 'error', ...show, ...inputArgs(path, demuxer)];
  return new Promise((resolve, reject) => {
    execFile(mediaTools().ffprobe, args, { timeout: PROBE_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer, signal }, (err, stdout, stderr) => {
      if (err) return reject(new FramewatchError('INVALID_MEDIA', failure, { reason: reasonFrom(stderr || err.message, path) }));
      resolve(stdout);
    });
  });
}

async function runProbe(path: string, demuxer: string): Promise<ProbeOutput> {
  const stdout = await runFfprobe(path, demuxer, ['-print_format', 'json', '-show_format', '-show_streams'], 'the file cannot be read as media');
  try {
    return JSON.parse(stdout) as ProbeOutput;
  } catch {
    throw new FramewatchError('INVALID_MEDIA', 'the file cannot be read as media', { reason: 'ffprobe gave no readable description' });
  }
}

/**
 * Sniffs the file, then runs ffprobe with the sniffed demuxer. UNSUPPORTED_MEDIA_TYPE when the
 * bytes name no audio or video container, NO_VIDEO_STREAM when there is no video stream,
 * INVALID_MEDIA (422) when the file is unreadable.
 */
export async function probeVideo(path: string): Promise<VideoInfo> {
  return probeWith(path, await videoDemuxer(path));
}

/**
 * probeVideo, with the keyframe index (probeKeyframes) read at the same time by a second
 * ffprobe beside the first, instead of after it. It is stopped when the probe fails; a caller
 * that will not await `keyframes` calls `stop` (an unawaited rejection is handled here).
 */
export async function probeVideoAndKeyframes(path: string): Promise<{ info: VideoInfo; keyframes: Promise<number[]>; stop: () => void }> {
  const demuxer = await videoDemuxer(path);
  const stop = new AbortController();
  const packets = keyframePacketTimes(path, demuxer, stop.signal);
  packets.catch(() => undefined);
  try {
    const info = await probeWith(path, demuxer);
    const keyframes = packets.then((times) => fromContainerStart(times, info));
    keyframes.catch(() => undefined);
    return { info, keyframes, stop: () => stop.abort() };
  } catch (err) {
    stop.abort();
    throw err;
  }
}

/**
 * An upload for a model that hears audio (a voice detector): its first audio stream, with the
 * picture ignored. Audio-only files (wav, mp3, flac, m4a, ogg) and videos alike; the info then
 * has `hasVideo: false` and no frame size. NO_AUDIO_STREAM when there is no audio to hear.
 */
export async function probeAudioUpload(path: string): Promise<VideoInfo> {
  const demuxer = await videoDemuxer(path);
  const data = await runProbe(path, demuxer);
  const formatName = checkedFormat(data, demuxer);
  const audio = (data.streams ?? []).find((s) => s.codec_type === 'audio');
  if (!audio) throw new FramewatchError('NO_AUDIO_STREAM', 'the file has no audio stream to hear', { streams: (data.streams ?? []).map((s) => s.codec_type) });
  const durationS = Number(data.format?.duration ?? audio.duration);
  if (!(durationS > 0)) throw new FramewatchError('INVALID_MEDIA', 'the audio stream has no duration', { durationS });
  return {
    durationS, fps: 0, width: 0, height: 0, rotation: 0, codec: audio.codec_name ?? 'unknown', container: formatName, demuxer,
    startTimeS: Number(data.format?.start_time) || 0, hasAudio: true, hasVideo: false,
  };
}

/** The container ffprobe found, which must be the one the first bytes named. */
function checkedFormat(data: Awaited<ReturnType<typeof runProbe>>, demuxer: string): string {
  const formatName = data.format?.format_name ?? '';
  if (!formatName.split(',').includes(demuxer)) {
    throw new FramewatchError('INVALID_MEDIA', 'the container does not match its first bytes', { expected: demuxer, found: formatName });
  }
  return formatName;
}

/** The demuxer the file's first bytes name; UNSUPPORTED_MEDIA_TYPE when they name no audio or video container. */
async function videoDemuxer(path: string): Promise<string> {
  const sniffed = await sniffFile(path);
  if (!sniffed?.demuxer) {
    throw new FramewatchError('UNSUPPORTED_MEDIA_TYPE', 'the file is not a supported video container (mp4, mov, mkv, webm, avi, ogg)');
  }
  return sniffed.demuxer;
}

async function probeWith(path: string, demuxer: string): Promise<VideoInfo> {
  const data = await runProbe(path, demuxer);
  const formatName = checkedFormat(data, demuxer);
  const streams = data.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video) throw new FramewatchError('NO_VIDEO_STREAM', 'the file has no video stream', { streams: streams.map((s) => s.codec_type) });
  const sideRotation = video.side_data_list?.find((d) => d.rotation !== undefined)?.rotation;
  const rotation = Number(video.tags?.rotate ?? sideRotation ?? 0);
  const quarterTurn = Math.abs(rotation) % 180 === 90;
  const durationS = Number(data.format?.duration ?? video.duration);
  const width = Number(video.width), height = Number(video.height);
  if (!(width > 0 && height > 0) || !(durationS > 0)) {
    throw new FramewatchError('INVALID_MEDIA', 'the video stream has no size or duration', { width, height, durationS });
  }
  return {
    durationS,
    fps: ratio(video.avg_frame_rate) || ratio(video.r_frame_rate),
    width: quarterTurn ? height : width,
    height: quarterTurn ? width : height,
    rotation,
    codec: video.codec_name ?? 'unknown',
    container: formatName,
    demuxer,
    startTimeS: Number(data.format?.start_time) || 0,
    hasAudio: streams.some((s) => s.codec_type === 'audio'),
  };
}

/**
 * The video stream's keyframe times in seconds, ascending, from the packet index alone
 * (ffprobe reads packets and decodes nothing; the same hardened input options as probing).
 */
export async function probeKeyframes(path: string, info: Pick<VideoInfo, 'demuxer' | 'startTimeS'>): Promise<number[]> {
  return fromContainerStart(await keyframePacketTimes(path, info.demuxer), info);
}

/** The keyframe packets' times as the container counts them, in file order. */
async function keyframePacketTimes(path: string, demuxer: string, signal?: AbortSignal): Promise<number[]> {
  const show = ['-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0'];
  const stdout = await runFfprobe(path, demuxer, show, 'the keyframes cannot be read', 64 * 1024 * 1024, signal);
  return stdout.split('\n').map((l) => l.split(',')).filter(([t, flags]) => flags?.startsWith('K') && Number.isFinite(Number(t))).map(([t]) => Number(t));
}

/** Packet times count from the container's start time; -ss and the grid count from the file's start. */
function fromContainerStart(times: readonly number[], info: Pick<VideoInfo, 'startTimeS'>): number[] {
  const offset = info.startTimeS ?? 0;
  return [...new Set(times.map((t) => Math.round((t - offset) * 1e6) / 1e6))].sort((a, b) => a - b);
}

export interface SampleOptions {
  fps: number;
  startS: number;
  /** Exclusive end time; undefined = to the end. */
  endS?: number;
  maxFrames?: number;
  /** Decoder threads; undefined = ffmpeg's choice (one per core). */
  threads?: number;
  /**
   * Decode keyframes only (the decoder skips every other frame: a fraction of the work) and
   * deliver each at its own time, `keyframeTimes[i]` for the i-th; fps is then unused.
   */
  keyframeTimes?: readonly number[];
  /**
   * Deliver frames at this size (ffmpeg's scaler, before the pipe) instead of the source size,
   * with the interpolation the preprocessing spec names.
   */
  scale?: { width: number; height: number; interpolation: PreprocessSpec['interpolation'] };
  /**
   * `startS` is a keyframe's time and the next keyframe is more than 2 * KEYFRAME_SEEK_SLACK_S
   * later: seek straight to it and decode from it (for one frame: a thumbnail), instead of
   * from the keyframe before it, as a plain -ss at a keyframe's time does.
   */
  keyframeSeek?: boolean;
  /** Also run the picture cue filters on every decoded frame (a branch of the same decode), into this log. */
  cues?: CueLog;
  signal?: AbortSignal;
}

/** swscale's filter for each interpolation; exact rounding and full-resolution chroma keep it near libvips. */
const SCALER_FLAGS: Record<PreprocessSpec['interpolation'], string> = {
  nearest: 'neighbor',
  linear: 'bilinear+accurate_rnd+full_chroma_int',
  cubic: 'bicubic+accurate_rnd+full_chroma_int',
  lanczos3: 'lanczos+accurate_rnd+full_chroma_int',
};

export interface SampledFrame {
  index: number;
  timeS: number;
  /** RGB; from sampleYuvFrames, planar YUV 4:2:0 in the same fields. */
  image: RgbImage;
  /** Set when ffmpeg scaled the frame (`scale`): the source size it was scaled from, for applyPreprocessing. */
  scaledFrom?: { width: number; height: number };
}

/**
 * ffmpeg seeks 3/23 s before an -ss when the stream has B-frames (a margin for their
 * reordering), which lands on the keyframe before the one asked for. Asking this much past a
 * keyframe, without accurate seeking, lands on the keyframe itself either way, as long as the
 * next keyframe is more than twice this later.
 */
const KEYFRAME_SEEK_SLACK_S = 0.14;

/**
 * How to seek to the keyframe at `timeS` for one frame (a thumbnail), `nextS` being the next
 * keyframe's time: straight to it when that is more than twice the slack later (keyframeSeek);
 * else decoding keyframes only from a millisecond early (timeS is rounded to the millisecond:
 * a keyframe rounded up would be skipped).
 */
export function seekToKeyframe(timeS: number, nextS: number | undefined): Pick<SampleOptions, 'startS' | 'keyframeTimes' | 'keyframeSeek'> {
  const keyframeSeek = nextS !== undefined && nextS - timeS > 2 * KEYFRAME_SEEK_SLACK_S;
  return { startS: keyframeSeek ? timeS : Math.max(0, timeS - 0.001), keyframeTimes: [timeS], keyframeSeek };
}

/** The input's seek: straight to a keyframe (keyframeSeek), or ffmpeg's accurate seek to startS. */
const seekArgs = (options: SampleOptions): string[] => {
  if (options.keyframeSeek) return ['-noaccurate_seek', '-ss', String(options.startS + KEYFRAME_SEEK_SLACK_S)];
  return options.startS > 0 ? ['-ss', String(options.startS)] : [];
};

/** The raw pixel layouts frames come in: packed RGB (what models and pictures take) or planar YUV 4:2:0 (the encoder's own, half the bytes). */
type RawPixelFormat = 'rgb24' | 'yuv420p';

/** Bytes of one raw frame: 3 a pixel, or a full-size luma plane and two chroma planes of half the size each way (rounded up). */
const rawFrameBytes = (width: number, height: number, format: RawPixelFormat) =>
  format === 'rgb24' ? width * height * 3 : width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);

function sampleArgs(path: string, info: Pick<VideoInfo, 'demuxer'>, options: SampleOptions, pixelFormat: RawPixelFormat): string[] {
  // Keyframes at their own times: no fps grid. keyframeSeek decodes normally from its keyframe:
  // skipping the frames after it makes the decoder wait for the next keyframe to give one out.
  const keyframes = options.keyframeTimes !== undefined || options.keyframeSeek === true;
  const input = [
    ...(options.threads ? ['-threads', String(options.threads)] : []),
    ...(options.keyframeTimes !== undefined && !options.keyframeSeek ? ['-skip_frame', 'nokey'] : []),
    // NVDEC decodes on the GPU; frames come back to system memory for the RGB pipe.
    ...(mediaTools().hwaccel ? ['-hwaccel', mediaTools().hwaccel!] : []),
    ...seekArgs(options),
    ...inputArgs(path, info.demuxer),
  ];
  // Keyframes pass through at their own timestamps; the exact grid is ffmpeg's fps filter, each
  // grid time given the frame showing at that time (the last one at or before it: `round=up`).
  // The filter's default keeps the last of the frames nearest to a grid time, up to half an
  // interval after it (at 2 fps from 25, 6 frames late): a track's box would then be placed
  // where the object is 0.24 s later, and a redaction's mask would run ahead of a moving plate.
  const { scale } = options;
  const filters = [...(keyframes ? [] : [`fps=${options.fps}:round=up`]), ...(scale ? [`scale=${scale.width}:${scale.height}:flags=${SCALER_FLAGS[scale.interpolation]}`] : [])];
  const output = ['-an', '-sn', '-dn', ...(keyframes ? ['-vsync', '0'] : []), ...frameFilterArgs(filters, options.cues !== undefined), '-f', 'rawvideo', '-pix_fmt', pixelFormat];
  if (options.endS !== undefined) output.push('-t', String(Math.max(0, options.endS - options.startS)));
  if (options.maxFrames !== undefined) output.push('-frames:v', String(options.maxFrames));
  return ['-hide_banner', '-nostdin', '-nostats', ...logLevelArgs(options.cues !== undefined), ...input, ...output, 'pipe:1'];
}

/** The cue filters report at info level; `level+` tags each line, so the others can be told apart. */
const logLevelArgs = (cues: boolean) => ['-loglevel', cues ? 'level+info' : 'error'];

/**
 * The sampler's filters; with cues, the decoded frames are split: one branch to the sampler's
 * filters and the pipe, the other through the cue filters into a sink.
 */
function frameFilterArgs(filters: readonly string[], cues: boolean): string[] {
  if (!cues) return filters.length ? ['-vf', filters.join(',')] : [];
  const sampled = filters.length ? filters.join(',') : 'null';
  return ['-filter_complex', `[0:v:0]split[sampled][cues];[sampled]${sampled}[frames];[cues]${CUE_FILTERS},nullsink`, '-map', '[frames]'];
}

/**
 * Reads ffmpeg's stderr line by line: cue lines go to the cue log; at `level+info`, other info
 * lines are dropped; the rest is kept (its last 4000 characters) for error messages.
 */
function stderrReader(cues: CueLog | undefined) {
  let kept = '';
  let partial = '';
  return {
    push(text: string) {
      const lines = `${partial}${text}`.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (cues && (cues.line(line) || line.includes('[info]'))) continue;
        kept = `${kept}${line}\n`.slice(-4000);
      }
    },
    text: () => `${kept}${partial}`,
  };
}

/**
 * Decodes frames at `fps` as raw RGB on a pipe (no file per frame), at the source size or `scale`. Reading is pull-based:
 * the pipe applies backpressure, so ffmpeg waits while the consumer is busy. ffmpeg is
 * killed when the signal aborts or the consumer stops early; it never outlives the generator.
 */
export function sampleFrames(path: string, info: Pick<VideoInfo, 'width' | 'height' | 'demuxer'>, options: SampleOptions): AsyncGenerator<SampledFrame> {
  return rawFrames(path, info, options, 'rgb24');
}

/** The same frames as sampleFrames, as planar YUV 4:2:0 (`image.data`: the Y plane, then U, then V). */
export function sampleYuvFrames(path: string, info: Pick<VideoInfo, 'width' | 'height' | 'demuxer'>, options: SampleOptions): AsyncGenerator<SampledFrame> {
  return rawFrames(path, info, options, 'yuv420p');
}

async function* rawFrames(
  path: string,
  info: Pick<VideoInfo, 'width' | 'height' | 'demuxer'>,
  options: SampleOptions,
  pixelFormat: RawPixelFormat,
): AsyncGenerator<SampledFrame> {
  const { width, height } = options.scale ?? info;
  const scaledFrom = options.scale ? { width: info.width, height: info.height } : undefined;
  const frameBytes = rawFrameBytes(width, height, pixelFormat);
  const child = spawn(mediaTools().ffmpeg, sampleArgs(path, info, options, pixelFormat), { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = stderrReader(options.cues);
  child.stderr.setEncoding('utf8').on('data', (text: string) => stderr.push(text));
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  const kill = () => child.kill('SIGKILL');
  options.signal?.addEventListener('abort', kill, { once: true });
  let index = 0;
  // Each frame is assembled once, straight from the pipe's chunks (no re-concatenation), in
  // memory that is not zeroed first: every byte is written before the frame is given out.
  const newFrame = (): Uint8Array => Buffer.allocUnsafeSlow(frameBytes);
  let frame = newFrame();
  let filled = 0;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const take = Math.min(frameBytes - filled, chunk.length - offset);
        frame.set(chunk.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === frameBytes) {
          const timeS = options.keyframeTimes ? options.keyframeTimes[index] ?? options.keyframeTimes.at(-1)! : options.startS + index / options.fps;
          yield { index, timeS, image: { data: frame, width, height }, ...(scaledFrom ? { scaledFrom } : {}) };
          index++;
          frame = newFrame();
          filled = 0;
        }
      }
    }
    const { code, error } = await exited;
    if (options.signal?.aborted) throw new FramewatchError('CANCELLED', 'the job was cancelled');
    if (error) throw new FramewatchError('INVALID_MEDIA', 'ffmpeg could not be started', { reason: error.message });
    if (code !== 0 && index === 0) {
      throw new FramewatchError('INVALID_MEDIA', 'ffmpeg could not decode the video', { reason: reasonFrom(stderr.text() || `exit code ${code}`, path) });
    }
  } finally {
    options.signal?.removeEventListener('abort', kill);
    if (child.exitCode === null && child.signalCode === null) kill();
    await exited;
  }
}

/**
 * The one frame `options` lead to (a seek: a thumbnail, a dataset image); ffmpeg stops after
 * it. INVALID_MEDIA with `failure` when the video has no frame there.
 */
export async function decodeOneFrame(path: string, info: Pick<VideoInfo, 'width' | 'height' | 'demuxer'>, options: SampleOptions, failure: string): Promise<RgbImage> {
  const frames = sampleFrames(path, info, { ...options, maxFrames: 1 });
  try {
    const { value } = await frames.next();
    if (!value) throw new FramewatchError('INVALID_MEDIA', failure);
    return value.image;
  } finally {
    await frames.return(undefined);
  }
}

/**
 * The picture cues of a range in a decode of their own (keyframe sampling decodes keyframes
 * only, so its frames cannot carry them): every frame from `startS` to `endS` through the cue
 * filters, nothing delivered. ffmpeg is killed on abort.
 */
export async function detectPictureCues(path: string, info: Pick<VideoInfo, 'demuxer' | 'fps'>, o: { startS: number; endS?: number; threads?: number; signal?: AbortSignal }, endS: number): Promise<RawCues> {
  const cues = createCueLog(o.startS);
  const args = [
    '-hide_banner', '-nostdin', '-nostats', ...logLevelArgs(true),
    ...(o.threads ? ['-threads', String(o.threads)] : []),
    ...(o.startS > 0 ? ['-ss', String(o.startS)] : []),
    ...inputArgs(path, info.demuxer),
    '-an', '-sn', '-dn', '-vf', CUE_FILTERS,
    ...(o.endS !== undefined ? ['-t', String(Math.max(0, o.endS - o.startS))] : []),
    '-f', 'null', '-',
  ];
  const child = spawn(mediaTools().ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = stderrReader(cues);
  child.stderr.setEncoding('utf8').on('data', (text: string) => stderr.push(text));
  const kill = () => child.kill('SIGKILL');
  o.signal?.addEventListener('abort', kill, { once: true });
  try {
    const { code, error } = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
      child.once('error', (e) => resolve({ code: null, error: e }));
      child.once('close', (c) => resolve({ code: c }));
    });
    if (o.signal?.aborted) throw new FramewatchError('CANCELLED', 'the job was cancelled');
    if (error || code !== 0) throw new FramewatchError('INVALID_MEDIA', 'ffmpeg could not decode the video for its picture cues', { reason: reasonFrom(stderr.text() || error?.message || `exit code ${code}`, path) });
    return cues.finish(endS, 1 / (info.fps || 25));
  } finally {
    o.signal?.removeEventListener('abort', kill);
  }
}
