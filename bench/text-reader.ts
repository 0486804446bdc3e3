// The pipeline section of `npm run bench` (alone: `npm run bench:text`): the text-reader
// pipeline's cost per image beside the sum of its steps run alone, in one run on one server.
// Steps alone: text-detector on the image, then text-recognizer on each of its crops (the
// same quads warped upright, sent four at a time as the pipeline does), each over HTTP.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { warpQuad } from '../src/media/warp.js';
import { mapPool } from '../src/pipeline/map-pool.js';
import { startServer } from './processes.js';

const ROUNDS = Number(process.env.BENCH_TEXT_ROUNDS ?? 15);

async function post(url: string, body: Buffer): Promise<any> {
  const res = await fetch(url, { method: 'POST', body: body as RequestInit['body'], headers: { 'content-type': 'image/png' } });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Mean wall seconds of `fn` over ROUNDS runs, after one warm-up. */
async function meanSeconds(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) await fn();
  return (performance.now() - t0) / 1000 / ROUNDS;
}

/** The crops the pipeline reads: the detector's quads warped upright, as PNGs. */
async function cropsOf(png: Buffer, detections: Array<{ polygon: Array<{ x: number; y: number }> }>): Promise<Buffer[]> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const image = { data: new Uint8Array(data), width: info.width, height: info.height };
  return Promise.all(detections.map((d) => {
    const crop = warpQuad(image, d.polygon);
    return sharp(crop.data, { raw: { width: crop.width, height: crop.height, channels: 3 } }).png().toBuffer();
  }));
}

/** 1280x720, eight lines of a departure board in two sizes. */
function departureBoard(): Promise<Buffer> {
  const rows = ['DEPARTURES 14:00', 'ICE 1021 Berlin 14:05 Gate 3', 'RE 7 Potsdam 14:12 Gate 5', 'S 9 Airport 14:15 Gate 1', 'IC 2432 Hamburg 14:20 Gate 8', 'RB 23 Cottbus 14:31 Gate 2', 'Platform change: S 9 now gate 4', 'Have a good journey'];
  const text = rows.map((row, i) => `<text x="40" y="${70 + i * 82}" font-family="DejaVu Sans" font-size="${i === 0 ? 52 : 38}" fill="#ffd400">${row}</text>`).join('');
  return sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="1280" height="720"><rect width="100%" height="100%" fill="#101820"/>${text}</svg>`)).png().toBuffer();
}

export async function textReaderBench() {
  const dir = await mkdtemp(join(tmpdir(), 'framewatch-text-bench-'));
  const server = await startServer({ FRAMEWATCH_DATA_DIR: join(dir, 'data') });
  try {
    const rows = [];
    const inputs: Array<[string, Buffer]> = [['test/fixtures/imageTextN.png (a scanned page)', await readFile('test/fixtures/imageTextN.png')], ['a rendered departure board', await departureBoard()]];
    for (const [file, bytes] of inputs) {
      const image = await sharp(bytes).png().toBuffer();
      const url = (m: string) => `${server.url}/v1/models/${m}/predict`;
      const detected = await post(url('text-detector'), image);
      const crops = await cropsOf(image, detected.detections);
      console.log(`text-reader: ${file}, ${crops.length} lines, ${ROUNDS} rounds each ...`);
      const pipelineS = await meanSeconds(() => post(url('text-reader'), image));
      const detectorS = await meanSeconds(() => post(url('text-detector'), image));
      const recognizerS = await meanSeconds(() => mapPool(crops, 4, (crop) => post(url('text-recognizer'), crop)));
      rows.push({ file, lines: crops.length, pipelineMs: pipelineS * 1000, detectorMs: detectorS * 1000, recognizerMs: recognizerS * 1000, ratio: pipelineS / (detectorS + recognizerS) });
    }
    return { rounds: ROUNDS, rows };
  } finally {
    server.child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

/** The section as bench/RESULTS.md shows it. */
export function textReaderMarkdown(r: Awaited<ReturnType<typeof textReaderBench>>): string {
  return [
    `text-reader pipeline against its steps run alone, same server, mean of ${r.rounds} sequential runs after a warm-up (the recognizer's crops sent four at a time):`,
    ``,
    `| image | lines | pipeline ms | text-detector alone ms | text-recognizer on the crops alone ms | pipeline / sum of steps |`,
    `| --- | --- | --- | --- | --- | --- |`,
    ...r.rows.map((row) => `| ${row.file} | ${row.lines} | ${row.pipelineMs.toFixed(0)} | ${row.detectorMs.toFixed(0)} | ${row.recognizerMs.toFixed(0)} | ${row.ratio.toFixed(2)} (target <= 1.15) |`),
  ].join('\n');
}

if (process.argv[1]?.endsWith('text-reader.js')) console.log(textReaderMarkdown(await textReaderBench()));
