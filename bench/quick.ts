// `npm run bench:quick`: under 2 minutes. The raw in-process pipeline and a real server at
// concurrency 1, 4 and 16, 10 s each after a warm-up, side by side in one run; prints markdown.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { startServer } from './processes.js';
import { load, rawPipeline, type Row } from './run.js';

const SECONDS = 10;
console.log(`npm run bench:quick: about 75 s (${SECONDS} s per point); npm run bench is the full run.`);
const jpeg = await sharp('test/fixtures/basketball1.png').jpeg({ quality: 90 }).toBuffer();
const dir = await mkdtemp(join(tmpdir(), 'framewatch-bench-quick-'));
const rows: Row[] = [await rawPipeline(jpeg, SECONDS)];
const server = await startServer({ FRAMEWATCH_DATA_DIR: join(dir, 'data') });
try {
  await load(server.url, jpeg, 16, 'warm-up', 5);
  await new Promise((r) => setTimeout(r, 2000)); // the warm-up's shed requests drain
  for (const c of [1, 4, 16]) rows.push(await load(server.url, jpeg, c, 'server (defaults)', SECONDS));
} finally {
  server.child.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
}
const base = rows[0].reqPerS;
console.log([
  `object-detector, a 640x480 JPEG, ${SECONDS} s per point:`,
  '',
  '| what | concurrency | req/s | x raw | p50 ms | p99 ms | 503 | server CPU ms/req |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.name} | ${r.concurrency ?? '1 (loop)'} | ${r.reqPerS.toFixed(1)} | ${(r.reqPerS / base).toFixed(2)} | ${r.p50} | ${r.p99} | ${r.rejected503} | ${r.cpuMsPerReq ?? '-'} |`),
].join('\n'));
