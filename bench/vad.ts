// `npm run bench:vad`: the voice detector's CPU per hour of audio (target <= 20 s), on 5 minutes
// of synthetic audio (pink noise with a tone switched on and off every 2 s), through the
// served session (its worker thread counts: process.cpuUsage covers every thread). Then the
// whole analyseAudio on an mp4 of the same length: this process's CPU (pipe, loudness, VAD);
// ffmpeg's decode runs in its own process and is not counted.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogger } from '../src/logging/logger.js';
import { ffmpegPath, probeVideo } from '../src/media/ffmpeg.js';
import { analyseAudio } from '../src/pipeline/audio/index.js';
import { createRepository, runVoiceSession } from '../src/registry/index.js';
import { frameProbabilities } from '../src/tasks/index.js';

const SECONDS = 300;
const RATE = 16_000;
const cpuMs = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};
const perHourS = (ms: number) => ((ms / 1000) * 3600) / SECONDS;

function syntheticAudio(): Float32Array {
  const samples = new Float32Array(SECONDS * RATE);
  let b0 = 0, b1 = 0, seed = 1;
  for (let i = 0; i < samples.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const white = seed / 0x7fffffff - 0.5;
    b0 = 0.99 * b0 + 0.1 * white; // a rough pink: low-passed white
    b1 = 0.5 * b1 + 0.5 * b0;
    const tone = Math.floor(i / (2 * RATE)) % 2 ? 0.2 * Math.sin((2 * Math.PI * 220 * i) / RATE) : 0;
    samples[i] = 0.1 * b1 + tone;
  }
  return samples;
}

const repository = createRepository({ root: 'models', device: 'cpu', threads: 1, logger: createLogger('warn'), only: (n) => n === 'voice-detector' });
await repository.loadAll();
const voice = repository.resolve('voice-detector');
const audio = syntheticAudio();
const run = runVoiceSession(voice.session);
const rows: string[] = [];
for (const lanes of [1, 16]) {
  const start = process.cpuUsage();
  const t = performance.now();
  await frameProbabilities(run, audio, { lanes });
  const ms = cpuMs(start);
  rows.push(`| VAD alone, ${lanes} lane${lanes > 1 ? 's' : ''} | ${(ms / 1000).toFixed(2)} | ${perHourS(ms).toFixed(1)} | ${((performance.now() - t) / 1000).toFixed(2)} |`);
}
const dir = await mkdtemp(join(tmpdir(), 'framewatch-bench-vad-'));
try {
  const raw = join(dir, 'audio.f32'), mp4 = join(dir, 'clip.mp4');
  await writeFile(raw, new Uint8Array(audio.buffer));
  await promisify(execFile)(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `color=c=black:s=64x64:r=1:d=${SECONDS}`, '-f', 'f32le', '-ar', String(RATE), '-ac', '1', '-i', raw, '-shortest', '-c:v', 'libx264', '-c:a', 'aac', mp4]);
  const info = await probeVideo(mp4);
  const start = process.cpuUsage();
  const t = performance.now();
  const result = await analyseAudio(mp4, info, { voice });
  const ms = cpuMs(start);
  rows.push(`| analyseAudio (decode pipe, loudness, VAD; ffmpeg not counted), ${result.status} | ${(ms / 1000).toFixed(2)} | ${perHourS(ms).toFixed(1)} | ${((performance.now() - t) / 1000).toFixed(2)} |`);
} finally {
  await rm(dir, { recursive: true, force: true });
  await repository.close();
}
console.log(`${SECONDS / 60} min of 16 kHz audio, voice-detector 1 on 1 ORT thread:\n`);
console.log('| what | CPU s | CPU s per hour of audio | wall s |\n| --- | --- | --- | --- |');
for (const row of rows) console.log(row);
