// `npm run bench:cues-audio`: what picture cues and audio analysis add to a 1080p exact review
// (target <= 10% of its wall time). The 1080p bench clip (bench/video-1080p.ts) with a sound
// track muxed in (pink noise with a 440 Hz tone switched on and off every 2 s, AAC 44.1 kHz
// stereo, so the voice model runs on every block), sent to one server, alternated: neither
// (cues=false&audio=false), cues only, and both (the default), CUES_AUDIO_PAIRS rounds after
// a warm-up. Medians of wall time; the shares are against 'neither' in the same run.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ffmpegPath } from '../src/media/ffmpeg.js';
import { startServer } from './processes.js';
import { buildClip, median, serve, type ServerRow } from './video-1080p.js';

const SECONDS = 60;
const ROUNDS = Number(process.env.CUES_AUDIO_PAIRS ?? 3);
const RUNS = [
  ['neither', 'fps=2&sampling=exact&cues=false&audio=false'],
  ['cues only', 'fps=2&sampling=exact&cues=true&audio=false'],
  ['cues and audio (the default)', 'fps=2&sampling=exact'],
] as const;

async function withSound(video: string, out: string): Promise<void> {
  const sound = `anoisesrc=c=pink:a=0.05:d=${SECONDS}:r=44100[n];sine=f=440:r=44100:d=${SECONDS},volume='if(lt(mod(t,4),2),0.3,0)':eval=frame[t];[n][t]amix=inputs=2,aformat=channel_layouts=stereo[a]`;
  await promisify(execFile)(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-i', video, '-f', 'lavfi', '-i', 'anullsrc', '-filter_complex', sound, '-map', '0:v', '-map', '[a]', '-c:v', 'copy', '-c:a', 'aac', '-b:a', '128k', '-shortest', out]);
}

const dir = await mkdtemp(join(tmpdir(), 'framewatch-cues-audio-'));
try {
  console.log('building the 60 s 1080p clip with sound ...');
  await buildClip(join(dir, 'silent.mp4'));
  await withSound(join(dir, 'silent.mp4'), join(dir, 'clip.mp4'));
  const file = { bytes: await readFile(join(dir, 'clip.mp4')), durationS: SECONDS };
  const server = await startServer({ FRAMEWATCH_DATA_DIR: join(dir, 'data') });
  const rows: ServerRow[] = [];
  try {
    await serve(server.url, file, 'warm-up', RUNS[2][1], 'bench');
    for (let i = 0; i < ROUNDS; i++) {
      for (const [name, query] of RUNS) {
        console.log(`round ${i + 1}/${ROUNDS}: ${name} ...`);
        rows.push(await serve(server.url, file, name, query, 'bench'));
      }
    }
  } finally {
    await server.stop();
  }
  const wall = (name: string) => median(rows.filter((r) => r.name === name).map((r) => r.wallS));
  const base = wall('neither');
  console.log(`\n${SECONDS} s 1080p30 clip with AAC stereo sound, object-detector, exact fps=2; median of ${ROUNDS} alternated rounds:\n`);
  console.log('| request | wall s (each round) | median wall s | added to "neither" |\n| --- | --- | --- | --- |');
  for (const [name] of RUNS) {
    const each = rows.filter((r) => r.name === name).map((r) => r.wallS.toFixed(1)).join(', ');
    console.log(`| ${name} | ${each} | ${wall(name).toFixed(2)} | ${(((wall(name) / base) - 1) * 100).toFixed(1)}% |`);
  }
  const added = wall(RUNS[2][0]) / base - 1;
  console.log(`\ntarget: cues and audio add <= 10% of the wall time: ${(added * 100).toFixed(1)}% (${added <= 0.1 ? 'met' : 'not met'})`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
