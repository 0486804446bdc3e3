/**
 * The inference worker thread. onnxruntime-node's session.run is a synchronous native call on
 * the calling thread (it blocks the event loop for the whole inference), so every session
 * lives in its own worker: the main thread keeps accepting uploads, decoding video and
 * answering probes while a model runs. It speaks only the messages in session-messages.ts.
 */
import * as ort from 'onnxruntime-node';
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, PlainTensor, Provider, SessionWorkerData, TensorInfo, ToWorker } from './session-messages.js';

const data = workerData as SessionWorkerData;
const port = parentPort!;
const send = (msg: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

type Metadata = ort.InferenceSession['inputMetadata'];

const describe = (meta: Metadata): TensorInfo[] =>
  meta.map((m) =>
    m.isTensor
      ? { name: m.name, dtype: m.type, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) }
      : { name: m.name, dtype: 'non-tensor', shape: [] },
  );

async function open(): Promise<{ session: ort.InferenceSession; provider: Provider; failures: string[] }> {
  const failures: string[] = [];
  for (const provider of data.providers) {
    try {
      const session = await ort.InferenceSession.create(data.modelPath, { ...data.sessionOptions, executionProviders: [provider] });
      return { session, provider, failures };
    } catch (err) {
      failures.push(`${provider}: ${(err as Error).message}`);
    }
  }
  throw new Error(failures.join('; '));
}

async function run(session: ort.InferenceSession, id: number, feeds: Record<string, PlainTensor>): Promise<void> {
  const tensors: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) tensors[name] = new ort.Tensor(t.type as ort.Tensor.Type, t.data as ort.Tensor.DataType, t.dims);
  const result = await session.run(tensors);
  const outputs: Record<string, PlainTensor> = {};
  const transfer: ArrayBuffer[] = [];
  for (const [name, t] of Object.entries(result)) {
    const array = t.data as PlainTensor['data'];
    outputs[name] = { type: t.type, data: array, dims: t.dims };
    const buffer = array.buffer as ArrayBuffer;
    if (!transfer.includes(buffer)) transfer.push(buffer);
  }
  send({ type: 'result', id, outputs }, transfer);
}

let session: ort.InferenceSession | undefined;

open().then(
  (opened) => {
    session = opened.session;
    send({ type: 'ready', provider: opened.provider, failures: opened.failures, inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) });
  },
  (err: Error) => send({ type: 'failed', message: err.message }),
);

/** Answers one message: a run (an error once the session is released), or the release. */
async function handle(msg: ToWorker): Promise<void> {
  if (msg.type === 'release') {
    try {
      await session?.release();
    } finally {
      session = undefined;
      send({ type: 'released' });
    }
    return;
  }
  try {
    if (!session) throw new Error('the session was released');
    await run(session, msg.id, msg.feeds);
  } catch (err) {
    send({ type: 'error', id: msg.id, message: (err as Error).message });
  }
}

// The main thread sends work only after 'ready', so a session is there for every message.
// Messages are answered one after the other: onnxruntime-node's run starts on a later tick
// (setImmediate), so a release handled beside it would free the native session under a run
// about to start, which aborts the whole process (a Napi::Error thrown where nothing catches
// it). One at a time, a release waits for every run sent before it.
let queue = Promise.resolve();
port.on('message', (msg: ToWorker) => {
  queue = queue.then(() => handle(msg));
});
