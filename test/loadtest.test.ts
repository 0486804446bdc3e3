import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { spawnServer, type ServerProcess } from './helpers/processes.js';
import { sample } from './helpers/server.js';

let dir: string;
let server: ServerProcess;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-loadtest-'));
  await writeFile(join(dir, 'photo.jpg'), await sharp('test/fixtures/basketball1.png').jpeg({ quality: 90 }).toBuffer());
  server = await spawnServer({ FRAMEWATCH_DATA_DIR: join(dir, 'data') });
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});

const loadtest = (args: string[]) => runCli(['loadtest', 'object-detector', '--file', join(dir, 'photo.jpg'), '--server', server.url, ...args]);

describe('framewatch loadtest', () => {
  // Its throughput against autocannon driven directly is a timing, measured side by side in
  // `npm run bench:quick`; here, what it reports must be what the server counted.
  it('sends the file as binary: only 200s, each one the server counted, and the server\'s own figures beside them', async () => {
    const served200 = async () =>
      sample(await (await fetch(`${server.url}/metrics`)).text(), 'framewatch_http_requests_total', 'route="/v1/models/:name/predict",method="POST",status="200"');
    const before = await served200();
    const cli = await loadtest(['-c', '4', '-d', '3']);
    const after = await served200();
    expect(cli.code, cli.stderr).toBe(0);
    const reported = Number(/\| status codes \| 200: (\d+) \|/.exec(cli.stdout)?.[1]); // only 200s
    expect(reported).toBeGreaterThan(10);
    // The server may have answered the last requests in flight as the clients stopped: at most one per connection.
    expect(after - before - reported).toBeGreaterThanOrEqual(0);
    expect(after - before - reported).toBeLessThanOrEqual(4);
    expect(Number(/\| throughput \| ([\d.]+) req\/s/.exec(cli.stdout)?.[1])).toBeCloseTo(reported / 3, 0);
    expect(cli.stdout).toMatch(/\| error rate \| 0\.00% \|/);
    expect(cli.stdout).toMatch(/mean batch size \| [\d.]+ \|/);
  });

  it('exits 1 on a missed SLO and says which', async () => {
    const missed = await loadtest(['-c', '2', '-d', '1', '--p99-ms', '1']);
    expect(missed.code).toBe(1);
    expect(missed.stderr).toMatch(/SLO missed: p99 \d+ ms > 1 ms/);
    const usage = await loadtest(['--rate', 'fast']);
    expect(usage.code).toBe(2);
  });
});
