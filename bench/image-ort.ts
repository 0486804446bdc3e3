// `npm run bench:image-ort`: the image route against raw ONNX Runtime on the same model file,
// in one run. Raw ORT is session.run alone on a tensor prepared once (as the server prepares
// it), in three set-ups (rawOrt), the best one the baseline. The server is a
// real `framewatch serve` process under autocannon, posting a photo and a large JPEG at 1, 4
// and 16 connections. Rounds alternate raw ORT and the server, so noise from other work on
// the machine hits both. Prints markdown; `-- --out file.json` also writes every round.
import autocannon from 'autocannon';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, hostname, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import { loadImage } from '../src/media/image.js';
import { ortSessionOptions, usableCores } from '../src/runtime/index.js';
import { cpuSeconds, latest } from './bundled.js';
import { startServer } from './processes.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '1,4,16').split(',').map(Number);
const MODEL = 'object-detector';
/** The usable cores (registry/threads.ts divides them among a model's instances). */
const THREADS = usableCores();
/** A real photo from ../shared/data (test/fixtures holds the same file, with its provenance). */
const PHOTO = 'test/fixtures/messi5.jpg';

interface Point { images: number; seconds: number; cpuS: number; p50: number[]; p99: number[]; rejected503: number; errors: number; statuses: Record<string, number> }
const emptyPoint = (): Point => ({ images: 0, seconds: 0, cpuS: 0, p50: [], p99: [], rejected503: 0, errors: 0, statuses: {} });

/** Raw ORT's loops: one worker thread per session, each running session.run back to back. */
type RawOrt = { name: string; workers: Worker[] };

/** ORT alone for `seconds`: every worker of the variant loops at once; CPU is this process's. */
async function rawOrtRound(variant: RawOrt, point: Point, seconds: number) {
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  const perWorker = await Promise.all(variant.workers.map((w) => new Promise<number[]>((resolve) => {
    w.once('message', resolve);
    w.postMessage(seconds);
  })));
  const latencies = perWorker.flat().sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  point.images += latencies.length;
  point.seconds += (performance.now() - t0) / 1000;
  point.cpuS += cpuSeconds() - cpu0;
  point.p50.push(q(0.5));
  point.p99.push(q(0.99));
}

/** The server under autocannon for `seconds`; its CPU from /proc/<pid>/stat around the run. */
async function serverRound(url: string, pid: number, body: Buffer, connections: number, point: Point, seconds: number) {
  const cpu0 = cpuSeconds(pid);
  const r = await autocannon({ url: `${url}/v1/models/${MODEL}/predict`, method: 'POST', body, headers: { 'content-type': 'image/jpeg' }, connections, duration: seconds, timeout: 60 });
  point.cpuS += cpuSeconds(pid) - cpu0;
  point.images += r.statusCodeStats['200']?.count ?? 0;
  point.seconds += seconds;
  point.p50.push(r.latency.p50);
  point.p99.push(r.latency.p99);
  point.rejected503 += r.statusCodeStats['503']?.count ?? 0;
  point.errors += r.errors; // connection errors and timeouts
  for (const [code, { count }] of Object.entries(r.statusCodeStats)) point.statuses[code] = (point.statuses[code] ?? 0) + count;
  await settle(url, body);
}

