import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../registry/index.js';
import { emptyReview, type MissedRange, type ReviewState, type SegmentDecision } from './review.js';

/**
 * Where reviews live, beside their jobs: on disk in the embedded mode (review.json in the job's
 * directory, removed with it), in Redis in the shared mode (`pipeline/jobs/redis/review-store.ts`:
 * every API replica sees every decision; each write is one atomic command).
 */
export interface ReviewStore {
  read(jobId: string): Promise<ReviewState>;
  /** Sets segment n's decision, or clears it (undefined). */
  decide(jobId: string, n: number, decision: SegmentDecision | undefined): Promise<void>;
  addMissed(jobId: string, range: Omit<MissedRange, 'id'>): Promise<MissedRange>;
  /** False when there was no such range. */
  removeMissed(jobId: string, id: number): Promise<boolean>;
  addActivity(jobId: string, activeMs: number): Promise<void>;
}

/**
 * review.json in each job's directory (`jobDir` validates the id, so no path leaves the
 * jobs); writes to one job run one at a time.
 */
export function createDiskReviewStore(jobDir: (jobId: string) => string): ReviewStore {
  const path = (id: string) => join(jobDir(id), 'review.json');
  const read = async (id: string): Promise<ReviewState> => {
    const text = await readFile(path(id), 'utf8').catch(() => undefined);
    return text ? { ...emptyReview(), ...(JSON.parse(text) as ReviewState) } : emptyReview();
  };
  const chains = new Map<string, Promise<unknown>>();
  const update = <T>(id: string, change: (state: ReviewState) => T): Promise<T> => {
    const run = (chains.get(id) ?? Promise.resolve()).catch(() => undefined).then(async () => {
      const state = await read(id);
      const value = change(state);
      await mkdir(dirname(path(id)), { recursive: true });
      await writeFileAtomic(path(id), JSON.stringify(state));
      return value;
    });
    chains.set(id, run);
    void run.finally(() => chains.get(id) === run && chains.delete(id)).catch(() => undefined);
    return run;
  };
  return {
    read,
    decide: (id, n, decision) => update(id, (s) => {
      if (decision) s.decisions[n] = decision;
      else delete s.decisions[n];
    }),
    addMissed: (id, range) => update(id, (s) => {
      const missed = { id: Math.max(0, ...s.missed.map((m) => m.id)) + 1, ...range };
      s.missed.push(missed);
      return missed;
    }),
    removeMissed: (id, missedId) => update(id, (s) => {
      const before = s.missed.length;
      s.missed = s.missed.filter((m) => m.id !== missedId);
      return s.missed.length < before;
    }),
    addActivity: (id, ms) => update(id, (s) => void (s.activeMs += ms)),
  };
}
