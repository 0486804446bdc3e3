// ONNX Runtime on the converted CenterNet vs the @tensorflow/tfjs pure-JS CPU reference,
// same preprocessed 512x512 frame, side by side in one run, and the bundled graph (uint8
// input, peak search in ONNX) next to them: `npm run bench:detector`.
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { bench, describe } from 'vitest';
import { applyPreprocessing, preprocessSpecSchema, withoutFolding } from '../preprocessing/index.js';
import { resolvePackageFile } from '../src/exporter/index.js';
import { convertTfjsGraph, readTfjsGraphModel } from '../src/exporter/tfjs/index.js';
import { decodeImage } from '../src/media/image.js';
import { loadTfjsReference, runTfjsReference } from '../test/helpers/tfjs-reference.js';

const OUTPUTS = ['tower_0/keypoints', 'tower_0/wh'];
const manifest = JSON.parse(await readFile('models/object-detector/2/manifest.json', 'utf8'));
const image = await decodeImage(await readFile('test/fixtures/messi5.jpg'), { maxPixels: 40e6 });
const spec = preprocessSpecSchema.parse(manifest.preprocessing);
const input = await applyPreprocessing(image, withoutFolding(spec));
const modelJson = resolvePackageFile('@vladmandic/human', 'models/centernet.json');
const converted = convertTfjsGraph(await readTfjsGraphModel(modelJson), { outputs: OUTPUTS, dynamicBatch: true });
const options = { graphOptimizationLevel: 'all', interOpNumThreads: 1 } as const;
const session = await ort.InferenceSession.create(converted.onnx, options);
const feeds = { 'tower_0/images': new ort.Tensor('float32', input.data as Float32Array, [...input.dims]) };
const bundled = await ort.InferenceSession.create('models/object-detector/2/model.onnx', options);
const fed = await applyPreprocessing(image, spec);
const bundledFeeds = { image: new ort.Tensor('uint8', fed.data as Uint8Array, [...fed.dims]) };
const reference = await loadTfjsReference(modelJson);

describe('object-detector, one 512x512 frame', () => {
  bench('onnxruntime-node (converted ONNX)', async () => {
    await session.run(feeds);
  }, { time: 5000, warmupIterations: 3 });

  bench('onnxruntime-node (bundled: uint8 in, peaks in the graph)', async () => {
    await bundled.run(bundledFeeds);
  }, { time: 5000, warmupIterations: 3 });

  bench('@tensorflow/tfjs cpu (reference)', async () => {
    await runTfjsReference(reference, input.data as Float32Array, [...input.dims], OUTPUTS);
  }, { time: 10000, iterations: 3, warmupIterations: 1 });
});
