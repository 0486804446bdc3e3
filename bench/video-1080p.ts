// `npm run bench:1080p`: a 60 s 1080p30 H.264 clip (about 6 Mbit/s, a keyframe every 2 s, a
// static background with people moving through it), built with ffmpeg from the fixtures,
// through a real server in each sampling mode, with the decode floor beside it, in one run.
// Reports video seconds per wall second (the real-time factor).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ffmpegPath, probeKeyframes, probeVideo, sampleFrames } from '../src/media/ffmpeg.js';
import { chooseSampling, decoderThreadsFor } from '../src/pipeline/index.js';
import { startServer } from './processes.js';

const SECONDS = 60;

/** Static background (home.jpg) with messi5.jpg's players sliding across it, 1080p30. */
async function buildClip(path: string): Promise<void> {
  const graph = [
    '[0]scale=1920:1080,setsar=1[bg]',
    '[1]scale=640:-2[fg]',
    // The people enter at 10 s, cross the frame, leave at 25 s; again from 40 s to 55 s.
    "[bg][fg]overlay=x='if(between(t,10,25),(t-10)*85,if(between(t,40,55),1920-(t-40)*85,-2000))':y=500:shortest=1,fps=30,format=yuv420p[v]",
  ].join(';');
  await promisify(execFile)(ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-loop', '1', '-t', String(SECONDS), '-i', 'test/fixtures/home.jpg',
    '-loop', '1', '-t', String(SECONDS), '-i', 'test/fixtures/messi5.jpg',
    '-filter_complex', graph, '-map', '[v]',
    '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '6M', '-maxrate', '6M', '-bufsize', '12M', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0',
    path,
  ], { maxBuffer: 1 << 20 });
}

async function decodeSeconds(path: string, keyframes: boolean, fps: number): Promise<number> {
  const info = await probeVideo(path);
  const keyframeTimes = keyframes ? chooseSampling('keyframes', await probeKeyframes(path, info), { fps, startS: 0 }).keyframeTimes : undefined;
  const t0 = performance.now();
  for await (const frame of sampleFrames(path, info, { fps, startS: 0, threads: decoderThreadsFor('cpu'), keyframeTimes })) void frame;
  return (performance.now() - t0) / 1000;
}

async function serve(url: string, video: Buffer, query: string): Promise<{ wallS: number; body: any }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/models/object-detector/predict?labels=person&frames=false&${query}`, { method: 'POST', body: video as BodyInit, headers: { 'content-type': 'video/mp4' } });
  const body = await res.json();
  if (res.status !== 200) throw new Error(JSON.stringify(body));
  return { wallS: (performance.now() - t0) / 1000, body };
}

const dir = await mkdtemp(join(tmpdir(), 'framewatch-1080p-'));
try {
  const path = join(dir, 'clip-1080p.mp4');
  console.log('building the 1080p clip ...');
  await buildClip(path);
  const video = await readFile(path);
  const rows: string[] = [];
  const factor = (s: number) => (SECONDS / s).toFixed(1);
  const exactDecode = await decodeSeconds(path, false, 2);
  const keyDecode = await decodeSeconds(path, true, 2);
  rows.push(`| decode alone, exact grid at 2 fps (every frame decoded) | ${exactDecode.toFixed(1)} | ${factor(exactDecode)}x | | | | | |`);
  rows.push(`| decode alone, keyframes only | ${keyDecode.toFixed(1)} | ${factor(keyDecode)}x | | | | | |`);
  const server = await startServer({ FRAMEWATCH_DATA_DIR: join(dir, 'data') });
  try {
    await serve(server.url, video, 'fps=0.5&sampling=keyframes'); // warm-up
    for (const [name, query] of [
      ['server, exact, fps=2', 'fps=2&sampling=exact'],
      ['server, auto at fps=2 (keyframes every 2 s: runs exact)', 'fps=2&sampling=auto'],
      ['server, auto at fps=0.5 (runs keyframes)', 'fps=0.5&sampling=auto'],
      ['server, keyframes at fps=2', 'fps=2&sampling=keyframes'],
      ['server, exact, fps=2, motion=true', 'fps=2&sampling=exact&motion=true'],
      ['server, keyframes at fps=2, motion=true', 'fps=2&sampling=keyframes&motion=true'],
    ] as const) {
      const { wallS, body } = await serve(server.url, video, query);
      const segments = body.segments.map((s: { startS: number; endS: number }) => `${s.startS}-${s.endS}`).join(', ');
      const inferred = body.video.motion.enabled ? `, ${body.video.motion.framesInferred} inferred, ${body.video.motion.framesSkipped} skipped` : '';
      const t = body.timings;
      const stages = [t.decodeMs, t.preprocessMs, t.inferenceMs, t.postprocessMs, t.thumbnailMs].map((ms: number) => (ms / 1000).toFixed(1)).join(' | ');
      rows.push(`| ${name} (${body.video.sampling.mode}, ${body.video.framesSampled} frames${inferred}; segments ${segments}) | ${wallS.toFixed(1)} | ${factor(wallS)}x | ${stages} |`);
    }
  } finally {
    server.child.kill('SIGTERM');
  }
  const header = '| what | wall s | real-time factor | decode s | preprocess s | inference s | postprocess s | thumbnails s |';
  // Stage times are the server's own: wall time spent in each stage, which overlap (decode runs while frames infer).
  console.log([`60 s 1080p30 H.264 clip, 6 Mbit/s, keyframe every 2 s, object-detector, labels=person:`, '', header, '| --- | --- | --- | --- | --- | --- | --- | --- |', ...rows].join('\n'));
} finally {
  await rm(dir, { recursive: true, force: true });
}
