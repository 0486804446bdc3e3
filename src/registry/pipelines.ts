import type { Logger } from '../logging/logger.js';
import { metrics } from '../metrics/index.js';
import type { VersionEntry } from './types.js';

/** A pipeline is READY when every pinned step is a READY model version; else FAILED, saying which step. */
export function judgePipeline(entry: VersionEntry, entries: readonly VersionEntry[], log: Logger): void {
  if (entry.state === 'UNLOADED') return; // until an explicit load
  const targets = entry.pipeline!.steps.map((step) => ({ step, target: entries.find((e) => e.name === step.model && e.version === step.version) }));
  const problems = targets.map(({ step, target }) => {
    if (!target) return `step ${step.model}@${step.version} is not in the repository`;
    if (target.pipeline) return `step ${step.model}@${step.version} is a pipeline; steps are models`;
    if (target.state !== 'READY') return `step ${step.model}@${step.version} is ${target.state}${target.reason ? ` (${target.reason})` : ''}`;
    return undefined;
  }).filter(Boolean);
  // A step still loading leaves the pipeline LOADING, not FAILED: it is judged again once the step is.
  const waiting = targets.some(({ target }) => target?.state === 'LOADING');
  const [state, reason] = waiting ? (['LOADING', undefined] as const) : problems.length ? (['FAILED', problems.join('; ')] as const) : (['READY', undefined] as const);
  if (entry.state === state && entry.reason === reason) return;
  entry.state = state;
  entry.reason = reason;
  if (state === 'LOADING') return;
  metrics.modelReady.set({ model: entry.name, version: String(entry.version), provider: 'pipeline' }, problems.length ? 0 : 1);
  if (problems.length) log.error('pipeline version failed', { model: entry.name, version: entry.version, reason });
  else log.info('pipeline version ready', { model: entry.name, version: entry.version, steps: entry.pipeline!.steps });
}

/** A pipeline's state follows its steps: re-judged wherever a version's state changes (load, unload, scan). */
export function judgePipelines(entries: readonly VersionEntry[], log: Logger): void {
  for (const entry of entries) if (entry.pipeline) judgePipeline(entry, entries, log);
}
