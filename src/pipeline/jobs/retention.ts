import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../logging/logger.js';
import { isFinal } from './queue.js';
import type { JobStore } from './store.js';

const HOUR_MS = 3_600_000;

async function olderThan(path: string, cutoffMs: number): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info !== undefined && info.mtimeMs < cutoffMs;
}

/**
 * Deletes what outlived the retention period: job directories (record, result, thumbnails)
 * of jobs that ended before the cutoff, or that no queue knows any more and were last
 * written before it; and uploads in tmp/ last written before it.
 */
export async function sweepExpired(dataDir: string, store: JobStore, ttlHours: number, logger: Logger): Promise<number> {
  const cutoff = Date.now() - ttlHours * HOUR_MS;
  let removed = 0;
  const jobsDir = join(dataDir, 'jobs');
  for (const id of await readdir(jobsDir).catch(() => [] as string[])) {
    const record = await store.get(id).catch(() => undefined);
    const expired = record ? isFinal(record.status) && Date.parse(record.updatedAt) < cutoff : await olderThan(join(jobsDir, id), cutoff);
    if (!expired) continue;
    await rm(join(jobsDir, id), { recursive: true, force: true });
    removed++;
  }
  const tmp = join(dataDir, 'tmp');
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    if (!(await olderThan(join(tmp, name), cutoff))) continue;
    await rm(join(tmp, name), { force: true });
    removed++;
  }
  if (removed > 0) logger.info('expired jobs and uploads removed', { removed, ttlHours });
  return removed;
}

/** Sweeps now and then every hour (or every ttl, when shorter); the timer never keeps the process up. */
export function startRetention(dataDir: string, store: JobStore, ttlHours: number, logger: Logger): () => void {
  const sweep = () => void sweepExpired(dataDir, store, ttlHours, logger).catch((err) => logger.error('retention sweep failed', { error: String(err) }));
  sweep();
  const timer = setInterval(sweep, Math.min(HOUR_MS, ttlHours * HOUR_MS));
  timer.unref();
  return () => clearInterval(timer);
}
