// A worker thread of bench/image-ort.ts: one ORT session on the model file, session.run in a
// loop on the tensor it is given, for as long as each message asks; answers with the latencies.
import * as ort from 'onnxruntime-node';
import { parentPort, workerData } from 'node:worker_threads';

const { modelPath, options, data, dims } = workerData as { modelPath: string; options: ort.InferenceSession.SessionOptions; data: Uint8Array; dims: number[] };
const session = await ort.InferenceSession.create(modelPath, options);
const feeds = { [session.inputNames[0]]: new ort.Tensor('uint8', data, dims) };
for (let i = 0; i < 3; i++) await session.run(feeds);
parentPort!.postMessage('ready');
parentPort!.on('message', async (seconds: number) => {
  const latencies: number[] = [];
  for (const t0 = performance.now(); performance.now() - t0 < seconds * 1000; ) {
    const t = performance.now();
    await session.run(feeds);
    latencies.push(performance.now() - t);
  }
  parentPort!.postMessage(latencies);
});
