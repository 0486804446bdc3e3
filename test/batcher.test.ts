import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPreprocessing, preprocessSpecSchema, type ModelInput } from '../preprocessing/index.js';
import { createLogger } from '../src/logging/logger.js';
import { createRepository, lazySession, sessionPool, type ModelRepository, type ReadyModel } from '../src/registry/index.js';
import { join } from 'node:path';
import { createBatcher, createSession, runSingle, usableCores, type BatcherOptions, type ModelSession } from '../src/runtime/index.js';

let repository: ModelRepository;
let model: ReadyModel;
const inputs: Record<string, ModelInput> = {};

/** A grey image of the given size through text-detector's preprocessing (dynamic H and W). */
const grey = async (w: number, h: number) => {
  const spec = preprocessSpecSchema.parse({ ...model.manifest.preprocessing, resize: { mode: 'limit-side', maxSide: 4096, multipleOf: 32 } });
  return applyPreprocessing({ data: new Uint8Array(w * h * 3).fill(200), width: w, height: h }, spec);
};

beforeAll(async () => {
  repository = createRepository({ root: 'models', device: 'cpu', logger: createLogger('silent') });
  await repository.loadAll();
  model = repository.resolve('text-detector');
  inputs.small = await grey(64, 64);
  inputs.other = await grey(96, 64);
  inputs.slow = await grey(960, 960); // a few hundred ms: keeps the one instance busy
});
afterAll(() => repository.close());

/** text-detector's ONNX file, for a second session of the same model. */
const modelFile = () => join('models/text-detector', String(model.version), model.manifest.file.name);

const options = (over: Partial<BatcherOptions>): BatcherOptions => ({ maxBatchSize: 1, bulkMaxBatchSize: 1, maxQueueDelayMs: 0, maxQueueSize: 100, timeoutMs: 0, instances: 1, ...over });

