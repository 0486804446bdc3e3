import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { ERROR_CATALOGUE } from '../src/errors/index.js';
import { resolvePackageFile } from '../src/exporter/index.js';
import { blankPng } from './helpers/images.js';
import { postFile, postRaw, scratchRepository, startTestServer } from './helpers/server.js';

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A decompression-bomb PNG: a valid header declaring width x height and a little zlib data. */
function pngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(4096))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

let server: RunningServer;
let repo: Awaited<ReturnType<typeof scratchRepository>>;
let predict: string;
const seen = new Set<string>();

async function expectError(res: { status: number; body: any }, code: keyof typeof ERROR_CATALOGUE) {
  expect(res.body?.error?.code, JSON.stringify(res.body)).toBe(code);
  expect(res.status).toBe(ERROR_CATALOGUE[code].status);
  expect(typeof res.body.error.message).toBe('string');
  expect(JSON.stringify(res.body)).not.toMatch(/\bat .*\.(js|ts):\d+/); // no stack traces
  seen.add(code);
  // The server keeps serving after every bad request.
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
}

beforeAll(async () => {
  repo = await scratchRepository(['text-detector']);
  // A copy with a wrong sha256 in its manifest: FAILED, while text-detector keeps serving.
  const broken = JSON.parse(await readFile(join(repo.dir, 'text-detector/2/manifest.json'), 'utf8'));
  await scratchCopy('broken-detector', { ...broken, file: { ...broken.file, sha256: '0'.repeat(64) } });
  // A copy whose resize skips PP-OCR's multiple-of-32 rule: warm-up (64x64) passes, odd sizes fail in ORT.
  // Without golden samples, so the skew guard (which would catch it) lets it load.
  await scratchCopy('odd-detector', { ...broken, golden: [], preprocessing: { ...broken.preprocessing, resize: { mode: 'limit-side', maxSide: 960, multipleOf: 1 } } });
  // The source float32 model under a manifest that says the graph normalizes (uint8 input).
  await scratchCopy('float-detector', { ...broken, golden: [], file: { name: 'model.onnx', sha256: broken.source.sha256 } });
  await copyFile(resolvePackageFile(broken.source.package, broken.source.path), join(repo.dir, 'float-detector/2/model.onnx'));
  server = await startTestServer({ modelsDir: repo.dir, maxImageBytes: 200_000 });
  predict = `${server.url}/v1/models/text-detector/predict`;

  async function scratchCopy(name: string, manifest: object) {
    const { cp } = await import('node:fs/promises');
    await cp(join(repo.dir, 'text-detector'), join(repo.dir, name), { recursive: true });
    await writeFile(join(repo.dir, name, '2/manifest.json'), JSON.stringify({ ...manifest, name }));
  }
});
afterAll(async () => {
  await server?.close();
  await repo?.remove();
});

