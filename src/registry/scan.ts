import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { manifestSchema, MODEL_NAME_RE, pipelineManifestSchema, VERSION_RE, type Manifest, type PipelineManifest } from './manifest.js';

export interface ScannedVersion {
  name: string;
  version: number;
  dir: string;
  manifest?: Manifest;
  /** Set instead of manifest for a pipeline of other versions. */
  pipeline?: PipelineManifest;
  /** Why the manifest is unusable, when it is. */
  problem?: string;
}

/**
 * Lists `<root>/<name>/<version>/` directories. Directories whose names are not kebab-case
 * names or positive integers are skipped; a bad manifest is reported, not thrown.
 */
export async function scanRepository(root: string): Promise<ScannedVersion[]> {
  const found: ScannedVersion[] = [];
  for (const modelDir of await readdir(root, { withFileTypes: true }).catch(() => [])) {
    if (!modelDir.isDirectory() || !MODEL_NAME_RE.test(modelDir.name)) continue;
    const versions = await readdir(join(root, modelDir.name), { withFileTypes: true });
    for (const versionDir of versions) {
      if (!versionDir.isDirectory() || !VERSION_RE.test(versionDir.name)) continue;
      const dir = join(root, modelDir.name, versionDir.name);
      const entry: ScannedVersion = { name: modelDir.name, version: Number(versionDir.name), dir };
      Object.assign(entry, await readManifest(dir, entry.name, entry.version));
      found.push(entry);
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name) || a.version - b.version);
}

/** Reads and validates one manifest, checking that it names the directory it sits in. */
export async function readManifest(dir: string, name: string, version: number): Promise<{ manifest?: Manifest; pipeline?: PipelineManifest; problem?: string }> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  } catch (err) {
    return { problem: `manifest.json unreadable: ${(err as Error).message}` };
  }
  const isPipeline = (raw as { kind?: unknown } | null)?.kind === 'pipeline';
  const parsed = (isPipeline ? pipelineManifestSchema : manifestSchema).safeParse(raw);
  if (!parsed.success) {
    return { problem: `manifest.json invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  }
  if (parsed.data.name !== name || parsed.data.version !== version) {
    return { problem: `manifest.json names ${parsed.data.name}@${parsed.data.version} but sits in ${name}/${version}` };
  }
  return isPipeline ? { pipeline: parsed.data as PipelineManifest } : { manifest: parsed.data as Manifest };
}
