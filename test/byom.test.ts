import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { spawnServer, type ServerProcess } from './helpers/processes.js';
import { scratchRepository } from './helpers/server.js';
import { rawYoloOutput, writeYoloFixture } from './helpers/yolo-fixtures.js';

// docs/bring-your-own-model.md, step by step, against a running server process.
const ADMIN = 'byom-admin-token-0123456789';
let dir: string;
let repo: Awaited<ReturnType<typeof scratchRepository>>;
let server: ServerProcess;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-byom-'));
  // The project's own ONNX builder makes a YOLO-shaped detector: raw [1, 4+nc, N] output with
  // Ultralytics' `names` metadata; one person at source (100, 100, 200, 100) in a 1280x720 frame.
  await writeYoloFixture(join(dir, 'my-yolo.onnx'), rawYoloOutput(2, [{ cx: 100, cy: 215, w: 100, h: 50, cls: 0, score: 0.9 }]), [1, 6, 1], "{0: 'person', 1: 'car'}");
  await sharp({ create: { width: 1280, height: 720, channels: 3, background: { r: 40, g: 90, b: 160 } } }).jpeg().toFile(join(dir, 'sample.jpg'));
  repo = await scratchRepository(['text-detector']);
  server = await spawnServer({ FRAMEWATCH_MODELS_DIR: repo.dir, FRAMEWATCH_DATA_DIR: join(dir, 'data'), FRAMEWATCH_ADMIN_TOKEN: ADMIN });
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await repo?.remove();
  await rm(dir, { recursive: true, force: true });
});

describe('bring your own model (docs/bring-your-own-model.md)', () => {
  it('exports the ONNX file with an example spec, loads it into the running server, verifies it, and serves it', async () => {
    // 2. Export a version.
    const exported = await runCli(['export', join(dir, 'my-yolo.onnx'), '--name', 'my-detector', '--task', 'yolo-detection', '--project', 'acme',
      '--preprocessing', 'examples/yolo-letterbox.json', '--golden', join(dir, 'sample.jpg'), '--models-dir', repo.dir]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({ name: 'my-detector', version: 1 });

    // 3. The admin load call; the load runs in the background.
    const load = await fetch(`${server.url}/v1/models/my-detector/versions/1/load`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(load.status).toBeLessThan(300);
    const version = async () => (await (await fetch(`${server.url}/v1/models/my-detector`)).json()).versions?.[0];
    await expect.poll(async () => (await version())?.status, { timeout: 30_000 }).toBe('READY');
    expect((await version()).skew).toMatchObject({ ok: true });

    // 4. Check it and use it.
    const verified = await runCli(['verify', 'my-detector@1', '--models-dir', repo.dir]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/OK: serving reproduces the exporter/);
    const res = await fetch(`${server.url}/v1/models/my-detector/predict`, { method: 'POST', body: await sharp(join(dir, 'sample.jpg')).toBuffer() as BodyInit, headers: { 'content-type': 'image/jpeg' } });
    const body = await res.json();
    expect(res.status).toBe(200);
    expect(body.detections).toHaveLength(1);
    expect(body.detections[0].label).toBe('person');
    const { x, y, width, height } = body.detections[0].box;
    expect([x, y, width, height].map(Math.round)).toEqual([100, 100, 200, 100]);
  });
});