describe('error codes over real HTTP', () => {
  it('INVALID_INPUT: a threshold outside 0-1', async () => {
    await expectError(await postRaw(`${predict}?threshold=2`, await blankPng(32, 32), 'image/png'), 'INVALID_INPUT');
  });

  it('INVALID_INPUT: zero bytes', async () => {
    await expectError(await postRaw(predict, new Uint8Array(0), 'image/png'), 'INVALID_INPUT');
    await expectError(await postFile(predict, new Uint8Array(0), 'empty.png', 'image/png'), 'INVALID_INPUT');
  });

  it('INVALID_INPUT: a truncated PNG and a corrupt JPEG', async () => {
    const png = await blankPng(200, 200, 30);
    await expectError(await postRaw(predict, png.subarray(0, Math.floor(png.length / 2)), 'image/png'), 'INVALID_INPUT');
    const jpeg = await readFile('test/fixtures/messi5.jpg');
    const corrupt = Buffer.from(jpeg);
    corrupt.fill(0, 200, corrupt.length - 200);
    const res = await postRaw(predict, corrupt.subarray(0, 4000), 'image/jpeg');
    await expectError(res, 'INVALID_INPUT');
  });

  it('INVALID_INPUT: a malformed multipart body', async () => {
    const res = await fetch(predict, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
      body: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nnot closed',
    });
    await expectError({ status: res.status, body: await res.json() }, 'INVALID_INPUT');
  });

  it('INVALID_INPUT: multipart without a file field', async () => {
    const form = new FormData();
    form.append('threshold', '0.5');
    const res = await fetch(predict, { method: 'POST', body: form });
    await expectError({ status: res.status, body: await res.json() }, 'INVALID_INPUT');
  });

  it('UNSUPPORTED_MEDIA_TYPE: a text file sent as image/png, and a text/plain body', async () => {
    await expectError(await postRaw(predict, 'hello, I am not a picture at all, just some text', 'image/png'), 'UNSUPPORTED_MEDIA_TYPE');
    await expectError(await postFile(predict, Buffer.from('just text in a file named like an image'), 'photo.png', 'image/png'), 'UNSUPPORTED_MEDIA_TYPE');
    await expectError(await postRaw(predict, 'text', 'text/plain'), 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('PAYLOAD_TOO_LARGE: an upload over the byte limit', async () => {
    const big = await readFile('test/fixtures/basketball1.png'); // 133 kB
    const padded = Buffer.concat([big, Buffer.alloc(300_000)]);
    await expectError(await postRaw(predict, padded, 'image/png'), 'PAYLOAD_TOO_LARGE');
    await expectError(await postFile(predict, padded, 'big.png', 'image/png'), 'PAYLOAD_TOO_LARGE');
  });

  it('IMAGE_TOO_LARGE: a PNG header claiming 100000x100000 pixels', async () => {
    await expectError(await postRaw(predict, pngHeader(100_000, 100_000), 'image/png'), 'IMAGE_TOO_LARGE');
  });

  it('MODEL_NOT_FOUND and VERSION_NOT_FOUND', async () => {
    const png = await blankPng(32, 32);
    await expectError(await postRaw(`${server.url}/v1/models/no-such-model/predict`, png, 'image/png'), 'MODEL_NOT_FOUND');
    await expectError(await postRaw(`${server.url}/v1/models/text-detector/versions/7/predict`, png, 'image/png'), 'VERSION_NOT_FOUND');
  });

  it('MODEL_NOT_READY: a version whose sha256 does not match is FAILED, the others keep serving', async () => {
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as any;
    const broken = models.models.find((m: any) => m.name === 'broken-detector');
    expect(broken.versions[0].status).toBe('FAILED');
    expect(broken.versions[0].reason).toMatch(/sha256 mismatch/);
    const float = models.models.find((m: any) => m.name === 'float-detector');
    expect(float.versions[0].status).toBe('FAILED');
    expect(float.versions[0].reason).toMatch(/normalizeInModel needs a uint8 \[N, H, W, 3\] input; 'x' is float32/);
    await expectError(await postRaw(`${server.url}/v1/models/broken-detector/predict`, await blankPng(32, 32), 'image/png'), 'MODEL_NOT_READY');
    const ok = await postRaw(predict, await blankPng(64, 64), 'image/png');
    expect(ok.status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toMatch(/broken-detector/);
  });

  it('INFERENCE_FAILED: ONNX Runtime rejects a shape, and the next request still works', async () => {
    await expectError(await postRaw(`${server.url}/v1/models/odd-detector/predict`, await blankPng(101, 67), 'image/png'), 'INFERENCE_FAILED');
    expect((await postRaw(`${server.url}/v1/models/odd-detector/predict`, await blankPng(64, 64), 'image/png')).status).toBe(200);
  });

  it('NOT_FOUND for an unknown route', async () => {
    const res = await fetch(`${server.url}/v1/nothing-here`);
    await expectError({ status: res.status, body: await res.json() }, 'NOT_FOUND');
  });

  it('survives a client that disconnects mid-upload', async () => {
    await new Promise<void>((resolve) => {
      const req = request(predict, { method: 'POST', headers: { 'content-type': 'image/png', 'content-length': '100000' } });
      req.on('error', () => resolve());
      req.write(pngHeader(100, 100));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 100);
    });
    expect((await postRaw(predict, await blankPng(64, 64), 'image/png')).status).toBe(200);
  });

  it('reached every image-path error code in the catalogue', () => {
    // Server-side codes, and the codes that test/video.test.ts, test/jobs.test.ts, test/load.test.ts, test/skew-drift.test.ts,
    // test/security-shutdown.test.ts, test/hardening.test.ts, test/scale-out.test.ts, test/review.test.ts, test/audio-jobs.test.ts, test/tune.test.ts, test/redaction.test.ts and test/redaction-bounds.test.ts reach.
    const serverSide = ['INTERNAL', 'EXPORT_FAILED', 'INVALID_MEDIA', 'NO_VIDEO_STREAM', 'JOB_NOT_FOUND', 'SEGMENT_NOT_FOUND', 'CANCELLED', 'INTERRUPTED', 'QUEUE_FULL', 'TIMEOUT', 'SKEW_DETECTED', 'UNAUTHORIZED', 'HEADERS_TOO_LARGE', 'REQUEST_TIMEOUT', 'QUEUE_UNAVAILABLE', 'JOB_NOT_FINISHED', 'PROFILE_NOT_FOUND', 'STORAGE_FULL', 'REDACTION_NOT_FOUND', 'NO_AUDIO_STREAM', 'TUNING_NOT_FOUND', 'TUNING_RUNNING', 'NO_CONFIRMED_SEGMENTS', 'REDACTION_TOO_LARGE', 'REDACTION_TIMEOUT'];
    expect([...seen].sort()).toEqual(Object.keys(ERROR_CATALOGUE).filter((c) => !serverSide.includes(c)).sort());
  });
});
