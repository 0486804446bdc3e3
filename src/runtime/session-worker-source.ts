/**
 * The code of an inference worker thread. onnxruntime-node's session.run is a synchronous
 * native call on the calling thread (it blocks the event loop for the whole inference), so
 * every session lives in its own worker: the main thread keeps accepting uploads, decoding
 * video and answering probes while a model runs. Plain CommonJS, run with `eval: true`;
 * onnxruntime-node is required by absolute path, passed in workerData.
 */
export const SESSION_WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);

const describe = (meta) => meta.map((m) => m.isTensor
  ? { name: m.name, dtype: m.type, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) }
  : { name: m.name, dtype: 'non-tensor', shape: [] });

let session;

async function open() {
  const failures = [];
  for (const provider of workerData.providers) {
    try {
      session = await ort.InferenceSession.create(workerData.modelPath, { ...workerData.sessionOptions, executionProviders: [provider] });
      return { provider, failures };
    } catch (err) {
      failures.push(provider + ': ' + err.message);
    }
  }
  throw new Error(failures.join('; '));
}

open().then(
  ({ provider, failures }) => parentPort.postMessage({ type: 'ready', provider, failures, inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) }),
  (err) => parentPort.postMessage({ type: 'failed', message: err.message }),
);

parentPort.on('message', async (msg) => {
  if (msg.type === 'release') {
    try { await session?.release(); } finally { parentPort.postMessage({ type: 'released' }); }
    return;
  }
  try {
    const feeds = {};
    for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    const result = await session.run(feeds);
    const outputs = {};
    const transfer = [];
    for (const [name, t] of Object.entries(result)) {
      outputs[name] = { type: t.type, data: t.data, dims: t.dims };
      if (t.data.buffer && !transfer.includes(t.data.buffer)) transfer.push(t.data.buffer);
    }
    parentPort.postMessage({ type: 'result', id: msg.id, outputs }, transfer);
  } catch (err) {
    parentPort.postMessage({ type: 'error', id: msg.id, message: err.message });
  }
});
`;
