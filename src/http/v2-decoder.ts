import { Worker } from 'node:worker_threads';
import { compiledModule } from '../config/paths.js';
import { FramewatchError, type ErrorCode } from '../errors/index.js';
import type { PlainTensor } from '../runtime/index.js';
import { decodeV2Request, type ModelInputSpec, type V2RequestOptions } from './v2-codec.js';

/** Bodies above this size are decoded in the worker; smaller ones are quicker inline. */
export const INLINE_DECODE_BYTES = 256 * 1024;

export interface DecodeRequest {
  id: number;
  body: ArrayBuffer;
  headerLength: string | string[] | undefined;
  modelInputs: ModelInputSpec[];
}

export type DecodeReply =
  | { id: number; ok: true; request: V2RequestOptions; feeds: Record<string, PlainTensor> }
  | { id: number; ok: false; code: ErrorCode; message: string; details?: unknown };

type Decoded = { request: V2RequestOptions; feeds: Record<string, PlainTensor> };

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve(d: Decoded): void; reject(e: Error): void }>();

function decodeWorker(): Worker {
  if (worker) return worker;
  const started = new Worker(compiledModule(import.meta.url, './v2-decode-worker.js', 'src/http/v2-decode-worker.js'));
  started.unref(); // an idle decoder never keeps the process alive
  started.on('message', (reply: DecodeReply) => {
    const p = pending.get(reply.id);
    pending.delete(reply.id);
    if (!p) return;
    if (reply.ok) p.resolve({ request: reply.request, feeds: reply.feeds });
    else p.reject(new FramewatchError(reply.code, reply.message, reply.details));
  });
  const fail = (err: Error) => {
    worker = undefined;
    for (const p of pending.values()) p.reject(new FramewatchError('INTERNAL', `the v2 decoder stopped: ${err.message}`));
    pending.clear();
  };
  started.on('error', fail);
  started.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  worker = started;
  return started;
}

/** The body's own memory, moved to the worker without a copy where it owns all of it. */
const ownBuffer = (body: Buffer): ArrayBuffer =>
  body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? (body.buffer as ArrayBuffer) : new Uint8Array(body).buffer;

/** Decodes a v2 body into feeds: inline when small, in the decode worker when large. */
export function decodeV2Body(body: Buffer | undefined, headerLength: string | string[] | undefined, modelInputs: readonly ModelInputSpec[]): Promise<Decoded> {
  if (!body || body.length <= INLINE_DECODE_BYTES) {
    try {
      return Promise.resolve(decodeV2Request(body, headerLength, modelInputs));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  const target = decodeWorker();
  const id = nextId++;
  const buffer = ownBuffer(body);
  return new Promise<Decoded>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    const message: DecodeRequest = { id, body: buffer, headerLength, modelInputs: modelInputs.map((m) => ({ ...m, shape: [...m.shape] })) };
    target.postMessage(message, [buffer]);
  });
}
