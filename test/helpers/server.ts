import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/index.js';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { createLogger } from '../../src/logging/logger.js';

/** Starts the real server on an ephemeral loopback port and waits for models to load. */
export async function startTestServer(overrides: Partial<Record<keyof Config, unknown>> = {}): Promise<RunningServer> {
  const config = loadConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent', ...overrides });
  const running = await startServer(config, createLogger('silent'));
  await running.ready;
  return running;
}

/** A scratch model repository holding copies of the named bundled model versions. */
export async function scratchRepository(models: string[]): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'framewatch-models-'));
  for (const m of models) await cp(join('models', m), join(dir, m), { recursive: true });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** POSTs a file as multipart (field `file`) and returns status and JSON body. */
export async function postFile(url: string, bytes: Uint8Array, filename = 'upload.bin', type = 'application/octet-stream') {
  const form = new FormData();
  form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type }), filename);
  const res = await fetch(url, { method: 'POST', body: form });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

/** POSTs a raw body with the given Content-Type. */
export async function postRaw(url: string, bytes: Uint8Array | string, type: string) {
  const res = await fetch(url, { method: 'POST', body: bytes as BodyInit, headers: { 'content-type': type } });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}
