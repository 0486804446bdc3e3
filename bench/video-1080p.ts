// The 1080p section of `npm run bench` (alone: `npm run bench:1080p`): a 60 s 1080p30 H.264
// clip (about 6 Mbit/s, a keyframe every 2 s, a static background with people moving through
// it), built with ffmpeg from the fixtures. In one run:
// - each stage alone, wall and CPU seconds (decode, preprocessing, inference, postprocessing,
//   thumbnails), for the exact grid and for keyframes;
// - the floor without the server: decode alone, ORT alone, and both at once (each frame
//   decoded, preprocessed and inferred, the next decoding while one infers);
// - a real server in each sampling mode, with and without motion gating, and motion gating
//   on the test suite's static camera (at 1080p30).
// Reports video seconds per wall second (the real-time factor) and its targets.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { applyPreprocessing, type ModelInput } from '../preprocessing/index.js';
import { ffmpegPath, probeKeyframes, probeVideo, sampleFrames, type SampledFrame, type VideoInfo } from '../src/media/ffmpeg.js';
import { renderThumbnail } from '../src/media/thumbnail.js';
import { createCueLog } from '../src/media/cues.js';
import { chooseSampling, decodeFrameAt, decoderThreadsFor, videoDecoderScale } from '../src/pipeline/index.js';
import { ortSessionOptions } from '../src/runtime/index.js';
import { getTask } from '../src/tasks/index.js';
import { latest, timed } from './bundled.js';
import { bulkReservedCores } from '../src/cli/config-options.js';
import { intraOpThreads } from '../src/registry/index.js';
import { startServer } from './processes.js';
import { staticCameraVideo } from '../test/helpers/videos.js';

const SECONDS = 60;
/** ORT's intra-op threads for video frames in the default process (one instance). */
const VIDEO_THREADS = intraOpThreads({ reservedCores: bulkReservedCores({ role: 'all' }) }, 1);
const FPS = 2;
const MODEL = 'object-detector';
/** Where the people are most visible in each crossing: the two thumbnails a review shows. */
const THUMBNAIL_TIMES = [18, 48];

/** Static background (home.jpg) with messi5.jpg's players sliding across it, 1080p30. */
export async function buildClip(path: string): Promise<void> {
  const graph = [
    '[0]scale=1920:1080,setsar=1[bg]',
    '[1]scale=640:-2[fg]',
    // The people enter at 10 s, cross the frame, leave at 25 s; again from 40 s to 55 s.
    "[bg][fg]overlay=x='if(between(t,10,25),(t-10)*85,if(between(t,40,55),1920-(t-40)*85,-2000))':y=500:shortest=1,fps=30,format=yuv420p[v]",
  ].join(';');
  await promisify(execFile)(ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-loop', '1', '-t', String(SECONDS), '-i', 'test/fixtures/home.jpg',
    '-loop', '1', '-t', String(SECONDS), '-i', 'test/fixtures/messi5.jpg',
    '-filter_complex', graph, '-map', '[v]',
    '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '6M', '-maxrate', '6M', '-bufsize', '12M', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0',
    path,
  ], { maxBuffer: 1 << 20 });
}

type Mode = 'exact' | 'keyframes';
interface Cost { wallS: number; cpuS: number }
type Stage = 'decode' | 'preprocess' | 'inference' | 'postprocess' | 'thumbnails';

async function openModel() {
  const { manifest, modelPath } = await latest(MODEL);
  // The server's session options, and the threads its video frames run on (its bulk session:
  // a core left to ffmpeg), not ORT's defaults.
  const session = await ort.InferenceSession.create(modelPath, ortSessionOptions(VIDEO_THREADS));
  const feed = (input: ModelInput) => ({ [session.inputNames[0]]: new ort.Tensor(input.dtype, input.data, [...input.dims]) });
  return { manifest, session, feed, task: getTask(manifest.task), params: getTask(manifest.task).paramsSchema.parse(manifest.postprocessing) };
}
type Model = Awaited<ReturnType<typeof openModel>>;

/** Decoded as the server decodes on CPU: its decoder threads, at the model's input size. */
const decodeOptions = (model: Model, info: VideoInfo, keyframeTimes?: number[]) => ({ fps: FPS, startS: 0, threads: decoderThreadsFor('cpu'), keyframeTimes, scale: videoDecoderScale(model, info) });
const preprocessed = (model: Model, frame: SampledFrame) => applyPreprocessing(frame.image, model.manifest.preprocessing, frame.scaledFrom);

