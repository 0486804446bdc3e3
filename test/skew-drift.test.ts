import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { psi } from '../src/metrics/drift.js';
import { runCli } from './helpers/cli.js';
import { postRaw, scratchRepository, startTestServer } from './helpers/server.js';

const cli = (args: string[]) => runCli(args);

describe('train/serve skew guard at load', () => {
  let repo: Awaited<ReturnType<typeof scratchRepository>>;
  let server: RunningServer;

  beforeAll(async () => {
    repo = await scratchRepository(['text-detector', 'object-detector', 'face-detector']);
    const { cp } = await import('node:fs/promises');
    // One golden value changed by 0.05: the replay no longer matches.
    await cp(join(repo.dir, 'text-detector'), join(repo.dir, 'tampered-golden'), { recursive: true });
    const index = JSON.parse(await readFile(join(repo.dir, 'tampered-golden/2/golden/outputs/index.json'), 'utf8'));
    const file = join(repo.dir, 'tampered-golden/2', index[0].outputs[0].file);
    const raw = await readFile(file);
    const values = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    values[1000] += 0.05;
    await writeFile(file, raw);
    await rename('tampered-golden');
    // The manifest's resize changed (nearest instead of linear): serving no longer does what
    // the export did. (Mean and std live in the graph of these models, so the manifest's
    // values there only describe it.)
    await cp(join(repo.dir, 'object-detector'), join(repo.dir, 'tampered-resize'), { recursive: true });
    const manifestPath = join(repo.dir, 'tampered-resize/2/manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    manifest.preprocessing.interpolation = 'nearest';
    await writeFile(manifestPath, JSON.stringify(manifest));
    await rename('tampered-resize');
    server = await startTestServer({ modelsDir: repo.dir });

    async function rename(name: string) {
      const path = join(repo.dir, name, '2/manifest.json');
      await writeFile(path, JSON.stringify({ ...JSON.parse(await readFile(path, 'utf8')), name }));
    }
  });
  afterAll(async () => {
    await server?.close();
    await repo?.remove();
  });

  const versionOf = async (name: string) => ((await (await fetch(`${server.url}/v1/models/${name}`)).json()) as any).versions[0];

  it('the untouched bundled models replay their golden samples and serve', async () => {
    for (const name of ['text-detector', 'object-detector', 'face-detector']) {
      const v = await versionOf(name);
      expect(v.status).toBe('READY');
      expect(v.skew.ok).toBe(true);
      expect(v.skew.maxAbsDiff).toBeLessThan(1e-4);
    }
  });

  it.each(['tampered-golden', 'tampered-resize'])('%s is FAILED with SKEW_DETECTED and the max difference; the rest keep serving', async (name) => {
    const v = await versionOf(name);
    expect(v.status).toBe('FAILED');
    expect(v.reason).toMatch(/^SKEW_DETECTED: .*differs by up to \d/);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`framewatch_model_ready\\{model="${name}",version="2",provider="none"\\} 0`));
    expect((await postRaw(`${server.url}/v1/models/text-detector/predict`, await readFile('test/fixtures/imageTextN.png'), 'image/png')).status).toBe(200);
  });

  it('framewatch verify prints the figures and fails on skew', async () => {
    const ok = await cli(['verify', 'text-detector@2', '--models-dir', repo.dir]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/golden\/0\.png\s+sigmoid_0\.tmp_0: max \|diff\| \d\.\d+e[-+]\d+ over 139264 values/);
    expect(ok.stdout).toMatch(/OK: serving reproduces the exporter/);
    const bad = await cli(['verify', 'tampered-resize', '--models-dir', repo.dir]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/SKEW_DETECTED/);
  });
});

describe('drift monitoring', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({ modelsDir: 'models', driftWindow: 20 });
  });
  afterAll(() => server?.close());

  const drift = async () => ((await (await fetch(`${server.url}/v1/models/object-detector/versions/2/drift`)).json()) as any);
  const feature = (report: any, name: string) => report.features.find((f: any) => f.feature === name);

  it('computes PSI the standard way', () => {
    expect(psi({ a: 50, b: 50 }, { a: 50, b: 50 })).toBe(0);
    expect(psi({ a: 50, b: 50 }, { a: 90, b: 10 })).toBeCloseTo(0.4 * Math.log(1.8) - 0.4 * Math.log(0.2), 6);
  });

  it('images like the reference keep it ok; many very dark images move brightness PSI above 0.25 (drift)', async () => {
    const golden = await readFile('models/object-detector/2/golden/0.jpg');
    for (let i = 0; i < 10; i++) await postRaw(`${server.url}/v1/models/object-detector/predict`, golden, 'image/jpeg');
    const calm = await drift();
    expect(calm.samples).toBe(10);
    expect(calm.status).toBe('ok');
    expect(feature(calm, 'brightness_mean').psi).toBeLessThan(0.1);

    const dark = await sharp(golden).linear(0.08, 0).jpeg().toBuffer();
    for (let i = 0; i < 20; i++) await postRaw(`${server.url}/v1/models/object-detector/predict`, dark, 'image/jpeg');
    const report = await drift();
    expect(report.samples).toBe(20);
    expect(feature(report, 'brightness_mean').psi).toBeGreaterThan(0.25);
    expect(feature(report, 'brightness_mean').status).toBe('drift');
    expect(report.status).toBe('drift');
    expect(feature(report, 'brightness_mean').reference).toBeDefined();
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const m = /framewatch_drift_psi\{model="object-detector",version="2",feature="brightness_mean"\} (\S+)/.exec(metrics);
    expect(Number(m?.[1])).toBeGreaterThan(0.25);
  });
});
