// `npm run bench`: autocannon against a real server process on loopback, next to the raw
// in-process pipeline, all in one run on one machine. Prints markdown; `-- --out file.json`
// also writes the figures as JSON. Every row states its ratio to the raw pipeline.
import autocannon from 'autocannon';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { applyPreprocessing, type ModelInput } from '../preprocessing/index.js';
import { decodeImage, loadImage } from '../src/media/image.js';
import { ffmpegPath, probeVideo, sampleFrames } from '../src/media/ffmpeg.js';
import { decoderThreadsFor, videoDecoderScale } from '../src/pipeline/index.js';
import { ortSessionOptions } from '../src/runtime/index.js';
import { getTask } from '../src/tasks/index.js';
import { latest } from './bundled.js';
import { freePort, startServer } from './processes.js';
import { scaleBench, scaleMarkdown } from './scale.js';
import { textReaderBench, textReaderMarkdown } from './text-reader.js';
import { video1080pBench, video1080pMarkdown } from './video-1080p.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const CONCURRENCY = [1, 4, 16, 64];
const MODEL = 'object-detector';
const threads = availableParallelism();

export interface Row { name: string; concurrency: number | null; reqPerS: number; p50: number; p90: number; p99: number; errors: number; rejected503: number; cpuMsPerReq?: number }

/** ONNX Runtime alone: its own defaults with one intra-op thread per core, the strictest baseline. */
const ortAlone = (modelPath: string) => ort.InferenceSession.create(modelPath, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });

/** The raw pipeline as the server runs it in process: fused decode + resize, tensor step, ORT, postprocess. */
export async function rawPipeline(jpeg: Buffer, seconds = SECONDS): Promise<Row> {
  const { manifest, modelPath } = await latest(MODEL);
  const session = await ortAlone(modelPath);
  const task = getTask(manifest.task);
  const params = task.paramsSchema.parse(manifest.postprocessing);
  const latencies: number[] = [];
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const t0 = performance.now();
    const { input } = await loadImage(jpeg, manifest.preprocessing, { maxPixels: 40e6 });
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor(input.dtype, input.data, [...input.dims]) });
    task.postprocess({ outputs: out as never, outputNames: session.outputNames, transform: input.transform, params, labels: manifest.labels });
    latencies.push(performance.now() - t0);
  }
  await session.release();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]);
  return { name: 'raw in-process pipeline (decode, preprocess, ORT, postprocess)', concurrency: null, reqPerS: latencies.length / seconds, p50: q(0.5), p90: q(0.9), p99: q(0.99), errors: 0, rejected503: 0 };
}

/**
 * Preprocessing cost per bundled model, each step timed alone in one loop: decode (sharp to
 * raw RGB), preprocessing (the shared resize and tensor step from raw pixels), decode +
 * preprocessing as served (one fused libvips pass + tensor step), and ONNX Runtime.
 */
async function preprocessCost(name: string, jpeg: Buffer, seconds: number) {
  const { manifest, modelPath } = await latest(name);
  const session = await ortAlone(modelPath);
  const spec = manifest.preprocessing;
  const ms = { decode: 0, preprocess: 0, served: 0, inference: 0 };
  let n = 0;
  for (const end = Date.now() + seconds * 1000; Date.now() < end; n++) {
    const t0 = performance.now();
    const image = await decodeImage(jpeg, { maxPixels: 40e6 });
    const t1 = performance.now();
    const input = await applyPreprocessing(image, spec);
    const t2 = performance.now();
    await loadImage(jpeg, spec, { maxPixels: 40e6 });
    const t3 = performance.now();
    await session.run({ [session.inputNames[0]]: new ort.Tensor(input.dtype, input.data, [...input.dims]) });
    const t4 = performance.now();
    ms.decode += t1 - t0; ms.preprocess += t2 - t1; ms.served += t3 - t2; ms.inference += t4 - t3;
  }
  await session.release();
  const mean = (v: number) => v / n;
  return {
    model: name, input: `${spec.resize.mode}, ${manifest.inputs[0].dtype}`, iterations: n,
    decodeMs: mean(ms.decode), preprocessMs: mean(ms.preprocess), servedMs: mean(ms.served), inferenceMs: mean(ms.inference),
    preprocessToInference: ms.preprocess / ms.inference, decodeToInference: ms.decode / ms.inference, servedToInference: ms.served / ms.inference,
    servedBeyondDecodeToInference: (ms.served - ms.decode) / ms.inference,
  };
}

