import { readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { postFile, postRaw, sample, startTestServer } from './helpers/server.js';
import { knownTruthVideo } from './helpers/videos.js';

let page: Buffer;
beforeAll(async () => {
  page = await readFile('test/fixtures/basketball1.png');
});

const burst = (url: string, n: number) =>
  Promise.all(Array.from({ length: n }, () => postRaw(url, page, 'image/png')));

describe('load shedding over HTTP', () => {
  it('a full queue answers 503 QUEUE_FULL at once, with Retry-After, and the rest succeed', async () => {
    const server = await startTestServer({ modelsDir: 'models', maxQueueSize: 1, instances: 1 });
    try {
      const results = await burst(`${server.url}/v1/models/text-detector/predict`, 8);
      const full = results.filter((r) => r.status === 503);
      expect(full.length).toBeGreaterThan(0);
      expect(full[0].body.error.code).toBe('QUEUE_FULL');
      expect(full[0].headers.get('retry-after')).toBe('1');
      // The rest succeed: every answer is a result or QUEUE_FULL, none an error. How many are
      // admitted depends on when the first run takes its item off the queue (one, on a loaded machine).
      const statuses = results.map((r) => r.status);
      expect(statuses.every((s) => s === 200 || s === 503), JSON.stringify(statuses)).toBe(true);
      expect(statuses.filter((s) => s === 200).length, JSON.stringify(statuses)).toBeGreaterThanOrEqual(1);
    } finally {
      await server.close();
    }
  });

  it('a request not started before its deadline answers 504 TIMEOUT', async () => {
    const server = await startTestServer({ modelsDir: 'models', requestTimeoutMs: 1, maxQueueSize: 100 });
    try {
      const results = await burst(`${server.url}/v1/models/text-detector/predict`, 6);
      const late = results.filter((r) => r.status === 504);
      expect(late.length).toBeGreaterThan(0);
      expect(late[0].body.error.code).toBe('TIMEOUT');
    } finally {
      await server.close();
    }
  });
});

describe('GET /metrics', () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'framewatch-metrics-'));
    await knownTruthVideo(join(dir, 'truth.mp4'));
    server = await startTestServer({ modelsDir: 'models', dataDir: join(dir, 'data') });
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const scrape = async () => {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    return res.text();
  };

  it('every metric moves when its event happens', async () => {
    const before = await scrape();
    await postRaw(`${server.url}/v1/models/object-detector/predict`, await readFile('test/fixtures/messi5.jpg'), 'image/jpeg');
    await postFile(`${server.url}/v1/models/object-detector/predict?labels=person&fps=1`, await readFile(join(dir, 'truth.mp4')), 'truth.mp4');
    const after = await scrape();
    const moved = (name: string, filter = '') => sample(after, name, filter) - sample(before, name, filter);

    expect(moved('framewatch_http_requests_total', 'route="/v1/models/:name/predict"')).toBe(2);
    expect(moved('framewatch_http_request_duration_seconds_count', 'route="/v1/models/:name/predict"')).toBe(2);
    // 13 items (1 image + 12 frames) in at least 2 batches (frames may share batches of up to 4).
    expect(moved('framewatch_inference_duration_seconds_count', 'provider="cpu"')).toBeGreaterThanOrEqual(2);
    expect(moved('framewatch_queue_duration_seconds_count', 'model="object-detector"')).toBe(13);
    expect(moved('framewatch_batch_size_count', 'model="object-detector"')).toBeGreaterThanOrEqual(2);
    expect(moved('framewatch_batch_size_sum', 'model="object-detector"')).toBe(13);
    expect(moved('framewatch_preprocess_duration_seconds_count', 'model="object-detector"')).toBe(13);
    expect(moved('framewatch_decode_duration_seconds_count', 'kind="image"')).toBe(1);
    expect(moved('framewatch_decode_duration_seconds_count', 'kind="video"')).toBe(1);
    expect(moved('framewatch_video_frames_total', 'model="object-detector"')).toBe(12);
    expect(moved('framewatch_predictions_total', 'label="person"')).toBeGreaterThanOrEqual(2);
    expect(moved('framewatch_prediction_score_count', 'model="object-detector"')).toBeGreaterThanOrEqual(2);
    expect(moved('framewatch_review_flagged_ratio_count', 'model="object-detector"')).toBe(1);
    expect(sample(after, 'framewatch_model_ready', 'model="object-detector"')).toBeGreaterThanOrEqual(1);
    expect(after).toMatch(/^framewatch_queue_depth\{model="object-detector",version="2"\} 0$/m);
    expect(after).toMatch(/^framewatch_process_resident_memory_bytes \d+/m);
    // Raw URLs never become labels.
    expect(after).not.toMatch(/route="\/v1\/models\/object-detector/);
  });

  it('counts rejections by reason', async () => {
    const small = await startTestServer({ modelsDir: 'models', maxQueueSize: 1, dataDir: join(dir, 'data2') });
    try {
      const before = sample(await scrape(), 'framewatch_requests_rejected_total', 'reason="queue_full"');
      const results = await burst(`${small.url}/v1/models/text-detector/predict`, 8);
      const rejected = results.filter((r) => r.status === 503).length;
      expect(rejected).toBeGreaterThan(0);
      expect(sample(await scrape(), 'framewatch_requests_rejected_total', 'reason="queue_full"') - before).toBe(rejected);
    } finally {
      await small.close();
    }
  });
});
