// `npm run bench:face`: face-detector 1 beside object-detector 2 on this CPU, in one run.
// ORT alone (one run of each model, its own input) and served in process (POST to a real
// server on loopback, the answer's timings): a photo and a 1280x720 frame, where
// face-detector runs the whole picture plus its tiles. Prints markdown.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { applyPreprocessing, planTiles, preprocessSpecSchema } from '../preprocessing/index.js';
import { startServer } from '../src/cli/serve.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/logging/logger.js';
import { decodeImage } from '../src/media/image.js';

const MODELS = [{ name: 'face-detector', version: 1 }, { name: 'object-detector', version: 2 }];
const RUNS = 40;
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Mean ms of one ORT run of the model on its preprocessed messi5.jpg, after a warm-up. */
async function ortAloneMs(name: string, version: number, photo: Buffer): Promise<number> {
  const dir = `models/${name}/${version}`;
  const manifest = JSON.parse(await readFile(`${dir}/manifest.json`, 'utf8'));
  const input = await applyPreprocessing(await decodeImage(photo, { maxPixels: 40e6 }), preprocessSpecSchema.parse(manifest.preprocessing));
  const session = await ort.InferenceSession.create(`${dir}/model.onnx`, { intraOpNumThreads: availableParallelism(), interOpNumThreads: 1, logSeverityLevel: 3 });
  const feeds = { [session.inputNames[0]]: new ort.Tensor(input.dtype, input.data, [...input.dims]) };
  for (let i = 0; i < 5; i++) await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  await session.release();
  return mean(times);
}

/** Mean served timings (total and inference ms) of RUNS posts of one image. */
async function servedMs(url: string, name: string, bytes: Buffer): Promise<{ totalMs: number; inferenceMs: number; faces: number }> {
  const post = async () => (await (await fetch(`${url}/v1/models/${name}/predict`, { method: 'POST', body: bytes, headers: { 'content-type': 'image/jpeg' } })).json()) as any;
  for (let i = 0; i < 5; i++) await post();
  const answers = [];
  for (let i = 0; i < RUNS; i++) answers.push(await post());
  return {
    totalMs: mean(answers.map((a) => a.timings.totalMs)),
    inferenceMs: mean(answers.map((a) => a.timings.inferenceMs)),
    faces: answers[0].detections.filter((d: any) => d.label === 'face').length,
  };
}

const photo = await readFile('test/fixtures/messi5.jpg');
const frame = await sharp(photo).resize(1280, 720, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
const alone: number[] = [];
for (const m of MODELS) alone.push(await ortAloneMs(m.name, m.version, photo));
const server = await startServer(loadConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent' }), createLogger('silent'));
await server.ready;
const rows: string[] = [];
try {
  for (const [label, bytes, width, height] of [['messi5.jpg 548x342', photo, 548, 342], ['1280x720 JPEG (messi5 stretched)', frame, 1280, 720]] as const) {
    for (const [i, m] of MODELS.entries()) {
      const views = m.name === 'face-detector' ? 1 + planTiles({ size: 512, minOverlap: 64 }, width, height).length : 1;
      const served = await servedMs(server.url, m.name, bytes);
      rows.push(`| ${m.name} ${m.version} | ${label} | ${alone[i].toFixed(1)} | ${views} | ${served.inferenceMs.toFixed(1)} | ${served.totalMs.toFixed(1)} |`);
    }
  }
} finally {
  await server.close();
}
console.log([
  `${availableParallelism()} cores, ${RUNS} runs each after 5 warm-up runs (ms, mean):`,
  '',
  '| model | image | ORT alone, one run | model runs per image | served inference | served total |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows,
].join('\n'));
