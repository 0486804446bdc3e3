// One 640x480 image (basketball1.png) per model, side by side in one run: ONNX Runtime
// alone on the preprocessed tensor, the in-process pipeline (decode, preprocess, infer,
// postprocess), and a full HTTP round trip to the server. `npm run bench:image`.
import { readFile } from 'node:fs/promises';
import { bench, describe } from 'vitest';
import { applyPreprocessing } from '../preprocessing/index.js';
import { startServer } from '../src/cli/serve.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/logging/logger.js';
import { decodeImage } from '../src/media/image.js';
import { predictImage } from '../src/pipeline/index.js';
import { runSingle } from '../src/runtime/index.js';

const bytes = await readFile('test/fixtures/basketball1.png');
const server = await startServer(loadConfig({}, { port: 0, host: '127.0.0.1', logLevel: 'silent' }), createLogger('silent'));
await server.ready;

for (const name of ['text-detector', 'object-detector']) {
  const model = server.repository.resolve(name);
  const input = await applyPreprocessing(await decodeImage(bytes, { maxPixels: 40e6 }), model.manifest.preprocessing);
  describe(`${name}, one 640x480 PNG`, () => {
    bench('ONNX Runtime alone', async () => {
      await runSingle(model.session, input);
    }, { time: 5000 });
    bench('pipeline in process', async () => {
      await predictImage(model, bytes, { maxPixels: 40e6 });
    }, { time: 5000 });
    bench('HTTP round trip', async () => {
      const res = await fetch(`${server.url}/v1/models/${name}/predict`, { method: 'POST', body: bytes, headers: { 'content-type': 'image/png' } });
      await res.json();
    }, { time: 5000 });
  });
}
