// `npm run bench:int8`: object-detector 2 in float32 beside int8 QDQ variants of it
// (src/exporter/onnx/quantize.ts), in one run. Ranges are calibrated on the version's golden
// sample (INT8_CALIBRATION=all adds the six photos, which then are in-sample). Speed: ORT
// session.run ms per image at batch 1, 2 intra-op threads, graphOptimizationLevel 'all' (the
// served session options), the variants alternating round by round because the machine is
// shared; the median round. Parity: each variant's detections against float32's on the golden
// sample and the six photos of test/fixtures (copies of ../shared/data), after the task's
// postprocess at the manifest's threshold, judged by compareDetections (same labels, greedy
// IoU matching per label, IoU >= 0.9, scores within 0.05, an unmatched detection forgiven only
// within 0.05 of the threshold). Prints markdown.
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { preprocessSpecSchema, type ModelInput } from '../preprocessing/index.js';
import { compareDetections, type ParityResult } from '../src/exporter/detection-parity.js';
import { calibrateRanges, firstConvName, headConvNames, quantizeQdq, type QuantizeOptions } from '../src/exporter/onnx/quantize.js';
import { loadImage } from '../src/media/image.js';
import { ortSessionOptions } from '../src/runtime/session.js';
import { centernetDetection, centernetParamsSchema } from '../src/tasks/centernet-detection.js';

const DIR = 'models/object-detector/2';
const PHOTOS = ['messi5.jpg', 'basketball1.png', 'licenseplate_motion.jpg', 'home.jpg', 'fruits.jpg', 'imageTextN.png'];
const ROUNDS = Number(process.env.INT8_ROUNDS ?? 8);
const RUNS_PER_ROUND = 5;

const manifest = JSON.parse(await readFile(`${DIR}/manifest.json`, 'utf8'));
const spec = preprocessSpecSchema.parse(manifest.preprocessing);
const params = centernetParamsSchema.parse(manifest.postprocessing);
const modelBytes = new Uint8Array(await readFile(`${DIR}/model.onnx`));
const images = [
  ...manifest.golden.map((g: { input: string }) => ({ name: `golden ${g.input.split('/').pop()}`, path: `${DIR}/${g.input}` })),
  ...PHOTOS.map((p) => ({ name: p, path: `test/fixtures/${p}` })),
];
const inputs: ModelInput[] = [];
for (const image of images) inputs.push((await loadImage(await readFile(image.path), spec, { maxPixels: 40e6 })).input);
const feed = (input: ModelInput) => ({ image: new ort.Tensor(input.dtype, input.data, [...input.dims]) });

const calibrateOnAll = process.env.INT8_CALIBRATION === 'all';
const t0 = performance.now();
const ranges = await calibrateRanges(modelBytes, (calibrateOnAll ? inputs : inputs.slice(0, manifest.golden.length)).map(feed));
const calibrationS = (performance.now() - t0) / 1000;

const heads = headConvNames(modelBytes);
const first = firstConvName(modelBytes)!;
const VARIANTS: Array<{ name: string; options: QuantizeOptions }> = [
  { name: 'u8, per-channel', options: { activations: 'u8', perChannel: true } },
  { name: 'u8, per-tensor', options: { activations: 'u8', perChannel: false } },
  { name: 's8, per-channel', options: { activations: 's8', perChannel: true } },
  { name: 's8, per-tensor', options: { activations: 's8', perChannel: false } },
  { name: 'u8, per-channel, head convs float', options: { activations: 'u8', perChannel: true, skipNodes: heads } },
  { name: 'u8, per-channel, first conv and head convs float', options: { activations: 'u8', perChannel: true, skipNodes: [first, ...heads] } },
  { name: 'u8, per-channel, depthwise float', options: { activations: 'u8', perChannel: true, depthwise: false } },
  { name: 'u8, per-channel, Conv+Add+Mul', options: { activations: 'u8', perChannel: true, ops: ['Conv', 'Add', 'Mul'] } },
];

