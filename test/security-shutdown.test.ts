import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { tokensEqual } from '../src/http/security.js';
import { postRaw, startTestServer } from './helpers/server.js';
import { knownTruthVideo } from './helpers/videos.js';

const TOKEN = 'test-token-0123456789abcdef';
let server: RunningServer;
let png: Buffer;

beforeAll(async () => {
  png = await readFile('test/fixtures/imageTextN.png');
  server = await startTestServer({ modelsDir: 'models', apiToken: TOKEN });
});
afterAll(() => server?.close());

const predict = (headers: Record<string, string> = {}) =>
  fetch(`${server.url}/v1/models/text-detector/predict`, { method: 'POST', body: png as BodyInit, headers: { 'content-type': 'image/png', ...headers } });

describe('bearer-token auth', () => {
  it('predict needs the token: none or a wrong one is 401 UNAUTHORIZED, the right one works', async () => {
    const none = await predict();
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.code).toBe('UNAUTHORIZED');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await predict({ authorization: 'Bearer wrong-token-0000000000' })).status).toBe(401);
    expect((await predict({ authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });

  it('v2 infer and jobs need it too; health, readiness, model listing and metrics stay open', async () => {
    const infer = await fetch(`${server.url}/v2/models/text-detector/infer`, { method: 'POST', body: '{"inputs":[]}' });
    expect(infer.status).toBe(401);
    expect(Object.keys((await infer.json()) as object)).toEqual(['error']);
    expect((await fetch(`${server.url}/v1/jobs`)).status).toBe(401);
    for (const path of ['/healthz', '/readyz', '/v2/health/live', '/v2/health/ready', '/metrics', '/v1/models']) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
    }
  });

  it('compares tokens in constant time, whatever their lengths', () => {
    expect(tokensEqual(TOKEN, TOKEN)).toBe(true);
    expect(tokensEqual('short', TOKEN)).toBe(false);
    expect(tokensEqual(`${TOKEN}x`, TOKEN)).toBe(false);
  });
});

describe('hardening', () => {
  it('sends security headers and no X-Powered-By', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it.each([
    '/v1/models/..%2F..%2Fetc%2Fpasswd',
    '/v1/models/%2e%2e',
    '/v1/models/%2e%2e%2fmodels/predict',
    '/v1/models/..%252f..%252fetc/predict',
    '/v1/models/text-detector/versions/..%2F1/predict',
    '/v2/models/%2e%2e/infer',
    '/v2/models/..%2Ftext-detector',
  ])('refuses the traversal %s with a 4xx and no file access', async (path) => {
    const method = path.endsWith('predict') || path.endsWith('infer') ? 'POST' : 'GET';
    const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'image/png' }, body: method === 'POST' ? (png as BodyInit) : undefined });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await res.text()).not.toMatch(/root:|passwd|\bat .*\.js:\d+/);
  });
});

describe('graceful shutdown', () => {
  it('on SIGTERM: readiness turns 503 at once, new work is refused, the in-flight request completes, exit 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'framewatch-sigterm-'));
    try {
      await knownTruthVideo(join(dir, 'truth.mp4'));
      const port = 20000 + Math.floor(Math.random() * 20000);
      const child = spawn(process.execPath, ['dist/src/cli/main.js', 'serve'], {
        env: { ...process.env, FRAMEWATCH_PORT: String(port), FRAMEWATCH_HOST: '127.0.0.1', FRAMEWATCH_DATA_DIR: join(dir, 'data'), FRAMEWATCH_LOG_LEVEL: 'warn' },
        stdio: 'ignore',
      });
      const url = `http://127.0.0.1:${port}`;
      for (;;) {
        if ((await fetch(`${url}/readyz`).then((r) => r.status, () => 0)) === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const form = new FormData();
      form.append('file', new Blob([await readFile(join(dir, 'truth.mp4'))]), 'truth.mp4');
      const inflight = fetch(`${url}/v1/models/object-detector/predict?fps=4&frames=false`, { method: 'POST', body: form });
      await new Promise((r) => setTimeout(r, 600)); // the video is being processed
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      const refused = await postRaw(`${url}/v1/models/text-detector/predict`, png, 'image/png');
      expect(refused.status).toBe(503);
      const response = await inflight;
      expect(response.status).toBe(200);
      expect(((await response.json()) as any).review.segmentCount).toBe(1);
      expect(await exited).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
