import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logging/logger.js';
import { createDiskJobStore, sweepExpired, type JobRecord } from '../src/pipeline/index.js';
import { emptyJobResult } from './helpers/job-result.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-retention-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const DAY_MS = 24 * 3_600_000;
const record = (jobId: string, status: JobRecord['status'], ageMs: number): JobRecord => {
  const at = new Date(Date.now() - ageMs).toISOString();
  return { jobId, status, createdAt: at, updatedAt: at, model: { name: 'm', version: 1 }, input: { bytes: 1, durationS: 1 }, progress: { framesDone: 0, framesTotal: 1, percent: 0 } };
};

describe('retention (FRAMEWATCH_JOB_TTL_HOURS)', () => {
  it('removes jobs that ended before the cutoff, their files, and old uploads; keeps the rest', async () => {
    const store = createDiskJobStore(dir);
    const ids = { oldDone: '00000000-0000-4000-8000-000000000001', newDone: '00000000-0000-4000-8000-000000000002', oldRunning: '00000000-0000-4000-8000-000000000003', sharedOld: '00000000-0000-4000-8000-000000000004' };
    await store.save(record(ids.oldDone, 'succeeded', 8 * DAY_MS));
    await store.saveResult(ids.oldDone, emptyJobResult(ids.oldDone));
    await mkdir(store.filesDir(ids.oldDone), { recursive: true });
    await writeFile(join(store.filesDir(ids.oldDone), '0.jpg'), 'jpeg');
    await store.save(record(ids.newDone, 'failed', DAY_MS));
    await store.save(record(ids.oldRunning, 'running', 8 * DAY_MS));
    // Shared mode keeps no record on disk: a result directory last written 8 days ago.
    await store.saveResult(ids.sharedOld, emptyJobResult(ids.sharedOld));
    const eightDaysAgo = new Date(Date.now() - 8 * DAY_MS);
    await utimes(join(dir, 'jobs', ids.sharedOld), eightDaysAgo, eightDaysAgo);
    await mkdir(join(dir, 'tmp'), { recursive: true });
    await writeFile(join(dir, 'tmp', 'old.upload'), 'x');
    await utimes(join(dir, 'tmp', 'old.upload'), eightDaysAgo, eightDaysAgo);
    await writeFile(join(dir, 'tmp', 'new.upload'), 'x');

    const removed = await sweepExpired(dir, store, 168, createLogger('silent'));
    expect(removed).toBe(3);
    expect((await readdir(join(dir, 'jobs'))).sort()).toEqual([ids.newDone, ids.oldRunning].sort());
    expect(await readdir(join(dir, 'tmp'))).toEqual(['new.upload']);
  });
});

describe('results stored by the previous version', () => {
  it('still read, with tracks that have no trajectory', async () => {
    const store = createDiskJobStore(dir);
    const jobId = '00000000-0000-4000-8000-0000000000a1';
    const { tracks: _tracks, ...rest } = emptyJobResult(jobId);
    await store.saveResult(jobId, { ...rest, tracks: [] });
    // The file as round 2 wrote it: a track without a trajectory.
    const path = join(dir, 'jobs', jobId, 'result.json');
    await writeFile(path, JSON.stringify({ ...rest, tracks: [{ id: 1, label: 'person', startS: 1, endS: 3, maxScore: 0.6, hits: 5 }] }));
    const read = await store.readResult(jobId);
    expect(read?.tracks).toEqual([{ id: 1, label: 'person', startS: 1, endS: 3, maxScore: 0.6, hits: 5, trajectory: [] }]);
  });
});