describe('dynamic batcher (real ONNX Runtime session)', () => {
  it('never mixes input shapes in a batch, and batches items of one shape', async () => {
    const sizes: number[] = [];
    const batcher = createBatcher(model.session, options({ maxBatchSize: 4, maxQueueDelayMs: 50 }), { onBatch: (n) => sizes.push(n) });
    const results = await Promise.all([batcher.run(inputs.small), batcher.run(inputs.other), batcher.run(inputs.small), batcher.run(inputs.small)]);
    expect(sizes.sort()).toEqual([1, 3]);
    expect(results[0]['sigmoid_0.tmp_0'].dims).toEqual([1, 1, 64, 64]);
    expect(results[1]['sigmoid_0.tmp_0'].dims).toEqual([1, 1, 64, 96]);
  });

  it('caps batches led by bulk (video) items at bulkMaxBatchSize, and interactive ones at maxBatchSize', async () => {
    const sizes: number[] = [];
    const batcher = createBatcher(model.session, options({ maxBatchSize: 4, bulkMaxBatchSize: 2, maxQueueDelayMs: 50 }), { onBatch: (n) => sizes.push(n) });
    await Promise.all([1, 2, 3, 4, 5].map(() => batcher.run(inputs.small, 'bulk')));
    expect(sizes).toEqual([2, 2, 1]);
    sizes.length = 0;
    await Promise.all([1, 2, 3, 4, 5].map(() => batcher.run(inputs.small)));
    expect(sizes).toEqual([4, 1]);
  });

  it('runs raw feeds (their own batch, as a voice model\'s lanes come) at once: they never wait maxQueueDelayMs for company', async () => {
    const batcher = createBatcher(model.session, options({ maxBatchSize: 4, bulkMaxBatchSize: 4, maxQueueDelayMs: 400 }));
    const feeds = { image: { type: 'uint8' as const, data: Uint8Array.from(inputs.small.data), dims: [...inputs.small.dims] } };
    const started = Date.now();
    for (let i = 0; i < 3; i++) await batcher.runFeeds(feeds, 'bulk');
    // Three runs one after another: with the delay they would take 1.2 s at least.
    expect(Date.now() - started).toBeLessThan(400);
  });

  it('gives each item of a batch its own outputs, equal to running it alone', async () => {
    const batcher = createBatcher(model.session, options({ maxBatchSize: 2, maxQueueDelayMs: 50 }));
    const dark = await applyPreprocessing({ data: new Uint8Array(64 * 64 * 3).fill(10), width: 64, height: 64 }, model.manifest.preprocessing);
    const [a, b] = await Promise.all([batcher.run(inputs.small), batcher.run(dark)]);
    const aloneB = await createBatcher(model.session, options({})).run(dark);
    const x = a['sigmoid_0.tmp_0'].data, y = b['sigmoid_0.tmp_0'].data, z = aloneB['sigmoid_0.tmp_0'].data;
    let diff = 0;
    for (let i = 0; i < y.length; i++) diff = Math.max(diff, Math.abs(y[i] - z[i]));
    expect(diff).toBeLessThan(1e-4);
    expect(x).not.toEqual(y);
  });

  it('rejects at once with QUEUE_FULL when the queue is full', async () => {
    const rejected: string[] = [];
    const batcher = createBatcher(model.session, options({ maxQueueSize: 2 }), { onReject: (r) => rejected.push(r) });
    const running = batcher.run(inputs.slow);
    const queued = [batcher.run(inputs.small), batcher.run(inputs.small)];
    const started = Date.now();
    await expect(batcher.run(inputs.small)).rejects.toMatchObject({ code: 'QUEUE_FULL', details: { retryAfterS: 1 } });
    expect(Date.now() - started).toBeLessThan(50);
    await Promise.all([running, ...queued]);
    expect(rejected).toEqual(['queue_full']);
  });

  it('admits interactive requests up to queue + running capacity, before any work is done', () => {
    const batcher = createBatcher(model.session, options({ maxQueueSize: 2, instances: 1, maxBatchSize: 1 }));
    const tickets = [batcher.admit(), batcher.admit(), batcher.admit()];
    expect(() => batcher.admit()).toThrow(expect.objectContaining({ code: 'QUEUE_FULL' }));
    tickets[0]();
    tickets[0](); // releasing twice frees one slot only
    const again = batcher.admit();
    expect(() => batcher.admit()).toThrow(expect.objectContaining({ code: 'QUEUE_FULL' }));
    again();
  });

  it('drops items past their deadline with TIMEOUT, without running them', async () => {
    const sizes: number[] = [];
    const batcher = createBatcher(model.session, options({ timeoutMs: 20 }), { onBatch: (n) => sizes.push(n) });
    const first = batcher.run(inputs.slow);
    const late = batcher.run(inputs.small);
    await expect(late).rejects.toMatchObject({ code: 'TIMEOUT' });
    await first;
    await new Promise((r) => setTimeout(r, 50));
    expect(sizes).toEqual([1]); // only the first ran
    expect(batcher.depth()).toBe(0);
  });

  it('runs interactive items before queued bulk (video) items', async () => {
    const order: string[] = [];
    const batcher = createBatcher(model.session, options({}));
    const track = (name: string, p: Promise<unknown>) => p.then(() => order.push(name));
    const all = [
      track('bulk-0', batcher.run(inputs.slow, 'bulk')),
      track('bulk-1', batcher.run(inputs.small, 'bulk')),
      track('bulk-2', batcher.run(inputs.small, 'bulk')),
      track('image', batcher.run(inputs.small, 'interactive')),
    ];
    await Promise.all(all);
    expect(order).toEqual(['bulk-0', 'image', 'bulk-1', 'bulk-2']);
  });

  it('runs up to `instances` batches at once', async () => {
    let peak = 0;
    let now = 0;
    const session = { ...model.session, run: async (feeds: never) => { peak = Math.max(peak, ++now); try { return await model.session.run(feeds); } finally { now--; } } };
    const batcher = createBatcher(session, options({ instances: 2 }));
    await Promise.all([batcher.run(inputs.small), batcher.run(inputs.small), batcher.run(inputs.small)]);
    expect(peak).toBe(2);
  });

  it('runs at most `bulkInstances` batches led by bulk items at once, and interactive ones beside them', async () => {
    let now = 0, peak = 0, bulkNow = 0, bulkPeak = 0;
    // Bulk items are the 64x64 inputs, the interactive one is 96 wide.
    const isBulk = (feeds: Record<string, { data: ArrayLike<unknown> }>) => Object.values(feeds)[0].data.length === inputs.small.data.length;
    const session: ModelSession = {
      ...model.session,
      run: async (feeds, transfer) => {
        const bulk = isBulk(feeds);
        peak = Math.max(peak, ++now);
        if (bulk) bulkPeak = Math.max(bulkPeak, ++bulkNow);
        try {
          return await model.session.run(feeds, transfer);
        } finally {
          now--;
          if (bulk) bulkNow--;
        }
      },
    };
    const batcher = createBatcher(session, options({ instances: 2, bulkInstances: 1 }));
    await Promise.all([batcher.run(inputs.small, 'bulk'), batcher.run(inputs.small, 'bulk'), batcher.run(inputs.small, 'bulk'), batcher.run(inputs.other)]);
    expect(bulkPeak).toBe(1);
    expect(peak).toBe(2);
  });

  it('a session released while runs are on their way answers those runs first, then releases (no worker lost mid-run)', async () => {
    const session = await createSession(modelFile(), { device: 'cpu', threads: 1 });
    // Sent together, with no wait: onnxruntime-node starts a run on a later tick, so a release
    // handled beside it used to free the native session under it (the worker died, or the process aborted).
    const runs = [inputs.small, inputs.other, inputs.small].map((input) => runSingle(session, input).then((out) => out['sigmoid_0.tmp_0'].dims));
    await session.release();
    expect(await Promise.all(runs)).toEqual([[1, 1, 64, 64], [1, 1, 64, 96], [1, 1, 64, 64]]);
    await expect(runSingle(session, inputs.small)).rejects.toThrow(/inference worker exited/);
  });

  it('a session pool opens its second session only once a run finds the first busy, then runs on both', async () => {
    const first = await createSession(modelFile(), { device: 'cpu', threads: 1 });
    let onFirst = 0;
    let opens = 0;
    const second = lazySession(async () => {
      opens++;
      return createSession(modelFile(), { device: 'cpu', threads: 1 });
    }, () => undefined);
    const pool = sessionPool({ ...first, run: (feeds, transfer) => (onFirst++, first.run(feeds, transfer)) }, [second]);
    try {
      await runSingle(pool, inputs.small);
      await runSingle(pool, inputs.small);
      expect(opens).toBe(0); // one at a time: one session
      await Promise.all([runSingle(pool, inputs.slow), runSingle(pool, inputs.small)]);
      expect(opens).toBe(1);
      for (let waited = 0; !second.current() && waited < 20_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      onFirst = 0;
      await Promise.all([runSingle(pool, inputs.slow), runSingle(pool, inputs.small)]);
      expect(onFirst).toBe(1); // the other run went to the second session
    } finally {
      await pool.release();
    }
    expect(second.current()).toBeUndefined();
    await expect(runSingle(first, inputs.small)).rejects.toThrow(/inference worker exited/);
  });

  it('runs batches led by bulk items on the bulk session (one thread), the others on the main one, one at a time with one instance', async () => {
    const bulkSession = await createSession(modelFile(), { device: 'cpu', threads: 1 });
    try {
      const ran: string[] = [];
      let now = 0;
      let peak = 0;
      const counted = (name: string, session: ModelSession): ModelSession => ({
        ...session,
        run: async (feeds, transfer) => {
          ran.push(name);
          peak = Math.max(peak, ++now);
          try {
            return await session.run(feeds, transfer);
          } finally {
            now--;
          }
        },
      });
      const bulk = counted('bulk', bulkSession);
      // Until the bulk session is open, bulk batches run on the main one; the first bulk item starts the open.
      let opens = 0;
      let isOpen = false;
      const lane = { open: () => void opens++, current: () => (isOpen ? bulk : undefined) };
      const batcher = createBatcher(counted('main', model.session), options({}), {}, lane);
      await Promise.all([batcher.run(inputs.small), batcher.run(inputs.small, 'bulk'), batcher.run(inputs.small, 'bulk')]);
      expect(ran).toEqual(['main', 'main', 'main']);
      expect(opens).toBe(2); // once per bulk item: opening is the lane's to do once
      ran.length = 0;
      isOpen = true;
      const [frame, image, frame2] = await Promise.all([batcher.run(inputs.small, 'bulk'), batcher.run(inputs.small), batcher.run(inputs.small, 'bulk')]);
      expect(ran.sort()).toEqual(['bulk', 'bulk', 'main']);
      expect(peak).toBe(1);
      // The same model on fewer threads: the same outputs.
      const [a, b] = [frame['sigmoid_0.tmp_0'].data, image['sigmoid_0.tmp_0'].data];
      expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-5);
      expect(frame2['sigmoid_0.tmp_0'].dims).toEqual([1, 1, 64, 64]);
    } finally {
      await bulkSession.release();
    }
  });
});