const metric = async (url: string, name: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
};

export async function load(url: string, jpeg: Buffer, connections: number, name: string, seconds = SECONDS): Promise<Row> {
  const cpu0 = await metric(url, 'framewatch_process_cpu_seconds_total');
  const r = await autocannon({ url: `${url}/v1/models/${MODEL}/predict`, method: 'POST', body: jpeg, headers: { 'content-type': 'image/jpeg' }, connections, duration: seconds, timeout: 60 });
  const cpu1 = await metric(url, 'framewatch_process_cpu_seconds_total');
  const ok = r.statusCodeStats['200']?.count ?? 0;
  return {
    name, concurrency: connections, reqPerS: ok / seconds, p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99,
    errors: r.errors + r.timeouts, rejected503: r.statusCodeStats['503']?.count ?? 0,
    cpuMsPerReq: ok ? Math.round(((cpu1 - cpu0) * 1000) / ok) : undefined,
  };
}

async function videoBench(dir: string) {
  const path = join(dir, 'sixty.mp4');
  const fit = 'scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2,setsar=1';
  const images = ['fruits.jpg', 'messi5.jpg', 'home.jpg', 'basketball1.png'];
  const inputs = images.flatMap((f) => ['-loop', '1', '-t', '15', '-i', `test/fixtures/${f}`]);
  const graph = images.map((_, i) => `[${i}]${fit},fps=25[v${i}]`).join(';') + `;${images.map((_, i) => `[v${i}]`).join('')}concat=n=4:v=1:a=0`;
  await promisify(execFile)(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...inputs, '-filter_complex', graph, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', path]);
  const { manifest, modelPath } = await latest(MODEL);
  const info = await probeVideo(path);
  // Sampled as the server samples on CPU (its decoder threads, the model's size), optionally preprocessed.
  const scale = videoDecoderScale({ manifest }, info);
  const decodeAll = async (preprocess: boolean) => {
    const inputs: ModelInput[] = [];
    for await (const f of sampleFrames(path, info, { fps: 2, startS: 0, threads: decoderThreadsFor('cpu'), scale })) {
      if (preprocess) inputs.push(await applyPreprocessing(f.image, manifest.preprocessing, f.scaledFrom));
    }
    return inputs;
  };
  const frames = await decodeAll(true);
  const td = performance.now();
  await decodeAll(false);
  const decodeFps = frames.length / ((performance.now() - td) / 1000);
  // ORT alone twice: with its own defaults (the strict baseline) and with the server's session
  // options (spinning off), each on all frames in order, one session at a time.
  const ortFpsWith = async (session: ort.InferenceSession, alongside?: () => Promise<unknown>) => {
    const feed = (f: ModelInput) => ({ [session.inputNames[0]]: new ort.Tensor(f.dtype, f.data, [...f.dims]) });
    for (const f of frames.slice(0, 3)) await session.run(feed(f));
    const t0 = performance.now();
    await Promise.all([(async () => { for (const f of frames) await session.run(feed(f)); })(), alongside?.()]);
    return frames.length / ((performance.now() - t0) / 1000);
  };
  const strict = await ortAlone(modelPath);
  const ortFps = await ortFpsWith(strict);
  // The ceiling on this CPU: the work no video pipeline can skip, run concurrently in one
  // process with nothing else: ORT on the frames while ffmpeg decodes the clip (and, second,
  // while each decoded frame is also preprocessed). Ratios against ORT alone.
  const ortWithDecodeFps = await ortFpsWith(strict, () => decodeAll(false));
  const ortWithDecodePreprocessFps = await ortFpsWith(strict, () => decodeAll(true));
  await strict.release();
  const serverOptions = await ort.InferenceSession.create(modelPath, ortSessionOptions(threads));
  const ortServerSettingsFps = await ortFpsWith(serverOptions);
  await serverOptions.release();
  const server = await startServer({ FRAMEWATCH_DATA_DIR: join(dir, 'data') });
  try {
    const t1 = performance.now();
    const form = new FormData();
    form.append('file', new Blob([await readFile(path)]), 'sixty.mp4');
    const res = await fetch(`${server.url}/v1/models/${MODEL}/predict?frames=false&mode=sync`, { method: 'POST', body: form });
    const body = (await res.json()) as { timings: { framesPerSecond: number }; video: { framesSampled: number } };
    const wall = (performance.now() - t1) / 1000;
    return { frames: frames.length, decodeAloneFps: decodeFps, ortAloneFps: ortFps, ortWithDecodeFps, ortWithDecodePreprocessFps, ortServerSettingsFps, serverFps: body.video.framesSampled / wall, pipelineFps: body.timings.framesPerSecond };
  } finally {
    server.child.kill('SIGTERM');
  }
}

const fmt = (v: number | undefined, d = 1) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(d));

