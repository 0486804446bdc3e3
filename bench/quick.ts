// `npm run bench:quick`: under 2 minutes. The raw in-process pipeline and a real server at
// concurrency 1, 4 and 16, 10 s each after a warm-up, then `framewatch loadtest` at 4, side by
// side in one run; prints markdown.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { runCli } from '../test/helpers/cli.js';
import { startServer } from './processes.js';
import { load, rawPipeline, type Row } from './run.js';

const SECONDS = 10;
console.log(`npm run bench:quick: about 90 s (${SECONDS} s per point); npm run bench is the full run.`);
const jpeg = await sharp('test/fixtures/basketball1.png').jpeg({ quality: 90 }).toBuffer();
const dir = await mkdtemp(join(tmpdir(), 'framewatch-bench-quick-'));
const rows: Row[] = [await rawPipeline(jpeg, SECONDS)];
let cliReqPerS = NaN;

/** `framewatch loadtest` against the same server, as a user runs it: its reported throughput. */
async function viaLoadtestCli(url: string, connections: number): Promise<number> {
  const file = join(dir, 'photo.jpg');
  await writeFile(file, jpeg);
  const { code, stdout, stderr } = await runCli(['loadtest', 'object-detector', '--file', file, '--server', url, '-c', String(connections), '-d', String(SECONDS)]);
  if (code !== 0) throw new Error(`framewatch loadtest exited ${code}: ${stderr}`);
  return Number(/\| throughput \| ([\d.]+) req\/s/.exec(stdout)?.[1]);
}
const server = await startServer({ FRAMEWATCH_DATA_DIR: join(dir, 'data') });
try {
  await load(server.url, jpeg, 16, 'warm-up', 5);
  await new Promise((r) => setTimeout(r, 2000)); // the warm-up's shed requests drain
  for (const c of [1, 4, 16]) rows.push(await load(server.url, jpeg, c, 'server (defaults)', SECONDS));
  cliReqPerS = await viaLoadtestCli(server.url, 4);
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
  '',
  `\`framewatch loadtest -c 4\` against the same server, right after: ${cliReqPerS.toFixed(1)} req/s, ${(cliReqPerS / rows.find((r) => r.concurrency === 4)!.reqPerS).toFixed(2)}x autocannon driven directly at concurrency 4.`,
].join('\n'));
