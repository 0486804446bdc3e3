/**
 * Decodes large KServe v2 request bodies off the main thread: JSON.parse of a few megabytes of
 * numbers takes 100 ms or more, during which the event loop would answer nothing, probes
 * included. The feeds come back as transferred typed arrays, so the main thread copies nothing.
 */
import { parentPort } from 'node:worker_threads';
import { isFramewatchError } from '../errors/index.js';
import { decodeV2Request } from './v2-codec.js';
import type { DecodeReply, DecodeRequest } from './v2-decoder.js';

const port = parentPort!;

port.on('message', (msg: DecodeRequest) => {
  let reply: DecodeReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const { request, feeds } = decodeV2Request(new Uint8Array(msg.body), msg.headerLength, msg.modelInputs);
    for (const t of Object.values(feeds)) if (!transfer.includes(t.data.buffer as ArrayBuffer)) transfer.push(t.data.buffer as ArrayBuffer);
    reply = { id: msg.id, ok: true, request, feeds };
  } catch (err) {
    reply = isFramewatchError(err)
      ? { id: msg.id, ok: false, code: err.code, message: err.message, details: err.details }
      : { id: msg.id, ok: false, code: 'INVALID_INPUT', message: (err as Error).message };
  }
  port.postMessage(reply, transfer);
});
