import { FramewatchError } from '../errors/index.js';
import type { ModelRepository, VersionEntry } from './types.js';

type Resolution = Pick<ModelRepository, 'isPipeline' | 'resolve' | 'resolvePipeline' | 'resolveTarget' | 'resolveLabel' | 'labelVersion'>;

/** Serves a model when it has a ready copy, a pipeline when its steps were ready at its last judgement. */
const isReady = (e: VersionEntry) => e.state === 'READY' && (e.pipeline !== undefined || e.ready !== undefined);

/** The rule for an unversioned request, written once: the newest READY version. */
const newestReady = (versions: readonly VersionEntry[]) => versions.filter(isReady).sort((a, b) => b.version - a.version)[0];

const noReadyVersion = (kind: string, name: string, versions: readonly VersionEntry[]) =>
  new FramewatchError('MODEL_NOT_READY', `${kind} '${name}' has no ready version`, { versions: versions.map((e) => ({ version: e.version, state: e.state, reason: e.reason })) });

function findVersion(kind: string, name: string, versions: readonly VersionEntry[], version: number): VersionEntry {
  const entry = versions.find((e) => e.version === version);
  if (!entry) throw new FramewatchError('VERSION_NOT_FOUND', `${kind} '${name}' has no version ${version}`, { versions: versions.map((e) => e.version) });
  return entry;
}

/** Resolution over the repository's entries and labels: a name (and version or label) to what serves it. */
export function createResolver(entries: () => readonly VersionEntry[], labelsOf: (name: string) => Record<string, number> | undefined): Resolution {
  const isPipeline = (name: string) => entries().some((e) => e.name === name && e.pipeline);

  const resolve: Resolution['resolve'] = (name, version) => {
    const versions = entries().filter((e) => e.name === name);
    if (versions.length === 0) throw new FramewatchError('MODEL_NOT_FOUND', `model '${name}' is not in the repository`);
    if (versions.some((e) => e.pipeline)) {
      throw new FramewatchError('MODEL_NOT_FOUND', `'${name}' is a pipeline, not a single model: POST /v1/models/${name}/predict serves it`);
    }
    if (version === undefined) {
      const newest = newestReady(versions);
      if (!newest) throw noReadyVersion('model', name, versions);
      return newest.ready!;
    }
    const entry = findVersion('model', name, versions, version);
    if (!isReady(entry)) throw new FramewatchError('MODEL_NOT_READY', `model '${name}' version ${version} is ${entry.state}`, { state: entry.state, reason: entry.reason });
    return entry.ready!;
  };

  const resolvePipeline: Resolution['resolvePipeline'] = (name, version) => {
    const versions = entries().filter((e) => e.name === name && e.pipeline);
    if (versions.length === 0) throw new FramewatchError('MODEL_NOT_FOUND', `pipeline '${name}' is not in the repository`);
    const entry = version === undefined ? newestReady(versions) : findVersion('pipeline', name, versions, version);
    if (!entry || !isReady(entry)) throw noReadyVersion('pipeline', name, versions);
    const manifest = entry.pipeline!;
    return { name, version: entry.version, manifest, steps: manifest.steps.map((step) => ({ model: resolve(step.model, step.version), crop: step.crop })) };
  };

  const labelVersion: Resolution['labelVersion'] = (name, label) => {
    const version = labelsOf(name)?.[label];
    if (version === undefined) throw new FramewatchError('VERSION_NOT_FOUND', `model '${name}' has no label '${label}'`, { labels: labelsOf(name) ?? {} });
    return version;
  };

  return {
    isPipeline,
    resolve,
    resolvePipeline,
    resolveTarget: (name, version) => (isPipeline(name) ? resolvePipeline(name, version) : resolve(name, version)),
    resolveLabel: (name, label) => resolve(name, labelVersion(name, label)),
    labelVersion,
  };
}
