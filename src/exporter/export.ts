import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { preprocessSpecSchema, type PreprocessSpecInput } from '../../preprocessing/index.js';
import { FramewatchError } from '../errors/index.js';
import { manifestSchema, MODEL_NAME_RE, sha256File, writeFileAtomic, type Manifest } from '../registry/index.js';
import { createSession } from '../runtime/index.js';
import { getTask } from '../tasks/index.js';
import { writeGoldenOutputs, type ImageDecoder } from './golden.js';

export interface ExportOptions {
  modelsDir: string;
  /** Path of the source ONNX model on disk. */
  sourcePath: string;
  /** Provenance recorded in the manifest: npm package and path inside it. */
  sourcePackage?: string;
  sourceLabel?: string;
  sourceLicense?: string;
  name: string;
  /** Default: one above the highest existing version. */
  version?: number;
  task: string;
  project: string;
  description?: string;
  preprocessing: PreprocessSpecInput;
  postprocessing?: Record<string, unknown>;
  labels: string[];
  /** Golden sample images (paths on disk); copied into golden/. */
  golden: string[];
  decode: ImageDecoder;
  createdAt?: Date;
}

export interface ExportResult {
  dir: string;
  manifest: Manifest;
}

async function nextVersion(modelDir: string): Promise<number> {
  const names = await readdir(modelDir).catch(() => [] as string[]);
  const versions = names.filter((n) => /^[1-9][0-9]*$/.test(n)).map(Number);
  return versions.length ? Math.max(...versions) + 1 : 1;
}

/**
 * Builds `<modelsDir>/<name>/<version>/`: the model, its sha256, I/O read from ONNX Runtime,
 * golden outputs, and the manifest written last. Staged in a temp dir and renamed into place,
 * so a half-written version is never visible. Refuses to overwrite an existing version.
 */
export async function exportModel(options: ExportOptions): Promise<ExportResult> {
  if (!MODEL_NAME_RE.test(options.name)) {
    throw new FramewatchError('EXPORT_FAILED', `'name' must be lowercase kebab-case, got '${options.name}'`);
  }
  const task = getTask(options.task);
  const postprocessing = task.paramsSchema.parse(options.postprocessing ?? {});
  const preprocessing = preprocessSpecSchema.parse(options.preprocessing);
  const modelDir = join(options.modelsDir, options.name);
  const version = options.version ?? (await nextVersion(modelDir));
  const finalDir = join(modelDir, String(version));
  if ((await readdir(modelDir).catch(() => [] as string[])).includes(String(version))) {
    throw new FramewatchError('EXPORT_FAILED', `${options.name}/${version} already exists; versions are never overwritten`);
  }
  const staging = join(modelDir, `.staging-${randomBytes(4).toString('hex')}`);
  await mkdir(join(staging, 'golden'), { recursive: true });
  try {
    await copyFile(options.sourcePath, join(staging, 'model.onnx'));
    const golden = [];
    for (const [i, image] of options.golden.entries()) {
      const input = `golden/${i}${extname(image).toLowerCase() || '.img'}`;
      await copyFile(image, join(staging, input));
      golden.push({ input, sha256: await sha256File(image) });
    }
    const session = await createSession(join(staging, 'model.onnx'), { device: 'cpu', threads: 0 });
    try {
      await writeGoldenOutputs(staging, golden.map((g) => g.input), session, preprocessing, options.decode);
      const manifest = manifestSchema.parse({
        project: options.project,
        name: options.name,
        version,
        createdAt: (options.createdAt ?? new Date()).toISOString(),
        task: task.name,
        ...(options.description ? { description: options.description } : {}),
        source: {
          format: 'onnx',
          ...(options.sourcePackage ? { package: options.sourcePackage } : {}),
          path: options.sourceLabel ?? basename(options.sourcePath),
          sha256: await sha256File(options.sourcePath),
          ...(options.sourceLicense ? { license: options.sourceLicense } : {}),
        },
        file: { name: 'model.onnx', sha256: await sha256File(join(staging, 'model.onnx')) },
        inputs: session.inputs,
        outputs: session.outputs,
        preprocessing,
        postprocessing,
        labels: options.labels,
        golden,
      });
      await writeFileAtomic(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      await rename(staging, finalDir);
      return { dir: finalDir, manifest };
    } finally {
      await session.release();
    }
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    if (err instanceof FramewatchError) throw err;
    throw new FramewatchError('EXPORT_FAILED', `export of ${options.name} failed: ${(err as Error).message}`, undefined, { cause: err });
  }
}
