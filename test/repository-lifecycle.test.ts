import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPreprocessing } from '../preprocessing/index.js';
import { createLogger } from '../src/logging/logger.js';
import { metrics } from '../src/metrics/index.js';
import { createRepository, type ModelRepository } from '../src/registry/index.js';

const NAME = 'text-detector'; // the smallest bundled model
let repository: ModelRepository;
let version: number;

/** ONNX Runtime worker threads alive in this process, from framewatch_sessions_open. */
const sessionsOpen = async () => (await metrics.sessionsOpen.get()).values[0]?.value ?? 0;

/** Waits until the open sessions stop changing (a leak stays; a late release shows). */
const settledSessions = async () => {
  let last = -1;
  for (let same = 0; same < 5; ) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await sessionsOpen();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
};

const entry = () => repository.list().find((e) => e.name === NAME && e.version === version)!;
const waitUntil = async (ok: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 1000 && !(await ok()); i++) await new Promise((r) => setTimeout(r, 5));
};

beforeAll(async () => {
  repository = createRepository({ root: 'models', device: 'cpu', threads: 1, logger: createLogger('silent'), only: (n) => n === NAME });
  await repository.loadAll();
  version = repository.resolve(NAME).version;
  expect(await sessionsOpen()).toBe(1);
});
afterAll(async () => {
  await repository.close();
  expect(await settledSessions()).toBe(0);
});

describe('one version\'s lifecycle: loads and unloads one at a time, the last request wins', () => {
  it.each([
    ['load', 1, 'READY'],
    ['unload', 0, 'UNLOADED'],
  ] as const)('20 overlapping load/unload calls ending with %s leave %i live copies and no leaked session', async (last, copies, state) => {
    const calls = Array.from({ length: 20 }, (_, i) => ((i % 2 === 0) === (last === 'load') ? 'unload' : 'load'));
    expect(calls.at(-1)).toBe(last);
    await Promise.all(calls.map((call) => repository[call](NAME, version)));
    await waitUntil(() => entry().state === state);
    expect(await settledSessions()).toBe(copies);
    expect(entry().state).toBe(state);
    if (last === 'load') expect(Object.keys(await predictGrey())).not.toHaveLength(0);
    else expect(() => repository.resolve(NAME, version)).toThrow(/UNLOADED/);
  });

  it('an unload made during a load wins: the version ends UNLOADED and the new session is closed', async () => {
    await repository.unload(NAME, version);
    expect(await settledSessions()).toBe(0);
    await repository.load(NAME, version);
    expect(entry().state).toBe('LOADING');
    await waitUntil(async () => (await sessionsOpen()) === 1); // its session is opening
    expect(entry().state).toBe('LOADING');
    await repository.unload(NAME, version);
    expect(entry().state).toBe('UNLOADED');
    expect(await settledSessions()).toBe(0);
    expect(entry().state).toBe('UNLOADED');
    expect(entry().ready).toBeUndefined();
  });
});

/** A grey image through the version's own preprocessing and batcher: the copy left serves. */
async function predictGrey() {
  const model = repository.resolve(NAME, version);
  const input = await applyPreprocessing({ data: new Uint8Array(64 * 64 * 3).fill(200), width: 64, height: 64 }, model.manifest.preprocessing);
  return model.batcher.run(input);
}
