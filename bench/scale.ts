// The scale section of `npm run bench` (alone: `npm run bench:scale`): one 120 s clip through
// the embedded mode, then shared mode (BullMQ on a real redis-server) with one and with two
// worker processes, side by side in one run. Each worker has FRAMEWATCH_THREADS=1, so two fit
// on a 2-core machine; the embedded server and the single shared worker are also compared at
// the default threads. Wall time is from the upload to the job's `succeeded`.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ffmpegPath } from '../src/media/ffmpeg.js';
import { startRedis, startServer } from './processes.js';

const CLIP_SECONDS = 120;
const FPS = 2;
const CHUNK_SECONDS = 15;

/** A 120 s 640x480 25 fps clip from the fixtures (people in half of it). */
async function buildClip(path: string): Promise<void> {
  const fit = 'scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2,setsar=1';
  const images = ['fruits.jpg', 'messi5.jpg', 'home.jpg', 'basketball1.png'];
  const each = CLIP_SECONDS / images.length;
  const inputs = images.flatMap((f) => ['-loop', '1', '-t', String(each), '-i', `test/fixtures/${f}`]);
  const graph = images.map((_, i) => `[${i}]${fit},fps=25[v${i}]`).join(';') + `;${images.map((_, i) => `[v${i}]`).join('')}concat=n=${images.length}:v=1:a=0`;
  await promisify(execFile)(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...inputs, '-filter_complex', graph, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', path]);
}

/** Upload, then poll until the job succeeds; wall seconds. */
async function timeJob(url: string, video: Buffer): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/models/object-detector/predict?mode=async&fps=${FPS}&frames=false`, { method: 'POST', body: video as RequestInit['body'], headers: { 'content-type': 'video/mp4' } });
  const { jobId } = (await res.json()) as { jobId: string };
  for (;;) {
    const job = (await (await fetch(`${url}/v1/jobs/${jobId}`)).json()) as { status: string; error?: unknown };
    if (job.status === 'succeeded') return (performance.now() - t0) / 1000;
    if (job.status !== 'queued' && job.status !== 'running') throw new Error(`job ${jobId} ${job.status}: ${JSON.stringify(job.error)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface ScaleRow { setup: string; wallS: number; videoSecondsPerWallSecond: number; coresBusy: number }

/** Busy CPU seconds of the whole machine so far (/proc/stat: all but idle and iowait), every process and ffmpeg child included. */
async function busyCpuSeconds(): Promise<number> {
  const cpu = (await readFile('/proc/stat', 'utf8').catch(() => '')).split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  if (cpu.length < 5) return NaN;
  const total = cpu.reduce((a, b) => a + b, 0);
  return (total - cpu[3] - cpu[4]) / 100; // USER_HZ
}

/** Runs one setup: the processes, one warm-up job, then the timed job. */
async function measure(setup: string, video: Buffer, envs: Array<Record<string, string>>): Promise<ScaleRow> {
  const processes = await Promise.all(envs.map((env) => startServer(env)));
  try {
    await timeJob(processes[0].url, video); // warm-up: sessions, caches, Redis scripts
    const cpu0 = await busyCpuSeconds();
    const wallS = await timeJob(processes[0].url, video);
    const coresBusy = ((await busyCpuSeconds()) - cpu0) / wallS;
    return { setup, wallS, videoSecondsPerWallSecond: CLIP_SECONDS / wallS, coresBusy };
  } finally {
    for (const p of processes) p.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export async function scaleBench(): Promise<{ rows: ScaleRow[]; speedup: number; sharedOverEmbedded: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'framewatch-scale-bench-'));
  try {
    const models = join(dir, 'models');
    await cp('models/object-detector', join(models, 'object-detector'), { recursive: true });
    await buildClip(join(dir, 'clip.mp4'));
    const video = await readFile(join(dir, 'clip.mp4'));
    const redis = await startRedis(dir);
    const base = { FRAMEWATCH_MODELS_DIR: models, FRAMEWATCH_CHUNK_SECONDS: String(CHUNK_SECONDS) };
    const shared = (name: string) => ({ ...base, FRAMEWATCH_REDIS_URL: redis.url, FRAMEWATCH_DATA_DIR: join(dir, name) });
    const rows: ScaleRow[] = [];
    try {
      console.log('scale: embedded mode ...');
      rows.push(await measure('embedded (one process, default threads)', video, [{ ...base, FRAMEWATCH_DATA_DIR: join(dir, 'embedded') }]));
      console.log('scale: shared mode, one worker, default threads ...');
      rows.push(await measure('shared: API + 1 worker (default threads)', video, [{ ...shared('s1'), FRAMEWATCH_ROLE: 'api' }, { ...shared('s1'), FRAMEWATCH_ROLE: 'worker' }]));
      console.log('scale: shared mode, one worker, one thread ...');
      const worker = (name: string) => ({ ...shared(name), FRAMEWATCH_ROLE: 'worker', FRAMEWATCH_THREADS: '1' });
      rows.push(await measure('shared: API + 1 worker (FRAMEWATCH_THREADS=1)', video, [{ ...shared('s2'), FRAMEWATCH_ROLE: 'api' }, worker('s2')]));
      console.log('scale: shared mode, two workers, one thread each ...');
      rows.push(await measure('shared: API + 2 workers (FRAMEWATCH_THREADS=1 each)', video, [{ ...shared('s3'), FRAMEWATCH_ROLE: 'api' }, worker('s3'), worker('s3')]));
    } finally {
      redis.stop();
    }
    return { rows, speedup: rows[2].wallS / rows[3].wallS, sharedOverEmbedded: rows[1].wallS / rows[0].wallS };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The section as bench/RESULTS.md shows it. */
export function scaleMarkdown(r: Awaited<ReturnType<typeof scaleBench>>): string {
  return [
    `Scale out: a ${CLIP_SECONDS} s 640x480 clip, object-detector at ${FPS} fps, ${CHUNK_SECONDS} s chunks, upload to \`succeeded\`, each setup after one warm-up job:`,
    ``,
    `| setup | wall s | video s per wall s | cores busy (whole machine) |`,
    `| --- | --- | --- | --- |`,
    ...r.rows.map((row) => `| ${row.setup} | ${row.wallS.toFixed(1)} | ${row.videoSecondsPerWallSecond.toFixed(2)} | ${row.coresBusy.toFixed(2)} |`),
    ``,
    `Two workers against one (one thread each): ${r.speedup.toFixed(2)}x (target 1.6x). Shared mode with one worker against embedded, default threads: ${r.sharedOverEmbedded.toFixed(2)}x the wall time (target within 10%).`,
  ].join('\n');
}

if (process.argv[1]?.endsWith('scale.js')) console.log(scaleMarkdown(await scaleBench()));
