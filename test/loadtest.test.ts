import autocannon from 'autocannon';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from './helpers/processes.js';

const run = promisify(execFile);
let dir: string;
let server: ServerProcess;
let jpeg: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-loadtest-'));
  jpeg = await sharp('test/fixtures/basketball1.png').jpeg({ quality: 90 }).toBuffer();
  await writeFile(join(dir, 'photo.jpg'), jpeg);
  server = await spawnServer({ FRAMEWATCH_DATA_DIR: join(dir, 'data') });
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});

const loadtest = (args: string[]) =>
  run(process.execPath, ['dist/src/cli/main.js', 'loadtest', 'object-detector', '--file', join(dir, 'photo.jpg'), '--server', server.url, ...args]).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
  );

describe('framewatch loadtest', () => {
  it('sends the file as binary: all 2xx, and its throughput agrees with autocannon driven directly within 10%', async () => {
    const direct = () => autocannon({ url: `${server.url}/v1/models/object-detector/predict`, method: 'POST', body: jpeg, headers: { 'content-type': 'image/jpeg' }, connections: 4, duration: 5 });
    await direct(); // warm-up: batches of every size, ORT's arena
    const cli = await loadtest(['-c', '4', '-d', '5']);
    const viaCli = Number(/\| throughput \| ([\d.]+) req\/s/.exec(cli.stdout)?.[1]);
    const r = await direct();
    const viaAutocannon = (r.statusCodeStats['200']?.count ?? 0) / 5;
    console.log(`loadtest ${viaCli} req/s, autocannon directly ${viaAutocannon.toFixed(1)} req/s\n${cli.stdout}`);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/\| status codes \| 200: \d+ \|/); // only 200s
    expect(cli.stdout).toMatch(/\| error rate \| 0\.00% \|/);
    expect(cli.stdout).toMatch(/mean batch size \| [\d.]+ \|/);
    expect(Math.abs(viaCli - viaAutocannon) / viaAutocannon).toBeLessThanOrEqual(0.1);
  });

  it('exits 1 on a missed SLO and says which', async () => {
    const missed = await loadtest(['-c', '2', '-d', '1', '--p99-ms', '1']);
    expect(missed.code).toBe(1);
    expect(missed.stderr).toMatch(/SLO missed: p99 \d+ ms > 1 ms/);
    const usage = await loadtest(['--rate', 'fast']);
    expect(usage.code).toBe(2);
  });
});
