// `npm run bench:redact`: face redaction of a 720p30 clip on this machine, through a real
// server process: the moving-faces clip of test/redaction.test.ts (four faces, 80 to 20 px),
// REDACT_SECONDS long (default 20) at 30 fps; a job on it (object-detector, its kept video),
// then {"targets": ["faces"], "style": "blur"} timed from the POST to the succeeded record.
// Reports x real time (video seconds / wall seconds), the audit's stage split and the server's
// CPU seconds (its ffmpeg children included, from /proc). Prints markdown. REDACT_WORKERS=N
// runs it in the shared mode instead: redis-server, an API process and N worker processes
// (FRAMEWATCH_THREADS=1 each), parts of REDACT_CHUNK_SECONDS (default 5); CPU is all of them.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { movingFacesVideo } from '../test/helpers/videos.js';
import { cpuSeconds } from './bundled.js';
import { startRedis, startServer } from './processes.js';

const SECONDS = Number(process.env.REDACT_SECONDS ?? 20);
const ROUNDS = Number(process.env.REDACT_ROUNDS ?? 2);
const FACE_FPS = process.env.REDACT_FACE_FPS ? Number(process.env.REDACT_FACE_FPS) : undefined;
const WORKERS = Number(process.env.REDACT_WORKERS ?? 0);
const CHUNK_SECONDS = process.env.REDACT_CHUNK_SECONDS ?? '5';

async function json(url: string, init?: RequestInit): Promise<any> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The embedded server, or (REDACT_WORKERS) redis-server, an API and the workers on one data directory. */
async function startServers(dir: string) {
  const env = { FRAMEWATCH_DATA_DIR: join(dir, 'data'), FRAMEWATCH_KEEP_VIDEOS: 'true' };
  if (WORKERS === 0) {
    const server = await startServer(env);
    return { url: server.url, pids: [server.child.pid!], stop: () => server.stop() };
  }
  const redis = await startRedis(dir);
  const shared = { ...env, FRAMEWATCH_REDIS_URL: redis.url, FRAMEWATCH_CHUNK_SECONDS: CHUNK_SECONDS };
  const servers = await Promise.all([
    startServer({ ...shared, FRAMEWATCH_ROLE: 'api' }),
    ...Array.from({ length: WORKERS }, () => startServer({ ...shared, FRAMEWATCH_ROLE: 'worker', FRAMEWATCH_THREADS: '1' })),
  ]);
  return {
    url: servers[0].url,
    pids: servers.map((s) => s.child.pid!),
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
      redis.stop();
    },
  };
}
const serverCpu = (pids: readonly number[]) => pids.reduce((n, pid) => n + cpuSeconds(pid), 0);

const dir = await mkdtemp(join(tmpdir(), 'framewatch-bench-redact-'));
const server = await startServers(dir);
try {
  const clip = join(dir, 'faces-720p30.mp4');
  await movingFacesVideo(clip, { seconds: SECONDS, fps: 30 });
  const form = new FormData();
  form.append('file', new Blob([await readFile(clip)], { type: 'video/mp4' }), 'faces.mp4');
  const { jobId } = await json(`${server.url}/v1/models/object-detector/predict?mode=async&fps=1`, { method: 'POST', body: form });
  await until(() => json(`${server.url}/v1/jobs/${jobId}`), (j) => j.status !== 'queued' && j.status !== 'running');
  const rows: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const load = loadavg()[0];
    const cpu0 = serverCpu(server.pids);
    const t0 = performance.now();
    const started = await json(`${server.url}/v1/jobs/${jobId}/redact`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ targets: ['faces'], style: 'blur', ...(FACE_FPS ? { faceFps: FACE_FPS } : {}) }),
    });
    const done = await until(() => json(`${server.url}${started.links.self}`), (r) => r.status !== 'running');
    const wallS = (performance.now() - t0) / 1000;
    const cpuS = serverCpu(server.pids) - cpu0;
    if (done.status !== 'succeeded') throw new Error(JSON.stringify(done));
    const { detectS, trackS, encodeS } = done.audit.timings;
    const faces = done.audit.tracks.filter((t: any) => t.label === 'face').length;
    rows.push(`| ${round + 1} | ${done.audit.faces.fps} | ${wallS.toFixed(1)} | ${(SECONDS / wallS).toFixed(2)}x | ${detectS.toFixed(1)} | ${trackS.toFixed(3)} | ${encodeS.toFixed(1)} | ${faces} | ${cpuS.toFixed(1)} | ${load.toFixed(1)} |`);
  }
  console.log([
    `${availableParallelism()} cores, ${WORKERS ? `shared mode: an API and ${WORKERS} workers (FRAMEWATCH_THREADS=1), parts of ${CHUNK_SECONDS} s` : 'embedded'}; a ${SECONDS} s 1280x720 30 fps clip (${SECONDS * 30} frames), faces 80/40/24/20 px; wall seconds from POST to succeeded:`,
    '',
    '| round | faceFps | wall s | x real time | detect s | track s | encode s | face tracks | server CPU s (ffmpeg included) | load avg (1 min) at start |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n'));
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
