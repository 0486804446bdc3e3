// Video throughput on the 12 s known-truth video at 2 fps (24 frames), side by side in one
// run: ffmpeg decode alone, ONNX Runtime alone on the same preprocessed frames, and the whole
// pipeline (decode overlapping inference, tracking, segments, thumbnails).
// `npm run bench:video`; frames per second = hz * 24.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bench, describe } from 'vitest';
import { applyPreprocessing, type ModelInput } from '../preprocessing/index.js';
import { createLogger } from '../src/logging/logger.js';
import { probeVideo, sampleFrames } from '../src/media/ffmpeg.js';
import { predictVideo } from '../src/pipeline/index.js';
import { createRepository } from '../src/registry/index.js';
import { runSingle } from '../src/runtime/index.js';
import { knownTruthVideo } from '../test/helpers/videos.js';

const dir = await mkdtemp(join(tmpdir(), 'framewatch-bench-video-'));
const path = join(dir, 'truth.mp4');
await knownTruthVideo(path);
const info = await probeVideo(path);
const repository = createRepository({ root: 'models', device: 'cpu', logger: createLogger('silent') });
await repository.loadAll();
const model = repository.resolve('object-detector');
const sampling = { fps: 2, startS: 0 };
const inputs: ModelInput[] = [];
for await (const frame of sampleFrames(path, info, sampling)) inputs.push(await applyPreprocessing(frame.image, model.manifest.preprocessing));

describe(`object-detector, ${inputs.length} frames of a 12 s 640x480 video`, () => {
  bench('ffmpeg decode alone', async () => {
    for await (const frame of sampleFrames(path, info, sampling)) void frame;
  }, { time: 8000 });

  bench('ONNX Runtime alone (preprocessed frames)', async () => {
    for (const input of inputs) await runSingle(model.session, input);
  }, { time: 8000 });

  bench('end to end (predictVideo)', async () => {
    await predictVideo(model, path, info, { ...sampling, pad: 1, mergeGap: 2, includeFrames: false, thumbnailDir: join(dir, 'thumbs') });
  }, { time: 8000 });
});