/** Waits for the requests autocannon left queued in the server: one more answered means the queue has drained. */
async function settle(url: string, body: Buffer) {
  for (;;) {
    const res = await fetch(`${url}/v1/models/${MODEL}/predict`, { method: 'POST', body, headers: { 'content-type': 'image/jpeg' } });
    await res.arrayBuffer();
    if (res.ok) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The servers compared: this checkout, and with BENCH_BEFORE=<dir> a built checkout from before a change. */
const SERVERS = [{ name: 'server', cwd: '.' }, ...(process.env.BENCH_BEFORE ? [{ name: `before (${process.env.BENCH_BEFORE})`, cwd: process.env.BENCH_BEFORE }] : [])];
const IMAGES = (process.env.BENCH_IMAGES ?? 'photo,large').split(',');

async function testImages() {
  const photo = await readFile(PHOTO);
  const large = await sharp(photo).resize(4000, 3000, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
  const all = {
    photo: { name: 'messi5.jpg 548x342', body: photo },
    large: { name: `4000x3000 JPEG (messi5 upscaled, ${(large.length / 2 ** 20).toFixed(1)} MiB)`, body: large },
  };
  return { photo, images: IMAGES.map((k) => all[k as keyof typeof all]) };
}

/**
 * Raw ORT on the model file: ORT's defaults and the server's session options on every core in
 * one loop, and the server's options in one single-threaded session per core, each looping in
 * its own worker (how the server runs on CPU). The best of them is the baseline.
 */
async function rawOrt(modelPath: string, input: { data: Float32Array | Uint8Array; dims: readonly number[] }): Promise<RawOrt[]> {
  const start = (options: object) => new Promise<Worker>((resolve, reject) => {
    const w = new Worker(new URL('./ort-loop-worker.js', import.meta.url), { workerData: { modelPath, options, data: input.data, dims: [...input.dims] } });
    w.once('message', () => resolve(w));
    w.once('error', reject);
  });
  const oneSession = `one session, ${THREADS} intra-op threads`;
  return [
    { name: `${oneSession}, ORT defaults, graph optimization 'all'`, workers: [await start({ intraOpNumThreads: THREADS, interOpNumThreads: 1, graphOptimizationLevel: 'all' })] },
    { name: `${oneSession}, the server's session options (ortSessionOptions: spinning off)`, workers: [await start(ortSessionOptions(THREADS))] },
    { name: `${THREADS} sessions of 1 intra-op thread in parallel, the server's session options`, workers: await Promise.all(Array.from({ length: THREADS }, () => start(ortSessionOptions(1)))) },
  ];
}

async function main() {
  const outIndex = process.argv.indexOf('--out');
  const out = outIndex > 0 ? process.argv[outIndex + 1] : undefined;
  const { photo, images } = await testImages();
  const perRound = SECONDS * (2 + SERVERS.length * CONNECTIONS.length * images.length);
  console.log(`npm run bench:image-ort: about ${Math.round((perRound * ROUNDS + 60) / 60)} minutes (${ROUNDS} rounds, ${SECONDS} s per point; BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS and BENCH_IMAGES change them; BENCH_BEFORE=<built checkout> adds its server beside this one).`);

  const { manifest, modelPath } = await latest(MODEL);
  const { input } = await loadImage(photo, manifest.preprocessing, { maxPixels: 40e6 });
  const sessions = await rawOrt(modelPath, input);

  const dir = await mkdtemp(join(tmpdir(), 'framewatch-bench-'));
  const servers = await Promise.all(SERVERS.map(async (s, i) => ({ ...s, process: await startServer({ FRAMEWATCH_DATA_DIR: join(dir, `data${i}`) }, s.cwd), points: images.map(() => CONNECTIONS.map(emptyPoint)) })));
  const raw = sessions.map(emptyPoint);
  const load0 = loadavg()[0];
  try {
    for (const server of servers) for (const image of images) await serverRound(server.process.url, server.process.child.pid!, image.body, 16, emptyPoint(), 5);
    for (let round = 0; round < ROUNDS; round++) {
      // Each round: every raw ORT variant, then every server at every point; every other round backwards.
      const steps = [
        ...sessions.map((s, i) => () => rawOrtRound(s, raw[i], SECONDS)),
        ...images.flatMap((image, i) => CONNECTIONS.flatMap((c, j) => servers.map((server) => () => serverRound(server.process.url, server.process.child.pid!, image.body, c, server.points[i][j], SECONDS)))),
      ];
      if (round % 2 === 1) steps.reverse();
      console.log(`round ${round + 1} of ${ROUNDS} ...`);
      for (const step of steps) await step();
    }
  } finally {
    await Promise.all(servers.map((s) => s.process.stop()));
    await Promise.all(sessions.flatMap((s) => s.workers.map((w) => w.terminate())));
    await rm(dir, { recursive: true, force: true });
  }

  const otherAnswers = (p: Point) =>
    [...Object.entries(p.statuses).filter(([code]) => code !== '200' && code !== '503').map(([code, n]) => `${n} x ${code}`), ...(p.errors ? [`${p.errors} errors`] : [])].join(', ') || '-';
  const rate = (p: Point) => p.images / p.seconds;
  const best = raw.reduce((a, b) => (rate(b) > rate(a) ? b : a));
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const row = (what: string, connections: string, p: Point) =>
    `| ${what} | ${connections} | ${rate(p).toFixed(1)} | ${(rate(p) / rate(best)).toFixed(2)} | ${mean(p.p50).toFixed(0)} | ${mean(p.p99).toFixed(0)} | ${((p.cpuS * 1000) / p.images).toFixed(0)} | ${p.rejected503} | ${otherAnswers(p)} |`;
  const date = new Date().toISOString().slice(0, 10);
  console.log([
    `\`npm run bench:image-ort\` on ${hostname()} (${availableParallelism()} cores, load average ${load0.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end), ${date}: ${MODEL} ${manifest.version}, ${ROUNDS} alternating rounds of ${SECONDS} s per point. Raw ORT: session.run in a loop on ${PHOTO}'s tensor; the server: POST image/jpeg, autocannon on loopback. CPU ms per image: raw ORT this process's, the server its process's (/proc/<pid>/stat). p50 and p99: the mean over rounds.`,
    '',
    '| what | connections | images/s | x raw ORT | p50 ms | p99 ms | CPU ms/image | 503 | other answers, errors |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...sessions.map((s, i) => row(`raw ORT session.run, ${s.name}${raw[i] === best ? ' (the best: the baseline)' : ''}`, `${s.workers.length} (loop${s.workers.length > 1 ? 's' : ''})`, raw[i])),
    ...images.flatMap((image, i) => CONNECTIONS.flatMap((c, j) => servers.map((server) => row(`${server.name}, ${image.name}`, String(c), server.points[i][j])))),
    '',
  ].join('\n'));
  const json = { date, host: hostname(), cpus: availableParallelism(), seconds: SECONDS, rounds: ROUNDS, raw: sessions.map((s, i) => ({ name: s.name, ...raw[i] })), servers: servers.map((s) => ({ name: s.name, images: images.map((image, i) => ({ image: image.name, points: CONNECTIONS.map((c, j) => ({ connections: c, ...s.points[i][j] })) })) })) };
  if (out) await writeFile(out, `${JSON.stringify(json, null, 2)}\n`);
}

await main();