const sessionOptions = { ...ortSessionOptions(2), logSeverityLevel: 3 as const };
const models = [{ name: 'float32 (v2)', bytes: modelBytes }, ...VARIANTS.map((v) => ({ name: `int8 ${v.name}`, bytes: quantizeQdq(modelBytes, ranges, v.options) }))];
const sessions = await Promise.all(models.map((m) => ort.InferenceSession.create(m.bytes, sessionOptions)));

async function detect(session: ort.InferenceSession, input: ModelInput) {
  const outputs = await session.run(feed(input));
  return centernetDetection.postprocess({ outputs: outputs as never, outputNames: session.outputNames, transform: input.transform, params, labels: manifest.labels });
}

const reference = [];
for (const input of inputs) reference.push(await detect(sessions[0], input));
const parity: ParityResult[][] = [];
for (const session of sessions) {
  const results: ParityResult[] = [];
  for (const [i, input] of inputs.entries()) results.push(compareDetections(reference[i], await detect(session, input), { scoreThreshold: params.scoreThreshold }));
  parity.push(results);
}

// Speed on the golden sample; every session warmed up first, then the rounds alternate.
const timed = feed(inputs[0]);
for (const session of sessions) for (let i = 0; i < 3; i++) await session.run(timed);
const rounds: number[][] = sessions.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  for (const [s, session] of sessions.entries()) {
    const start = performance.now();
    for (let i = 0; i < RUNS_PER_ROUND; i++) await session.run(timed);
    rounds[s].push((performance.now() - start) / RUNS_PER_ROUND);
  }
}
await Promise.all(sessions.map((s) => s.release()));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = rounds.map(median);

const cell = (p: ParityResult) => {
  const worst = p.pairs.length === 0
    ? 'no pair'
    : `worst pair ΔS ${Math.max(...p.pairs.map((x) => x.scoreDiff)).toFixed(2)}, IoU ${Math.min(...p.pairs.map((x) => x.iou)).toFixed(2)}`;
  return p.ok ? `ok (${worst})` : `**fail** (${p.failures.length} failing; ${worst})`;
};
const lines = [
  `${cpus()[0].model}, ${cpus().length} cores; ORT ${ort.env.versions.common}; calibration on ${calibrateOnAll ? 'the golden sample and the six photos' : 'the golden sample'} (${Object.keys(ranges).length} tensors, ${calibrationS.toFixed(1)} s).`,
  `Speed: golden sample, batch 1, 2 intra-op threads, ${ROUNDS} alternating rounds of ${RUNS_PER_ROUND} runs, median round (ms per image; each round in brackets).`,
  '',
  '| model | ms/image | speed vs float32 | images at parity | rounds (ms) |',
  '| --- | --- | --- | --- | --- |',
  ...models.map((m, i) => `| ${m.name} | ${ms[i].toFixed(1)} | ${(ms[0] / ms[i]).toFixed(2)}x | ${i === 0 ? '-' : `${parity[i].filter((p) => p.ok).length}/${inputs.length}`} | ${rounds[i].map((x) => x.toFixed(0)).join(', ')} |`),
  '',
  `Parity per image (float32 detections at threshold ${params.scoreThreshold}: ${reference.map((r, i) => `${images[i].name} ${r.length}`).join(', ')}; ΔS: score difference):`,
  '',
  `| model | ${images.map((im) => im.name).join(' | ')} |`,
  `| --- | ${images.map(() => '---').join(' | ')} |`,
  ...models.slice(1).map((m, i) => `| ${m.name} | ${parity[i + 1].map(cell).join(' | ')} |`),
  '',
  'Failures:',
  ...models.slice(1).flatMap((m, i) => parity[i + 1].flatMap((p, k) => (p.ok ? [] : [`- ${m.name}, ${images[k].name}: ${p.failures.join('; ')}`]))),
];
console.log(lines.join('\n'));