/** Roughly how long main() runs at this many seconds per point (measured on 2 cores). */
const expectedMinutes = (seconds: number) => Math.round((8 * seconds + 15 + 3 * 5 + 20 + 200 + 60 + 240 + 110 + 60) / 60);

async function main() {
  const outIndex = process.argv.indexOf('--out');
  const out = outIndex > 0 ? process.argv[outIndex + 1] : undefined;
  console.log(`npm run bench: about ${expectedMinutes(SECONDS)} minutes on 2 cores (${SECONDS} s per point; BENCH_SECONDS changes it). It prints its results as markdown${out ? ` and writes JSON to ${out}` : '; -- --out <file.json> also writes them as JSON'}; bench/RESULTS.md is the hand-kept history and is not rewritten. npm run bench:quick takes under 2 minutes.`);
  const dir = await mkdtemp(join(tmpdir(), 'framewatch-bench-'));
  if (process.env.BENCH_ONLY === 'video') {
    console.log(JSON.stringify(await videoBench(dir), null, 2));
    return rm(dir, { recursive: true, force: true });
  }
  const jpeg = await sharp('test/fixtures/basketball1.png').jpeg({ quality: 90 }).toBuffer(); // a real 640x480 photo
  console.log(`raw pipeline, ${SECONDS} s ...`);
  const raw = await rawPipeline(jpeg);
  const rows: Row[] = [raw];
  console.log('preprocessing cost per bundled model, 10 s each ...');
  const costs = [];
  for (const name of ['object-detector', 'text-detector']) costs.push(await preprocessCost(name, jpeg, 10));

  const server = await startServer({ FRAMEWATCH_DATA_DIR: join(dir, 'data1') });
  let memory;
  try {
    // Warm-up reaches steady state: concurrency 16 makes the batcher form every batch size up
    // to its maximum, so ORT's arena and the heaps have seen the largest tensors.
    await load(server.url, jpeg, 16, 'warm-up', 15);
    const rssWarm = await metric(server.url, 'framewatch_process_resident_memory_bytes');
    for (const c of CONCURRENCY) {
      console.log(`server, concurrency ${c}, ${SECONDS} s ...`);
      rows.push(await load(server.url, jpeg, c, 'server (CPU defaults: batch <= 4, 2 ms delay)', SECONDS));
    }
    console.log('5,000 more requests for the memory check ...');
    const r = await autocannon({ url: `${server.url}/v1/models/${MODEL}/predict`, method: 'POST', body: jpeg, headers: { 'content-type': 'image/jpeg' }, connections: 4, amount: 5000, timeout: 60 });
    const rssAfter = await metric(server.url, 'framewatch_process_resident_memory_bytes');
    memory = { rssWarmMiB: rssWarm / 2 ** 20, rssAfterMiB: rssAfter / 2 ** 20, requests: r.requests.total, growth: rssAfter / rssWarm - 1 };
  } finally {
    server.child.kill('SIGTERM');
  }

  // Comparison rows at concurrency 16: batching off, and batching with a queue deep enough
  // that nothing is shed (rejections cost CPU on 2 cores, so shedding lowers throughput).
  const variants: Array<{ name: string; env: Record<string, string>; concurrency?: number }> = [
    { name: 'server, batching off (batch 1)', env: { FRAMEWATCH_MAX_BATCH_SIZE: '1', FRAMEWATCH_MAX_QUEUE_DELAY_MS: '0' } },
    { name: 'server, batch <= 4, deep queue (64, no shedding)', env: { FRAMEWATCH_MAX_QUEUE_SIZE: '64' } },
    { name: 'server, ORT thread spinning on', env: { FRAMEWATCH_THREAD_SPINNING: 'true' }, concurrency: 4 },
  ];
  for (const [i, v] of variants.entries()) {
    const other = await startServer({ FRAMEWATCH_DATA_DIR: join(dir, `data-v${i}`), ...v.env });
    try {
      console.log(`${v.name}, concurrency ${v.concurrency ?? 16}, ${SECONDS} s ...`);
      await load(other.url, jpeg, 4, 'warm-up', 5);
      rows.push(await load(other.url, jpeg, v.concurrency ?? 16, v.name, SECONDS));
    } finally {
      other.child.kill('SIGTERM');
    }
  }

  console.log('video, 60 s generated clip at 2 fps ...');
  const video = await videoBench(dir);
  await rm(dir, { recursive: true, force: true });
  console.log('scale out: embedded, then BullMQ with one and two workers ...');
  const scale = await scaleBench();
  console.log('1080p: stages, floor and the server in each sampling mode ...');
  const video1080p = await video1080pBench();
  console.log('text-reader pipeline against its steps ...');
  const textReader = await textReaderBench();

  const base = raw.reqPerS;
  const serverRows = rows.filter((r) => r.name.startsWith('server (CPU'));
  const best = serverRows.reduce((a, b) => (b.reqPerS > a.reqPerS ? b : a));
  const at4 = serverRows.find((r) => r.concurrency === 4)!;
  const at64 = serverRows.find((r) => r.concurrency === 64)!;
  const targets = [
    { target: 'server throughput >= 0.85x raw pipeline (best concurrency)', value: best.reqPerS / base, pass: best.reqPerS / base >= 0.85 },
    { target: 'c=64: p99 <= 5x p99 at c=4 (sheds with 503)', value: at64.p99 / at4.p99, pass: at64.p99 / at4.p99 <= 5 },
    { target: 'RSS after 5,000 requests within 10% of warm-up', value: 1 + memory.growth, pass: Math.abs(memory.growth) <= 0.1 },
    { target: 'video end to end >= 0.8x ORT alone', value: video.serverFps / video.ortAloneFps, pass: video.serverFps / video.ortAloneFps >= 0.8 },
    { target: 'scale out: 2 workers >= 1.6x 1 worker (one thread each)', value: scale.speedup, pass: scale.speedup >= 1.6 },
    { target: 'shared mode, 1 worker: wall time within 10% of embedded', value: scale.sharedOverEmbedded, pass: Math.abs(scale.sharedOverEmbedded - 1) <= 0.1 },
    ...costs.map((c) => ({ target: `preprocess (resize + tensor, from raw pixels as video frames are) <= 15% of inference (${c.model})`, value: c.preprocessToInference, pass: c.preprocessToInference <= 0.15 })),
  ];
  const date = new Date().toISOString().slice(0, 10);
  const result = { date, host: hostname(), cpus: availableParallelism(), seconds: SECONDS, model: MODEL, rows, memory, video, scale, video1080p, textReader, preprocessing: costs, targets };
  if (out) await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);

  const md = [
    `# Benchmark results`,
    ``,
    `\`npm run bench\` on ${hostname()} (${availableParallelism()} cores), ${date}: ${MODEL}, a 640x480 JPEG posted raw, ${SECONDS} s per point, autocannon on loopback.`,
    ``,
    `| what | concurrency | req/s | x raw | p50 ms | p90 ms | p99 ms | 503 | errors | server CPU ms/req |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...rows.map((r) => `| ${r.name} | ${r.concurrency ?? '1 (loop)'} | ${fmt(r.reqPerS)} | ${fmt(r.reqPerS / base, 2)} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.rejected503} | ${r.errors} | ${r.cpuMsPerReq ?? '-'} |`),
    ``,
    `Preprocessing cost, the same 640x480 JPEG, each step timed alone in one loop (ms, mean):`,
    ``,
    `| model | input | decode | preprocess (resize + tensor) | decode + preprocess as served (fused) | ORT | preprocess / ORT | decode / ORT | served / ORT | served beyond decode / ORT |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...costs.map((c) => `| ${c.model} | ${c.input} | ${fmt(c.decodeMs)} | ${fmt(c.preprocessMs)} | ${fmt(c.servedMs)} | ${fmt(c.inferenceMs)} | ${fmt(c.preprocessToInference * 100, 0)}% | ${fmt(c.decodeToInference * 100, 0)}% | ${fmt(c.servedToInference * 100, 0)}% | ${fmt(c.servedBeyondDecodeToInference * 100, 0)}% |`),
    ``,
    `Memory: RSS ${fmt(memory.rssWarmMiB, 0)} MiB after warm-up, ${fmt(memory.rssAfterMiB, 0)} MiB after ${memory.requests} more requests (${fmt(memory.growth * 100, 1)}%).`,
    ``,
    `Video: a 60 s 640x480 25 fps clip sampled at 2 fps (${video.frames} frames): ffmpeg decode alone ${fmt(video.decodeAloneFps)} sampled fps (it decodes all 1,500 source frames), ORT alone ${fmt(video.ortAloneFps)} fps, server end to end ${fmt(video.serverFps)} fps (${fmt(video.serverFps / video.ortAloneFps, 2)}x ORT alone), pipeline-reported ${fmt(video.pipelineFps)} fps. ORT alone with the server's session options (spinning off): ${fmt(video.ortServerSettingsFps)} fps; the server is ${fmt(video.serverFps / video.ortServerSettingsFps, 2)}x that.`,
    ``,
    `The ceiling on this CPU, no server: ORT on the frames while ffmpeg decodes the same clip in the same process ${fmt(video.ortWithDecodeFps)} fps (${fmt(video.ortWithDecodeFps / video.ortAloneFps, 2)}x ORT alone); while each decoded frame is also preprocessed ${fmt(video.ortWithDecodePreprocessFps)} fps (${fmt(video.ortWithDecodePreprocessFps / video.ortAloneFps, 2)}x). The server reaches ${fmt(video.serverFps / video.ortWithDecodePreprocessFps, 2)}x of the latter.`,
    ``,
    scaleMarkdown(scale),
    ``,
    video1080pMarkdown(video1080p),
    ``,
    textReaderMarkdown(textReader),
    ``,
    `| target | measured | met |`,
    `| --- | --- | --- |`,
    ...targets.map((t) => `| ${t.target} | ${fmt(t.value, 2)} | ${t.pass ? 'yes' : 'no'} |`),
    ``,
  ].join('\n');
  console.log(md);
}

if (process.argv[1]?.endsWith('run.js')) await main();
