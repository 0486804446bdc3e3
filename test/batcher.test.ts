import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPreprocessing, preprocessSpecSchema, type ModelInput } from '../preprocessing/index.js';
import { createLogger } from '../src/logging/logger.js';
import { createRepository, type ModelRepository, type ReadyModel } from '../src/registry/index.js';
import { createBatcher, type BatcherOptions } from '../src/runtime/index.js';

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
});