/** Every stage alone, one after the other, on the same frames: wall and CPU seconds. */
async function stageCosts(path: string, info: VideoInfo, model: Model, keyframeTimes?: number[]): Promise<Record<Stage, Cost>> {
  const decode = await timed(async () => {
    const frames: SampledFrame[] = [];
    for await (const frame of sampleFrames(path, info, decodeOptions(model, info, keyframeTimes))) frames.push(frame);
    return frames;
  });
  const preprocess = await timed(() => Promise.all(decode.value.map((f) => preprocessed(model, f))));
  await model.session.run(model.feed(preprocess.value[0])); // warm-up
  const inference = await timed(async () => {
    const outputs = [];
    for (const input of preprocess.value) outputs.push(await model.session.run(model.feed(input)));
    return outputs;
  });
  const postprocess = await timed(async () =>
    inference.value.map((outputs, i) =>
      model.task.postprocess({ outputs: outputs as never, outputNames: model.session.outputNames, transform: preprocess.value[i].transform, params: model.params, labels: model.manifest.labels }),
    ),
  );
  // As the server cuts them: seek to the frame, draw its detections, encode a JPEG.
  const sampling = keyframeTimes ? { mode: 'keyframes' as const, requested: 'keyframes' as const, keyframeTimes } : undefined;
  const thumbnails = await timed(() =>
    Promise.all(THUMBNAIL_TIMES.map(async (t) => {
      const i = keyframeTimes ? keyframeTimes.findIndex((k) => k >= t) : t * FPS;
      const image = await decodeFrameAt(path, info, { fps: FPS, startS: 0, decodeThreads: 1, sampling }, { index: i, timeS: keyframeTimes?.[i] ?? t, detections: [] });
      return renderThumbnail(image, postprocess.value[i], info.width);
    })),
  );
  const cost = ({ wallS, cpuS }: Cost) => ({ wallS, cpuS });
  return { decode: cost(decode), preprocess: cost(preprocess), inference: cost(inference), postprocess: cost(postprocess), thumbnails: cost(thumbnails) };
}

/** The exact grid's decode alone, with the picture cue filters on the same decode (as the server runs them by default). */
async function decodeAlone(path: string, info: VideoInfo, model: Model, cues: boolean): Promise<Cost> {
  const { wallS, cpuS } = await timed(async () => {
    const log = cues ? createCueLog(0) : undefined;
    for await (const _frame of sampleFrames(path, info, { ...decodeOptions(model, info), cues: log })) void _frame;
  });
  return { wallS, cpuS };
}

/** Decode, preprocessing and ORT at once, no server: the next frame decodes while one infers. */
async function decodeAndInfer(path: string, info: VideoInfo, model: Model, keyframeTimes?: number[]): Promise<Cost> {
  const { wallS, cpuS } = await timed(async () => {
    let running: Promise<unknown> = Promise.resolve();
    for await (const frame of sampleFrames(path, info, decodeOptions(model, info, keyframeTimes))) {
      const input = await preprocessed(model, frame);
      await running;
      running = model.session.run(model.feed(input));
    }
    await running;
  });
  return { wallS, cpuS };
}

/** The clips the server is sent: the 60 s bench clip, and a 30 s static camera (people for 10 s of it). */
export type Clip = 'bench' | 'static';
export interface ClipFile { bytes: Buffer; durationS: number }
export interface ServerRow { name: string; query: string; clip: Clip; videoS: number; wallS: number; mode: Mode; frames: number; inferred: number; skipped: number; segments: Array<{ startS: number; endS: number }>; stagesS: number[] }

