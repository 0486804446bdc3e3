// Clips for test/audio.test.ts, built in a temp folder: espeak-ng speaks, sox makes noise and
// tones, the samples are mixed here (exact SNR), and the npm ffmpeg muxes them with a still
// picture (test/fixtures/fruits.jpg) into an mp4 (H.264 + AAC).
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ffmpegPath } from '../../src/media/ffmpeg.js';

const run = promisify(execFile);
export const RATE = 16_000;

const readF32 = async (path: string) => {
  const raw = await readFile(path);
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
};
const sox = (args: string[]) => run('sox', args);

/** espeak-ng saying `text`, at 16 kHz mono float32. */
async function spoken(dir: string, name: string, text: string): Promise<Float32Array> {
  const wav = join(dir, `${name}.wav`), raw = join(dir, `${name}.f32`);
  await run('espeak-ng', ['-v', 'en', '-s', '150', '-w', wav, text]);
  await sox([wav, '-t', 'f32', '-r', String(RATE), '-c', '1', raw]);
  return readF32(raw);
}

/** `seconds` of sox's `white` or `pink` noise at unit-ish level, 16 kHz mono. */
export async function noise(dir: string, kind: 'white' | 'pink', seconds: number, seed = 7): Promise<Float32Array> {
  const raw = join(dir, `${kind}-${seconds}-${seed}.f32`);
  await sox(['-R', '-n', '-t', 'f32', '-r', String(RATE), '-c', '1', raw, 'synth', String(seconds), `${kind}noise`]);
  return readF32(raw);
}

/** A chord of sines with a slow tremolo (music-like, steady and loud: about -8 dBFS), 16 kHz mono. */
export async function chord(dir: string, seconds: number): Promise<Float32Array> {
  const raw = join(dir, `chord-${seconds}.f32`);
  await sox(['-n', '-t', 'f32', '-r', String(RATE), '-c', '1', raw, 'synth', String(seconds), 'sine', '220', 'sine', '277', 'sine', '330', 'remix', '-', 'tremolo', '3', '40', 'gain', '-n', '-3']);
  return readF32(raw);
}

const power = (s: Float32Array) => s.reduce((a, v) => a + v * v, 0) / Math.max(1, s.length);

/** The clean track: each utterance placed at its time in `seconds` of silence. */
export async function speechTrack(dir: string, seconds: number, utterances: Array<{ atS: number; text: string }>): Promise<Float32Array> {
  const track = new Float32Array(Math.round(seconds * RATE));
  for (const [i, u] of utterances.entries()) track.set((await spoken(dir, `u${i}`, u.text)).map((v) => v * 0.5), Math.round(u.atS * RATE));
  return track;
}

/**
 * Truth at `binS` resolution: a bin is speech where the clean track is within 35 dB of its
 * loudest bin, pauses under 0.3 s (between words) counting as speech.
 */
export function speechTruth(clean: Float32Array, binS = 0.1): boolean[] {
  const n = Math.floor(clean.length / (binS * RATE));
  const levels = Array.from({ length: n }, (_, i) => 10 * Math.log10(power(clean.subarray(i * binS * RATE, (i + 1) * binS * RATE)) + 1e-12));
  const top = Math.max(...levels);
  const bins = levels.map((l) => l > top - 35);
  const maxGap = Math.round(0.3 / binS);
  for (let i = 0, last = -1; i < n; i++) {
    if (!bins[i]) continue;
    if (last >= 0 && i - last - 1 < maxGap) for (let j = last + 1; j < i; j++) bins[j] = true;
    last = i;
  }
  return bins;
}

/** Speech plus noise scaled to `snrDb` against the speech's active power. */
export function mixAtSnr(clean: Float32Array, noiseTrack: Float32Array, snrDb: number): Float32Array {
  const truth = speechTruth(clean, 0.1);
  const active = clean.filter((_, i) => truth[Math.floor(i / (0.1 * RATE))]);
  const gain = Math.sqrt(power(active) / (power(noiseTrack) * 10 ** (snrDb / 10)));
  return clean.map((v, i) => v + gain * (noiseTrack[i] ?? 0));
}

/** Samples scaled to an RMS of `dbfs`. */
export const atLevel = (samples: Float32Array, dbfs: number) => {
  const gain = 10 ** (dbfs / 20) / Math.sqrt(power(samples));
  return samples.map((v) => v * gain);
};

export interface MuxOptions {
  /** AAC at this rate and channel count (the samples are resampled and copied to each channel). */
  sampleRate?: number;
  channels?: number;
}

/** An mp4 of the still picture with `samples` as its AAC track (none: picture only, 3 s). */
export async function muxClip(dir: string, name: string, samples: Float32Array | undefined, o: MuxOptions = {}): Promise<string> {
  const out = join(dir, `${name}.mp4`);
  const picture = ['-loop', '1', '-framerate', '5', '-i', 'test/fixtures/fruits.jpg'];
  const video = ['-vf', 'scale=320:-2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
  if (!samples) {
    await run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...picture, '-t', '3', ...video, out]);
    return out;
  }
  const raw = join(dir, `${name}.f32`);
  await writeFile(raw, new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  const audio = ['-f', 'f32le', '-ar', String(RATE), '-ac', '1', '-i', raw];
  const encode = ['-c:a', 'aac', '-b:a', '128k', '-ar', String(o.sampleRate ?? 44_100), '-ac', String(o.channels ?? 1)];
  await run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...picture, ...audio, '-shortest', ...video, ...encode, '-movflags', '+faststart', out]);
  return out;
}

/** Each utterance's true span (speechTruth's bins), in order: where a speech segment must be. */
export function utteranceSpans(clean: Float32Array, utterances: ReadonlyArray<{ atS: number }>, seconds: number): Array<{ startS: number; endS: number }> {
  const bins = speechTruth(clean);
  return utterances.map(({ atS }, i) => {
    const from = bins.findIndex((on, b) => on && b * 0.1 >= atS - 0.05);
    const next = utterances[i + 1]?.atS ?? seconds;
    let to = bins.length - 1;
    while (to > from && !(bins[to] && to * 0.1 < next)) to--;
    return { startS: from * 0.1, endS: (to + 1) * 0.1 };
  });
}

export interface AudioFileOptions {
  format: 'wav' | 'mp3' | 'flac';
  sampleRate?: number;
  channels?: number;
  /** mp3: an ID3v2 tag (title, artist) before the first frame, as tagging tools write it. */
  id3?: boolean;
}

/** An audio-only file of `samples` (no picture), encoded by the npm ffmpeg. */
export async function audioFile(dir: string, name: string, samples: Float32Array, o: AudioFileOptions): Promise<string> {
  const out = join(dir, `${name}.${o.format}`);
  const raw = join(dir, `${name}.f32`);
  await writeFile(raw, new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  const codec = { wav: ['-c:a', 'pcm_s16le'], mp3: ['-c:a', 'libmp3lame', '-b:a', '96k'], flac: ['-c:a', 'flac'] }[o.format];
  const tags = o.id3 ? ['-id3v2_version', '3', '-metadata', 'title=Interview', '-metadata', 'artist=framewatch tests'] : o.format === 'mp3' ? ['-id3v2_version', '0', '-write_xing', '0'] : [];
  const layout = ['-ar', String(o.sampleRate ?? RATE), '-ac', String(o.channels ?? 1)];
  await run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'f32le', '-ar', String(RATE), '-ac', '1', '-i', raw, ...codec, ...layout, ...tags, '-f', o.format, out]);
  return out;
}
