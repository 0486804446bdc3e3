// The redaction encoder: every frame of the video decoded at its own rate (the same hardened
// decoder as sampling), masked in place, and piped into one H.264 encoder; the audio is copied
// from the upload (re-encoded to AAC) unless asked not to. No frame reaches the encoder
// without going through the masks, and the output's frame count is checked against the
// frames decoded: an output that differs is removed and the redaction fails.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { FramewatchError } from '../errors/index.js';
import { inputArgs, reasonFrom, sampleFrames, type VideoInfo } from './ffmpeg.js';
import { mediaTools } from './ffmpeg-tools.js';
import { drawMasks, type MaskStyle } from './mask.js';

export interface RedactOptions {
  style: MaskStyle;
  /** Keep the upload's first audio stream (re-encoded to AAC); false: no audio. */
  audio: boolean;
  signal?: AbortSignal;
  onProgress?: (framesDone: number) => void;
}

export interface RedactedVideo {
  framesDecoded: number;
  framesEncoded: number;
  /** Frames with at least one mask, and masks drawn over all frames. */
  framesMasked: number;
  masks: number;
  fps: number;
}

/** The frame rate frames are decoded and encoded at: the video's own (its average, for variable-rate files). */
const redactionFps = (info: Pick<VideoInfo, 'fps'>) => (info.fps > 0 && info.fps <= 240 ? info.fps : 25);

function encoderArgs(path: string, info: VideoInfo, fps: number, audio: boolean, out: string): string[] {
  const raw = ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${info.width}x${info.height}`, '-r', String(fps), '-i', 'pipe:0'];
  const sound = audio && info.hasAudio ? { input: inputArgs(path, info.demuxer), map: ['-map', '1:a:0?', '-c:a', 'aac', '-b:a', '128k'] } : { input: [], map: ['-an'] };
  const video = ['-map', '0:v:0', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-sn', '-dn', '-movflags', '+faststart'];
  return ['-hide_banner', '-loglevel', 'error', '-y', ...raw, ...sound.input, ...video, ...sound.map, '-f', 'mp4', out];
}

/** Frames in the encoded file's video stream, as ffprobe counts its packets. */
async function countFrames(out: string): Promise<number> {
  const child = spawn(mediaTools().ffprobe, ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', ...inputArgs(out, 'mov')], { stdio: ['ignore', 'pipe', 'ignore'] });
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (text += t));
  await once(child, 'close');
  return Number(text.trim());
}

/**
 * Writes the redacted video to `out`: each frame at time t gets `masksAt(t)`. Fails (and
 * leaves nothing at `out`) when decoding or encoding fails, on cancel, or when the output's
 * frames are not the frames decoded.
 */
export async function redactVideo(path: string, info: VideoInfo, masksAt: (timeS: number) => Array<{ x: number; y: number; width: number; height: number }>, o: RedactOptions, out: string): Promise<RedactedVideo> {
  const fps = redactionFps(info);
  const encoder = spawn(mediaTools().ffmpeg, encoderArgs(path, info, fps, o.audio, out), { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  encoder.stderr.setEncoding('utf8').on('data', (t: string) => (stderr = `${stderr}${t}`.slice(-4000)));
  const exited = new Promise<number | null>((resolve) => encoder.once('close', resolve));
  encoder.stdin.on('error', () => undefined); // an encoder that dies is reported by its exit code
  const kill = () => encoder.kill('SIGKILL');
  o.signal?.addEventListener('abort', kill, { once: true });
  const counts = { framesDecoded: 0, framesEncoded: 0, framesMasked: 0, masks: 0, fps };
  try {
    for await (const frame of sampleFrames(path, info, { fps, startS: 0, signal: o.signal })) {
      const masks = masksAt(frame.timeS);
      drawMasks(frame.image, masks, o.style);
      counts.framesDecoded++;
      counts.framesMasked += masks.length > 0 ? 1 : 0;
      counts.masks += masks.length;
      if (!encoder.stdin.write(frame.image.data)) await once(encoder.stdin, 'drain');
      counts.framesEncoded++;
      if (counts.framesDecoded % 25 === 0) o.onProgress?.(counts.framesDecoded);
    }
    encoder.stdin.end();
    const code = await exited;
    if (o.signal?.aborted) throw new FramewatchError('CANCELLED', 'the redaction was cancelled');
    if (code !== 0) throw new FramewatchError('INVALID_MEDIA', 'ffmpeg could not encode the redacted video', { reason: reasonFrom(stderr || `exit code ${code}`, path) });
    const inFile = await countFrames(out);
    if (inFile !== counts.framesDecoded) throw new FramewatchError('INTERNAL', 'the redacted video does not hold every decoded frame', { framesDecoded: counts.framesDecoded, framesInFile: inFile });
    return counts;
  } catch (err) {
    kill();
    await exited;
    await rm(out, { force: true });
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', kill);
  }
}