describe('a process that answers images and runs video (bulkReservedCores)', () => {
  it('the bulk session: opened once, in the background; released when asked, even mid-open; none after; a failed open leaves video on the main session', async () => {
    // Released while opening: the session it opened is released once the open ends (a released session refuses to run).
    let finishOpen!: () => void;
    const gate = new Promise<void>((r) => (finishOpen = r));
    let opened: ModelSession | undefined;
    let opens = 0;
    const lane = lazySession(async () => {
      opens++;
      await gate;
      return (opened = await createSession(modelFile(), { device: 'cpu', threads: 1 }));
    }, () => undefined);
    lane.open();
    lane.open();
    expect(lane.current()).toBeUndefined();
    const released = lane.release();
    finishOpen();
    await released;
    expect(opens).toBe(1);
    expect(opened).toBeDefined();
    expect(lane.current()).toBeUndefined();
    await expect(runSingle(opened!, inputs.small)).rejects.toThrow(/inference worker exited/);
    lane.open(); // after release: nothing opens
    expect(opens).toBe(1);

    // A failed open: reported, nothing to release, current() stays empty (video stays on the main session).
    const failures: unknown[] = [];
    const failing = lazySession(() => Promise.reject(new Error('no memory')), (err) => failures.push(err));
    failing.open();
    await failing.release();
    expect(failures).toHaveLength(1);
    expect(failing.current()).toBeUndefined();
  });

  it('opens a second session for bulk work on one core fewer when first asked, and none where that is no fewer or the threads are set', async () => {
    const open = async (o: { threads?: number; bulkReservedCores?: number }) => {
      const repo = createRepository({ root: 'models', device: 'cpu', logger: createLogger('silent'), only: (n) => n === 'object-detector', ...o });
      await repo.loadAll();
      const { threads, session, bulkSession } = repo.resolve('object-detector');
      expect(bulkSession?.current()).toBeUndefined(); // nothing opened until a video needs it
      bulkSession?.open();
      for (let waited = 0; bulkSession && !bulkSession.current() && waited < 20_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      const bulk = bulkSession ? bulkSession.current() !== undefined && bulkSession.current() !== session : false;
      await repo.close();
      expect(bulkSession?.current()).toBeUndefined(); // released with the version
      return { threads, bulk };
    };
    const cores = usableCores();
    expect(await open({ bulkReservedCores: 1 })).toEqual(cores > 1 ? { threads: { session: cores, bulk: cores - 1, from: 'rule' }, bulk: true } : { threads: { session: 1, from: 'rule' }, bulk: false });
    expect(await open({ bulkReservedCores: 1, threads: 1 })).toEqual({ threads: { session: 1, from: 'config' }, bulk: false });
    expect(await open({})).toEqual({ threads: { session: cores, from: 'rule' }, bulk: false });
  });
});
