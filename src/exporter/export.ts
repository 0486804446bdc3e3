import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { preprocessSpecSchema, type PreprocessSpecInput } from '../../preprocessing/index.js';
import { FramewatchError } from '../errors/index.js';
import { manifestSchema, MODEL_NAME_RE, sha256File, writeAudioGoldenOutputs, writeFileAtomic, type Manifest } from '../registry/index.js';
import { createSession } from '../runtime/index.js';
import { getTask, voiceParamsSchema } from '../tasks/index.js';
import { writeGoldenOutputs, type ImageDecoder } from './golden.js';
import { referenceImages, writeAudioReferenceProfile, writeReferenceProfile } from './reference.js';
import { parseNamesProperty, readOnnxMetadata } from './onnx/metadata.js';
import { editGraph, verifyGraphEdits } from './verify-edits.js';
import { convertTfjsGraph, readTfjsGraphModel } from './tfjs/index.js';

export interface ExportOptions {
  modelsDir: string;
  /** Path of the source model on disk: an .onnx file, or a TF.js graph model's model.json. */
  sourcePath: string;
  sourceFormat?: 'onnx' | 'tfjs' | 'version';
  /** version only: the derived model's bytes, and how they were derived from the source version's file (at sourcePath). */
  derived?: { bytes: Uint8Array; variant: 'copy' | 'int8' };
  /** tfjs only: TF node names to cut the graph at (default: the model's signature outputs). */
  sourceOutputs?: string[];
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
  /** Default: the ONNX metadata property `names` (Ultralytics exports carry it). */
  labels?: string[];
  /** Golden sample images (paths on disk); copied into golden/. */
  golden: string[];
  decode: ImageDecoder;
  createdAt?: Date;
  /** Folder of images for the drift reference profile; default: the golden images. */
  referenceDir?: string;
  /** Copied into the manifest as they are (see the manifest schema). */
  expected?: Manifest['expected'];
  review?: Manifest['review'];
  serving?: Manifest['serving'];
  runtime?: Manifest['runtime'];
  /** More files for the version folder (name to text), written before it appears: a tuning record. */
  files?: Record<string, string>;
}

/** What an export takes from an existing version's manifest to build the same model again: its naming, task, processing, labels and golden samples (in `versionDir`). */
export const manifestExportFields = (m: Manifest, versionDir: string) => ({
  name: m.name,
  task: m.task,
  project: m.project,
  preprocessing: m.preprocessing,
  postprocessing: m.postprocessing,
  labels: m.labels,
  golden: m.golden.map((g) => join(versionDir, g.input)),
  ...(m.expected ? { expected: m.expected } : {}),
  ...(m.review ? { review: m.review } : {}),
});

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
    const format = options.sourceFormat ?? 'onnx';
    let sourceSha256: string;
    let sourceOutputs: string[] | undefined;
    let sourceBytes: Uint8Array;
    if (format === 'tfjs') {
      const graph = await readTfjsGraphModel(options.sourcePath);
      const converted = convertTfjsGraph(graph, { outputs: options.sourceOutputs, dynamicBatch: true });
      sourceBytes = converted.onnx;
      sourceSha256 = graph.sha256;
      sourceOutputs = converted.outputs;
    } else {
      sourceBytes = await readFile(options.sourcePath);
      sourceSha256 = await sha256File(options.sourcePath);
    }
    // A version derived from another is already edited; tune judged its parity.
    const edited = options.derived?.bytes ?? editGraph(sourceBytes, task.name, preprocessing, postprocessing);
    await writeFile(join(staging, 'model.onnx'), edited);
    const labels = options.labels ?? parseNamesProperty((await readOnnxMetadata(join(staging, 'model.onnx'))).names);
    if (!labels?.length) throw new FramewatchError('EXPORT_FAILED', 'no labels: pass --labels, or export a model whose metadata has `names`');
    const golden = [];
    for (const [i, image] of options.golden.entries()) {
      const input = `golden/${i}${extname(image).toLowerCase() || '.img'}`;
      await copyFile(image, join(staging, input));
      golden.push({ input, sha256: await sha256File(image) });
    }
    for (const [name, text] of Object.entries(options.files ?? {})) await writeFile(join(staging, name), text);
    const session = await createSession(join(staging, 'model.onnx'), { device: 'cpu', graph: options.runtime });
    try {
      if (!options.derived && edited !== sourceBytes) {
        // The golden images prove the edited graph computes what the source model computes.
        await verifyGraphEdits({
          staging, sourceBytes, edited: session, golden: golden.map((g) => g.input), spec: preprocessing, task, params: postprocessing, labels, decode: options.decode,
        });
      }
      if (task.inputKind === 'audio') {
        // Golden clips are raw samples, replayed through the voice framing; the drift reference is their speech.
        const heard = await writeAudioGoldenOutputs(staging, golden.map((g) => g.input), session);
        await writeAudioReferenceProfile(staging, heard, voiceParamsSchema.parse(postprocessing));
      } else {
        await writeGoldenOutputs(staging, golden.map((g) => g.input), session, preprocessing, options.decode);
        const referenceImagesList = options.referenceDir ? await referenceImages(options.referenceDir) : golden.map((g) => join(staging, g.input));
        await writeReferenceProfile(staging, referenceImagesList, options.referenceDir ? 'reference-dir' : 'golden', {
          session, spec: preprocessing, task, params: postprocessing as { scoreThreshold: number }, labels, decode: options.decode,
        });
      }
      const manifest = manifestSchema.parse({
        project: options.project,
        name: options.name,
        version,
        createdAt: (options.createdAt ?? new Date()).toISOString(),
        task: task.name,
        ...(options.description ? { description: options.description } : {}),
        source: {
          format,
          ...(options.sourcePackage ? { package: options.sourcePackage } : {}),
          path: options.sourceLabel ?? basename(options.sourcePath),
          sha256: sourceSha256,
          ...(options.sourceLicense ? { license: options.sourceLicense } : {}),
          ...(sourceOutputs ? { outputs: sourceOutputs } : {}),
          ...(options.derived ? { variant: options.derived.variant } : {}),
        },
        file: { name: 'model.onnx', sha256: await sha256File(join(staging, 'model.onnx')) },
        inputs: session.inputs,
        outputs: session.outputs,
        preprocessing,
        postprocessing,
        labels,
        golden,
        ...(options.expected ? { expected: options.expected } : {}),
        ...(options.review ? { review: options.review } : {}),
        ...(options.serving ? { serving: options.serving } : {}),
        ...(options.runtime ? { runtime: options.runtime } : {}),
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
