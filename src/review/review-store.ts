import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Redis } from 'ioredis';
import { writeFileAtomic } from '../registry/index.js';
import { emptyReview, type MissedRange, type ReviewState, type SegmentDecision } from './review.js';

/**
 * Where reviews live, beside their jobs: on disk in the embedded mode (review.json in the job's
 * directory, removed with it), in Redis in the shared mode (every API replica sees every
 * decision; each write is one atomic command, so two reviewers never overwrite each other).
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

/** Keys beside the job's record; they expire `ttlS` after the last review write. */
export function createRedisReviewStore(redis: Redis, ttlS: number): ReviewStore {
  const key = (id: string) => ({ decisions: `framewatch:job:${id}:review:decisions`, missed: `framewatch:job:${id}:review:missed`, counters: `framewatch:job:${id}:review` });
  /** Runs the writes, then (re)sets every key's expiry: EXPIRE on a key not yet written does nothing. */
  const write = (id: string, add: (m: ReturnType<Redis['multi']>) => ReturnType<Redis['multi']>) => {
    const k = key(id);
    return add(redis.multi()).expire(k.decisions, ttlS).expire(k.missed, ttlS).expire(k.counters, ttlS).exec();
  };
  return {
    async read(id) {
      const k = key(id);
      const [decisions, missed, counters] = await Promise.all([redis.hgetall(k.decisions), redis.hgetall(k.missed), redis.hgetall(k.counters)]);
      return {
        decisions: Object.fromEntries(Object.entries(decisions).map(([n, v]) => [n, JSON.parse(v) as SegmentDecision])),
        missed: Object.values(missed).map((v) => JSON.parse(v) as MissedRange).sort((a, b) => a.id - b.id),
        activeMs: Number(counters.activeMs ?? 0),
      };
    },
    async decide(id, n, decision) {
      const k = key(id);
      await write(id, (m) => (decision ? m.hset(k.decisions, String(n), JSON.stringify(decision)) : m.hdel(k.decisions, String(n))));
    },
    async addMissed(id, range) {
      const missed = { id: await redis.hincrby(key(id).counters, 'missedSeq', 1), ...range };
      await write(id, (m) => m.hset(key(id).missed, String(missed.id), JSON.stringify(missed)));
      return missed;
    },
    async removeMissed(id, missedId) {
      const [[, removed]] = (await write(id, (m) => m.hdel(key(id).missed, String(missedId)))) as Array<[Error | null, number]>;
      return removed > 0;
    },
    async addActivity(id, ms) {
      await write(id, (m) => m.hincrby(key(id).counters, 'activeMs', ms));
    },
  };
}
