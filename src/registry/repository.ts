import { join } from 'node:path';
import { FramewatchError } from '../errors/index.js';
import { readLabels, writeLabels } from './labels.js';
import { createRequestOrder, createVersionLifecycle, type VersionLifecycle } from './lifecycle.js';
import { loadVersion } from './load-version.js';
import { judgePipeline, judgePipelines } from './pipelines.js';
import { entryFrom, newVersions, scanSelected, versionKey } from './polling.js';
import { createResolver } from './resolve.js';
import { readManifest } from './scan.js';
import type { ModelRepository, RepositoryOptions, VersionEntry } from './types.js';

/**
 * The model repository over `options.root`: scanning and polling find versions, one lifecycle
 * per version loads and unloads it, and resolution picks what serves a request.
 */
export function createRepository(options: RepositoryOptions): ModelRepository {
  let entries: VersionEntry[] = [];
  const labels = new Map<string, Record<string, number>>();
  const lifecycles = new Map<VersionEntry, VersionLifecycle>();
  const inRequestOrder = createRequestOrder();
  const log = options.logger;
  const refreshPipelines = () => judgePipelines(entries, log);
  const resolver = createResolver(() => entries, (name) => labels.get(name));

  const lifecycleOf = (entry: VersionEntry): VersionLifecycle => {
    let lifecycle = lifecycles.get(entry);
    if (!lifecycle) lifecycles.set(entry, (lifecycle = createVersionLifecycle(entry, { open: (e) => loadVersion(e, options), changed: refreshPipelines, logger: log })));
    return lifecycle;
  };
  const find = (name: string, version: number) => entries.find((e) => e.name === name && e.version === version);

  /** Adds a version found after start-up (a load call, a poll): in name and version order, its labels read. */
  async function track(entry: VersionEntry): Promise<VersionEntry> {
    entries.push(entry);
    entries.sort((a, b) => a.name.localeCompare(b.name) || a.version - b.version);
    if (!labels.has(entry.name)) labels.set(entry.name, await readLabels(options.root, entry.name));
    return entry;
  }

  /** A load request: re-reads the manifest, then asks the version's lifecycle (models) or judges it (pipelines). */
  async function requestLoad(name: string, version: number): Promise<VersionEntry> {
    const dir = join(options.root, name, String(version));
    const { manifest, pipeline, problem } = await readManifest(dir, name, version);
    let entry = find(name, version);
    if (pipeline) {
      entry ??= await track(entryFrom({ name, version, dir, pipeline }));
      entry.pipeline = pipeline;
      if (entry.state === 'UNLOADED') entry.state = 'LOADING';
      judgePipeline(entry, entries, log);
      return entry;
    }
    if (!entry) {
      if (!manifest) throw new FramewatchError('VERSION_NOT_FOUND', `models/${name}/${version} has no usable manifest: ${problem}`);
      entry = await track(entryFrom({ name, version, dir, manifest }));
    } else if (manifest) entry.manifest = manifest;
    else if (!entry.ready) {
      entry.state = 'FAILED';
      entry.reason = problem;
      refreshPipelines();
      return entry;
    }
    void lifecycleOf(entry).load(); // in the background; the caller polls the state
    return entry;
  }

  return {
    ...resolver,
    async loadAll() {
      entries = (await scanSelected(options)).map(entryFrom);
      for (const name of new Set(entries.map((e) => e.name))) labels.set(name, await readLabels(options.root, name));
      for (const entry of entries) {
        if (entry.state === 'LOADING' && entry.manifest) await lifecycleOf(entry).load();
        else if (entry.state === 'FAILED') log.error('model version failed', { model: entry.name, version: entry.version, reason: entry.reason });
      }
      // Pipelines after the models they run.
      refreshPipelines();
    },
    list: () => entries,
    labels: (name) => ({ ...(labels.get(name) ?? {}) }),
    async setLabel(name, label, version) {
      if (!find(name, version)) throw new FramewatchError('VERSION_NOT_FOUND', `model '${name}' has no version ${version}`);
      const next = { ...(labels.get(name) ?? {}), [label]: version };
      await writeLabels(options.root, name, next);
      labels.set(name, next);
      return next;
    },
    load: (name, version) => inRequestOrder(versionKey({ name, version }), () => requestLoad(name, version)),
    async unload(name, version) {
      const { entry, done } = await inRequestOrder(versionKey({ name, version }), () => {
        const entry = find(name, version);
        if (!entry) throw new FramewatchError('VERSION_NOT_FOUND', `model '${name}' has no version ${version}`);
        return { entry, done: lifecycleOf(entry).unload() };
      });
      await done;
      return entry;
    },
    async poll() {
      const found: VersionEntry[] = [];
      for (const s of await newVersions(options, new Set(entries.map(versionKey)))) {
        const entry = await track(entryFrom(s));
        // Pipelines are judged after this poll's models have loaded (refreshPipelines below).
        if (!s.pipeline) await lifecycleOf(entry).load();
        found.push(entry);
      }
      refreshPipelines();
      return found;
    },
    async close() {
      await Promise.all(entries.map((e) => lifecycleOf(e).close()));
      entries = [];
    },
  };
}
