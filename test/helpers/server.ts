import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/index.js';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { createLogger, type Logger } from '../../src/logging/logger.js';

/** Starts the real server on an ephemeral loopback port and waits for models to load. */
export async function startTestServer(overrides: Partial<Record<keyof Config, unknown>> = {}, logger: Logger = createLogger('silent')): Promise<RunningServer> {
  const config = loadConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent', ...overrides });
  const running = await startServer(config, logger);
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
export async function postFile(url: string, bytes: Uint8Array, filename = 'upload.bin', type = 'application/octet-stream', fields: Record<string, string> = {}) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type }), filename);
  const res = await fetch(url, { method: 'POST', body: form });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

/** POSTs a raw body with the given Content-Type. */
export async function postRaw(url: string, bytes: Uint8Array | string, type: string) {
  const res = await fetch(url, { method: 'POST', body: bytes as BodyInit, headers: { 'content-type': type } });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

/** One log line as the memory logger keeps it. */
export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  [field: string]: unknown;
}

/** A logger that keeps every line in memory, for tests that assert what was logged. */
export function memoryLogger(lines: LogLine[] = [], base: Record<string, unknown> = {}): Logger & { lines: LogLine[] } {
  const at = (level: LogLine['level']) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, ...base, ...fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (fields) => memoryLogger(lines, { ...base, ...fields }) };
}

/** Sends raw bytes over one TCP connection and resolves with everything the server sent back. */
export function rawHttp(url: string, bytes: string | Buffer, { end = true } = {}): { socket: import('node:net').Socket; reply: Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let text = '';
  socket.setEncoding('utf8').on('data', (d: string) => (text += d));
  const reply = new Promise<string>((resolve) => {
    socket.on('close', () => resolve(text));
    socket.on('error', () => undefined);
  });
  socket.write(bytes);
  if (end) socket.end();
  return { socket, reply };
}

/** Splits a raw HTTP/1.1 answer into status and JSON body. */
export function parseRawReply(text: string): { status: number; body: any } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  const json = text.slice(text.indexOf('\r\n\r\n') + 4);
  return { status, body: json ? JSON.parse(json) : undefined };
}

/** Sum of a metric's samples (a histogram's _count) from Prometheus text, optionally filtered by a label. */
export function sample(text: string, name: string, filter = ''): number {
  const re = new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm');
  let sum = 0;
  for (const m of text.matchAll(re)) if (!filter || (m[1] ?? '').includes(filter)) sum += Number(m[2]);
  return sum;
}