export async function serve(url: string, file: ClipFile, name: string, query: string, clip: Clip): Promise<ServerRow> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/models/${MODEL}/predict?labels=person&frames=false&${query}`, { method: 'POST', body: file.bytes as RequestInit['body'], headers: { 'content-type': 'video/mp4' } });
  const body = (await res.json()) as any;
  if (res.status !== 200) throw new Error(JSON.stringify(body));
  const t = body.timings;
  return {
    name, query, clip, videoS: file.durationS, wallS: (performance.now() - t0) / 1000, mode: body.video.sampling.mode, frames: body.video.framesSampled,
    inferred: body.video.motion.framesInferred, skipped: body.video.motion.framesSkipped,
    segments: body.segments.map((s: { startS: number; endS: number }) => ({ startS: s.startS, endS: s.endS })),
    stagesS: [t.decodeMs, t.preprocessMs, t.inferenceMs, t.postprocessMs, t.thumbnailMs].map((ms: number) => ms / 1000),
  };
}

type ServerRun = readonly [name: string, query: string, clip?: Clip];

/** Exact with picture cues (the default) and without, each run this often, alternated. */
const CUES_PAIRS = 3;
const CUES_ON = 'fps=2&sampling=exact&cues=true';
const CUES_OFF = 'fps=2&sampling=exact&cues=false';
export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const SERVER_RUNS: readonly ServerRun[] = [
  ['exact, fps=2', 'fps=2&sampling=exact'],
  ['auto, fps=2 (keyframes every 2 s: runs exact)', 'fps=2&sampling=auto'],
  ['auto, fps=0.5 (runs keyframes)', 'fps=0.5&sampling=auto'],
  ['keyframes, fps=2', 'fps=2&sampling=keyframes'],
  ['exact, fps=2, motion=true', 'fps=2&sampling=exact&motion=true'],
  ['keyframes, fps=2, motion=true', 'fps=2&sampling=keyframes&motion=true'],
  ['static camera (30 s), exact, fps=2', 'fps=2&sampling=exact', 'static'],
  ['static camera (30 s), exact, fps=2, motion=true', 'fps=2&sampling=exact&motion=true', 'static'],
];


/** Starts a server, warms it up once per sampling mode, and posts each run's clip. */
async function serverRows(clips: Record<Clip, ClipFile>, dataDir: string): Promise<ServerRow[]> {
  const server = await startServer({ FRAMEWATCH_DATA_DIR: dataDir });
  const rows: ServerRow[] = [];
  try {
    // One warm-up request per sampling mode: the first exact request was 5-10% slower than the next in every run.
    await serve(server.url, clips.bench, 'warm-up', 'fps=0.5&sampling=keyframes', 'bench');
    await serve(server.url, clips.bench, 'warm-up', 'fps=2&sampling=exact', 'bench');
    for (const [name, query, clip = 'bench'] of SERVER_RUNS) {
      console.log(`1080p: server, ${name} ...`);
      rows.push(await serve(server.url, clips[clip], name, query, clip));
    }
    // Picture cues ride on the exact decode: their cost is exact with them against exact without, alternated.
    for (let i = 0; i < CUES_PAIRS; i++) {
      console.log(`1080p: server, exact with and without cues (${i + 1}/${CUES_PAIRS}) ...`);
      rows.push(await serve(server.url, clips.bench, 'exact, fps=2, cues=false', CUES_OFF, 'bench'));
      rows.push(await serve(server.url, clips.bench, 'exact, fps=2, cues on (the default)', CUES_ON, 'bench'));
    }
  } finally {
    await server.stop(); // nothing else measured while it winds down
  }
  return rows;
}

export async function video1080pBench() {
  const dir = await mkdtemp(join(tmpdir(), 'framewatch-1080p-'));
  try {
    const path = join(dir, 'clip-1080p.mp4');
    const staticPath = join(dir, 'static-1080p.mp4');
    console.log('1080p: building the 60 s clip and the 30 s static camera ...');
    await buildClip(path);
    // The test suite's static camera (test/motion.test.ts), at 1080p30.
    await staticCameraVideo(staticPath, { width: 1920, height: 1080 }, 30);
    const info = await probeVideo(path);
    const keyframeTimes = chooseSampling('keyframes', await probeKeyframes(path, info), { fps: FPS, startS: 0 }).keyframeTimes!;
    const model = await openModel();
    console.log('1080p: each stage alone, then decode and ORT at once ...');
    const stages = { exact: await stageCosts(path, info, model), keyframes: await stageCosts(path, info, model, keyframeTimes) };
    const together = { exact: await decodeAndInfer(path, info, model), keyframes: await decodeAndInfer(path, info, model, keyframeTimes) };
    const decodeWithCues = await decodeAlone(path, info, model, true);
    await model.session.release();
    const clips = { bench: { bytes: await readFile(path), durationS: SECONDS }, static: { bytes: await readFile(staticPath), durationS: (await probeVideo(staticPath)).durationS } };
    const rows = await serverRows(clips, join(dir, 'data'));
    return { videoS: SECONDS, fps: FPS, keyframes: keyframeTimes.length, stages, together, decodeWithCues, rows, targets: targetsOf(stages, together, rows) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const segmentsMatch = (a: ServerRow['segments'], b: ServerRow['segments'], toleranceS: number) =>
  a.length === b.length && a.every((s, i) => Math.abs(s.startS - b[i].startS) <= toleranceS && Math.abs(s.endS - b[i].endS) <= toleranceS);

function targetsOf(stages: Record<Mode, Record<Stage, Cost>>, together: Record<Mode, Cost>, rows: ServerRow[]) {
  const row = (query: string, clip: Clip = 'bench') => rows.find((r) => r.query === query && r.clip === clip)!;
  const rtf = (r: ServerRow) => r.videoS / r.wallS;
  const exact = row('fps=2&sampling=exact');
  const auto = row('fps=0.5&sampling=auto');
  const motion = row('fps=2&sampling=exact&motion=true');
  const [still, stillGated] = [row('fps=2&sampling=exact', 'static'), row('fps=2&sampling=exact&motion=true', 'static')];
  const cuesCost = median(rows.filter((r) => r.query === CUES_ON).map((r) => r.wallS)) / median(rows.filter((r) => r.query === CUES_OFF).map((r) => r.wallS)) - 1;
  return [
    { target: `exact, fps=2: picture cues cost <= 0.10 of the wall time (median of ${CUES_PAIRS} alternated pairs)`, value: cuesCost, pass: cuesCost <= 0.1 },
    { target: 'exact, fps=2: real-time factor >= 5.5', value: rtf(exact), pass: rtf(exact) >= 5.5 },
    { target: 'exact, fps=2: server wall <= 1.15x the floor (decode and ORT at once, no server)', value: exact.wallS / together.exact.wallS, pass: exact.wallS / together.exact.wallS <= 1.15 },
    { target: 'auto at fps=0.5 (keyframes): real-time factor >= 20', value: rtf(auto), pass: rtf(auto) >= 20 },
    { target: 'motion, static camera, exact fps=2: share of inferences skipped >= 0.5', value: stillGated.skipped / stillGated.frames, pass: stillGated.skipped / stillGated.frames >= 0.5 },
    { target: 'motion, static camera, exact fps=2: same segments as without, boundaries within 1 s (1 = yes)', value: Number(segmentsMatch(stillGated.segments, still.segments, 1)), pass: segmentsMatch(stillGated.segments, still.segments, 1) },
    { target: 'motion, bench clip, exact fps=2: same segments as without, boundaries within 1 s (1 = yes)', value: Number(segmentsMatch(motion.segments, exact.segments, 1)), pass: segmentsMatch(motion.segments, exact.segments, 1) },
  ];
}

const f1 = (v: number) => v.toFixed(1);
const f2 = (v: number) => v.toFixed(2);

/** The section as bench/RESULTS.md shows it. */
export function video1080pMarkdown(r: Awaited<ReturnType<typeof video1080pBench>>): string {
  const stageNames: Stage[] = ['decode', 'preprocess', 'inference', 'postprocess', 'thumbnails'];
  const floorRow = (name: string, c: Cost) => `| ${name} | ${f1(c.wallS)} | ${f1(r.videoS / c.wallS)}x | ${f1(c.cpuS)} |`;
  return [
    `1080p: a ${r.videoS} s 1080p30 H.264 clip, 6 Mbit/s, a keyframe every 2 s (${r.keyframes} keyframes), object-detector, \`labels=person\`, sampled at ${r.fps} fps.`,
    ``,
    `Each stage alone, on the same frames (CPU: this process and its ffmpeg children; ORT with the server's session options):`,
    ``,
    `| stage | exact: wall s | exact: CPU s | keyframes: wall s | keyframes: CPU s |`,
    `| --- | --- | --- | --- | --- |`,
    ...stageNames.map((s) => `| ${s} | ${f2(r.stages.exact[s].wallS)} | ${f2(r.stages.exact[s].cpuS)} | ${f2(r.stages.keyframes[s].wallS)} | ${f2(r.stages.keyframes[s].cpuS)} |`),
    ``,
    `The floor on this machine, no server:`,
    ``,
    `| what | wall s | real-time factor | CPU s |`,
    `| --- | --- | --- | --- |`,
    floorRow('exact: decode alone', r.stages.exact.decode),
    floorRow('exact: decode alone, with the picture cue filters', r.decodeWithCues),
    floorRow('exact: ORT alone', r.stages.exact.inference),
    floorRow('exact: decode, preprocess and ORT at once', r.together.exact),
    floorRow('keyframes: decode alone', r.stages.keyframes.decode),
    floorRow('keyframes: ORT alone', r.stages.keyframes.inference),
    floorRow('keyframes: decode, preprocess and ORT at once', r.together.keyframes),
    ``,
    `The server, upload to answer (sync), after a warm-up request in each sampling mode. Stage columns are the server's own wall time per stage; they overlap (frames decode while earlier ones infer):`,
    ``,
    `| request | wall s | real-time factor | mode | frames | inferred / skipped | segments | decode s | preprocess s | inference s | postprocess s | thumbnails s |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...r.rows.map((row) => `| ${row.name} | ${f1(row.wallS)} | ${f1(row.videoS / row.wallS)}x | ${row.mode} | ${row.frames} | ${row.inferred} / ${row.skipped} | ${row.segments.map((s) => `${s.startS}-${s.endS}`).join(', ')} | ${row.stagesS.map(f1).join(' | ')} |`),
    ``,
    `| 1080p target | measured | met |`,
    `| --- | --- | --- |`,
    ...r.targets.map((t) => `| ${t.target} | ${f2(t.value)} | ${t.pass ? 'yes' : 'no'} |`),
  ].join('\n');
}

if (process.argv[1]?.endsWith('/video-1080p.js')) console.log(video1080pMarkdown(await video1080pBench()));
