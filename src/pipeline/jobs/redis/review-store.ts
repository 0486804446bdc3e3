import type { Redis } from 'ioredis';
import type { MissedRange, ReviewStore, SegmentDecision } from '../../../review/index.js';
import { redisKeys } from './keys.js';

/**
 * Reviews in the shared mode: every API replica sees every decision, and each write is one
 * atomic command, so two reviewers never overwrite each other. The keys sit beside the job's
 * record and expire `ttlS` after the last review write.
 */
export function createRedisReviewStore(redis: Redis, ttlS: number): ReviewStore {
  const key = redisKeys.review;
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
