import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sha256File } from './hash.js';
import { scanRepository, type ScannedVersion } from './scan.js';
import type { RepositoryOptions, VersionEntry } from './types.js';

/** The scanned versions `only` selects, with the models the selected pipelines' steps pin. */
function selected(scanned: ScannedVersion[], only?: (name: string) => boolean): ScannedVersion[] {
  if (!only) return scanned;
  const names = new Set(scanned.filter((s) => only(s.name)).flatMap((s) => [s.name, ...(s.pipeline?.steps.map((step) => step.model) ?? [])]));
  return scanned.filter((s) => names.has(s.name));
}

/** The versions in the repository folder that this repository serves (`only`), in name and version order. */
export async function scanSelected(options: Pick<RepositoryOptions, 'root' | 'only'>): Promise<ScannedVersion[]> {
  return selected(await scanRepository(options.root), options.only);
}

/**
 * The versions a poll adds: not yet known, and complete. A pipeline is added as found (it is
 * judged by its steps); a model only once its manifest is valid and its file matches the
 * sha256, so a version still being copied is left for a later poll.
 */
export async function newVersions(options: Pick<RepositoryOptions, 'root' | 'only'>, known: ReadonlySet<string>): Promise<ScannedVersion[]> {
  const found: ScannedVersion[] = [];
  for (const s of await scanSelected(options)) {
    if (known.has(versionKey(s))) continue;
    if (s.pipeline || (s.manifest && (await fileMatches(join(s.dir, s.manifest.file.name), s.manifest.file.sha256)))) found.push(s);
  }
  return found;
}

/** `name/version`, the key a version is known by. */
export const versionKey = (v: { name: string; version: number }) => `${v.name}/${v.version}`;

/** A new entry for a scanned version: LOADING when it has a usable manifest, else FAILED with the problem. */
export const entryFrom = (s: ScannedVersion): VersionEntry => ({
  name: s.name, version: s.version, dir: s.dir, manifest: s.manifest, pipeline: s.pipeline, state: s.manifest || s.pipeline ? 'LOADING' : 'FAILED', reason: s.problem,
});

async function fileMatches(path: string, sha256: string): Promise<boolean> {
  return existsSync(path) && (await sha256File(path)) === sha256;
}
