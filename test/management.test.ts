import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { postRaw, scratchRepository, startTestServer } from './helpers/server.js';

const ADMIN = 'admin-token-0123456789abcdef';
let repo: Awaited<ReturnType<typeof scratchRepository>>;
let server: RunningServer;
let page: Buffer;

beforeAll(async () => {
  page = await readFile('test/fixtures/imageTextN.png');
  repo = await scratchRepository(['text-detector']);
  server = await startTestServer({ modelsDir: repo.dir, adminToken: ADMIN, pollIntervalMs: 200 });
});
afterAll(async () => {
  await server?.close();
  await repo?.remove();
});

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, { method: 'POST', ...init, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
const predict = (path = '/v1/models/text-detector/predict') => postRaw(`${server.url}${path}`, page, 'image/png');
const stateOf = async (version: number) =>
  ((await (await admin('/v1/repository/index')).json()) as any[]).find((e) => e.name === 'text-detector' && e.version === version);
const waitState = async (version: number, state: string) => {
  for (let i = 0; i < 200; i++) {
    const e = await stateOf(version);
    if (e?.state === state) return e;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`text-detector/${version} never became ${state}`);
};

describe('model management', () => {
  it('needs the admin token', async () => {
    expect((await fetch(`${server.url}/v1/repository/index`, { method: 'POST' })).status).toBe(401);
    const wrong = await fetch(`${server.url}/v1/repository/index`, { method: 'POST', headers: { authorization: 'Bearer not-the-admin-token-000' } });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as any).error.code).toBe('UNAUTHORIZED');
  });

  it('unloads and loads a version in the background while the server keeps serving', async () => {
    expect((await admin('/v1/models/text-detector/versions/2/unload')).status).toBe(200);
    expect((await stateOf(2)).state).toBe('UNLOADED');
    const down = await predict();
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe('MODEL_NOT_READY');
    const load = await admin('/v1/models/text-detector/versions/2/load');
    expect(load.status).toBe(202);
    await waitState(2, 'READY');
    expect((await predict()).status).toBe(200);
  });

  it('a failed reload keeps the loaded version serving', async () => {
    const model = join(repo.dir, 'text-detector/2/model.onnx');
    const good = await readFile(model);
    await writeFile(model, good.subarray(0, 1000));
    try {
      await admin('/v1/models/text-detector/versions/2/load');
      for (let i = 0; i < 100 && !(await stateOf(2)).reason; i++) await new Promise((r) => setTimeout(r, 50));
      const entry = await stateOf(2);
      expect(entry.state).toBe('READY');
      expect(entry.reason).toMatch(/reload failed/);
      expect((await predict()).status).toBe(200);
    } finally {
      await writeFile(model, good);
    }
  });

  it('routes by version label (stable, canary) from labels.json or the API', async () => {
    const put = await fetch(`${server.url}/v1/models/text-detector/labels/stable`, {
      method: 'PUT', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ version: 2 }),
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ stable: 2 });
    expect(JSON.parse(await readFile(join(repo.dir, 'text-detector/labels.json'), 'utf8'))).toEqual({ stable: 2 });
    const viaLabel = await predict('/v1/models/text-detector/labels/stable/predict');
    expect(viaLabel.status).toBe(200);
    expect(viaLabel.body.model).toEqual({ name: 'text-detector', version: 2 });
    const missing = await predict('/v1/models/text-detector/labels/canary/predict');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('VERSION_NOT_FOUND');
  });

  it('polling picks up a new version only once it is complete (manifest, model file, sha256)', async () => {
    const v3 = join(repo.dir, 'text-detector/3');
    await cp(join(repo.dir, 'text-detector/2'), v3, { recursive: true, filter: (src) => !src.endsWith('model.onnx') });
    const manifest = JSON.parse(await readFile(join(v3, 'manifest.json'), 'utf8'));
    await writeFile(join(v3, 'manifest.json'), JSON.stringify({ ...manifest, version: 3 }));
    const full = await readFile(join(repo.dir, 'text-detector/2/model.onnx'));
    await writeFile(join(v3, 'model.onnx'), full.subarray(0, full.length / 2)); // half-copied
    await new Promise((r) => setTimeout(r, 800));
    expect(await stateOf(3)).toBeUndefined();
    await writeFile(join(v3, 'model.onnx'), full);
    await waitState(3, 'READY');
    expect((await predict()).body.model).toEqual({ name: 'text-detector', version: 3 });
    await rm(v3, { recursive: true, force: true });
    await admin('/v1/models/text-detector/versions/3/unload');
  });

  it('unload releases the ONNX Runtime session: 50 load/unload cycles keep memory bounded', async () => {
    const cycle = async () => {
      await admin('/v1/models/text-detector/versions/2/unload');
      await admin('/v1/models/text-detector/versions/2/load');
      await waitState(2, 'READY');
    };
    for (let i = 0; i < 10; i++) await cycle();
    global.gc?.();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 40; i++) await cycle();
    global.gc?.();
    const growth = (process.memoryUsage().rss - before) / 2 ** 20;
    if (process.env.FRAMEWATCH_REPORT) console.log(`rss growth over 40 load/unload cycles: ${growth.toFixed(1)} MiB`);
    // One loaded session holds ~30 MiB; 40 leaked sessions would add over 1 GiB.
    expect(growth).toBeLessThan(150);
    expect((await predict()).status).toBe(200);
  }, 180_000);
});
