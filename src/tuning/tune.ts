import * as ort from 'onnxruntime-node';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelInput } from '../../preprocessing/index.js';
import { FramewatchError } from '../errors/index.js';
import { loadImage } from '../media/image.js';
import { deriveVersion, INT8_OPTIONS, QUANTIZATION_FILE } from '../exporter/derive.js';
import { referenceImages } from '../exporter/reference.js';
import { calibrateRanges, quantizeQdq, type ActivationRanges } from '../exporter/onnx/quantize.js';
import { scanRepository, TUNING_RECORD, type ImageDecoder, type Manifest, type ScannedVersion } from '../registry/index.js';
import { PROVIDER_DEFAULTS, runSingle, usableCores, type Device } from '../runtime/index.js';
import { getTask, type Detection } from '../tasks/index.js';
import { measureSideBySide, openCandidate, type Candidate, type Figures, type MeasureSettings, type OpenCandidate } from './measure.js';
import { compareDetections, type ParityResult } from '../exporter/detection-parity.js';
import { measureVideoSideBySide } from './video.js';

/** A candidate replaces the one it is measured against only when it serves this much more ... */
export const MIN_GAIN = 1.03;
/** ... at a p99 latency at most this much worse. Small gains within the noise keep the simpler settings. */
const MAX_P99_LOSS = 1.1;

/** The serving path's image decoding, under the server's pixel limit. */
const decoder = (o: Pick<TuneOptions, 'maxImagePixels'>): ImageDecoder => (bytes, spec) => loadImage(bytes, spec, { maxPixels: o.maxImagePixels });


export interface TuneOptions {
  modelsDir: string;
  name: string;
  /** Default: the newest version. */
  version?: number;
  device: Device;
  /** The server's pixel limit for images (FRAMEWATCH_MAX_IMAGE_PIXELS): tune decodes as it serves. */
  maxImagePixels: number;
  /** Images for the parity check beside the golden samples (a held-out set). */
  holdoutDir?: string;
  /** A clip whose frames measure the video (bulk) session's threads; without one they keep the rule. */
  videoPath?: string;
  /** Images to calibrate the int8 variant's activation ranges with, beside the golden and held-out ones. */
  calibrationDir?: string;
  /** Measure an int8 variant too (default true). */
  int8?: boolean;
  measure: MeasureSettings;
  /** Measure and report only. */
  dryRun?: boolean;
  log?: (line: string) => void;
}

export interface StageRecord {
  stage: string;
  candidates: Array<{ id: string; figures: Figures | { framesPerS: number }; parity?: { ok: boolean; failures: string[] } }>;
  winner: string;
  /** Why the stage measured nothing (a model int8 quantization cannot apply to). */
  skipped?: string;
}

/** What tune did, written beside the new version's manifest (TUNING_RECORD). */
export interface TuningRecord {
  from: { name: string; version: number; sha256: string };
  date: string;
  machine: { cpu: string; usableCores: number; node: string; device: Device };
  measure: MeasureSettings & { rule: string };
  stages: StageRecord[];
  winner: Candidate & { bulkIntraOpThreads?: number };
  /** The winner's images/s over the source's settings, measured side by side. */
  speedup: number;
  parity: { rule: string; images: Array<ParityResult & { image: string }>; ok: boolean; holdout: string };
  /** The version written, or why none was. */
  outcome: { written: number } | { notWritten: string };
}

/** The settings a version is served with today (its own tuning, else framewatch's defaults). */
function currentSettings(manifest: Manifest, cores: number): Candidate {
  const r = manifest.runtime;
  const tunedHere = r?.tunedCores === cores;
  const instances = manifest.serving?.instances ?? PROVIDER_DEFAULTS.cpu.instances;
  return {
    id: 'current',
    graph: { graphOptimizationLevel: r?.graphOptimizationLevel ?? 'all', executionMode: r?.executionMode ?? 'sequential', interOpThreads: r?.interOpThreads ?? 1 },
    intraOpThreads: (tunedHere ? r?.intraOpThreads : undefined) ?? cores,
    instances,
    instanceThreads: (tunedHere ? r?.instanceIntraOpThreads ?? r?.intraOpThreads : undefined) ?? Math.max(1, Math.floor(cores / instances)),
    maxBatchSize: manifest.serving?.maxBatchSize ?? PROVIDER_DEFAULTS.cpu.maxBatchSize,
    variant: 'copy',
  };
}

/**
 * One session on every core, and on CPU 2 and 4 sessions (as many as there are cores at most),
 * the first on every core or on its share, the others on their share.
 */
function threadsAndInstances(b: Candidate, cores: number): Candidate[] {
  const one = { ...b, id: `1 session x ${cores} threads`, intraOpThreads: cores, instances: 1, instanceThreads: cores };
  const shared = [2, 4].filter((n) => n <= cores).flatMap((instances) => {
    const share = Math.max(1, Math.floor(cores / instances));
    return [
      { ...b, id: `${instances} sessions: ${cores} threads, then ${share} each`, intraOpThreads: cores, instances, instanceThreads: share },
      { ...b, id: `${instances} sessions x ${share} threads`, intraOpThreads: share, instances, instanceThreads: share },
    ];
  });
  return [one, ...shared];
}

/** The sweep, one knob at a time: each stage's candidates vary the best settings so far. */
const STAGES: Array<{ stage: string; vary: (best: Candidate, cores: number) => Candidate[] }> = [
  {
    stage: 'graph optimization',
    vary: (b) => (['basic', 'extended', 'all'] as const).map((level) => ({ ...b, id: `level=${level}`, graph: { ...b.graph, graphOptimizationLevel: level } })),
  },
  {
    stage: 'execution mode',
    vary: (b, cores) => [
      { ...b, id: 'sequential', graph: { ...b.graph, executionMode: 'sequential', interOpThreads: 1 } },
      { ...b, id: `parallel, ${cores} inter-op`, graph: { ...b.graph, executionMode: 'parallel', interOpThreads: cores } },
    ],
  },
  {
    stage: 'threads x instances',
    vary: threadsAndInstances,
  },
  {
    stage: 'batch size',
    vary: (b) => [1, 2, 4, 8].map((maxBatchSize) => ({ ...b, id: `batch ${maxBatchSize}`, maxBatchSize })),
  },
];

/**
 * Whether `c` beats `best` clearly: its median round at MIN_GAIN or more, its p99 at most
 * MAX_P99_LOSS worse, and faster in every round (each round measures both one after the
 * other, so a candidate that wins only on the rounds the machine was quiet does not win).
 */
type Compared = Pick<Figures, 'imagesPerS' | 'p99Ms' | 'rounds'>;
export const beats = (c: Compared, best: Compared) =>
  c.imagesPerS >= best.imagesPerS * MIN_GAIN && c.p99Ms <= best.p99Ms * MAX_P99_LOSS && c.rounds.every((r, i) => r > (best.rounds[i] ?? Infinity));

/** A folder's images (the exporter's own listing, as for drift references); a folder that cannot be read is the caller's INVALID_INPUT. */
async function imageFiles(dir: string, what: string): Promise<string[]> {
  const files = await referenceImages(dir).catch(() => {
    throw new FramewatchError('INVALID_INPUT', `the ${what} folder ${dir} cannot be read`);
  });
  if (files.length === 0) throw new FramewatchError('INVALID_INPUT', `the ${what} folder ${dir} has no images`);
  return files;
}

function findVersion(entries: readonly ScannedVersion[], o: Pick<TuneOptions, 'name' | 'version' | 'modelsDir'>): ScannedVersion & { manifest: Manifest } {
  const versions = entries.filter((e) => e.name === o.name);
  if (versions.length === 0) throw new FramewatchError('MODEL_NOT_FOUND', `no model '${o.name}' in ${o.modelsDir}`);
  const entry = o.version === undefined ? versions.at(-1)! : versions.find((e) => e.version === o.version);
  if (!entry) throw new FramewatchError('VERSION_NOT_FOUND', `'${o.name}' has no version ${o.version}; it has ${versions.map((e) => e.version).join(', ')}`);
  if (!entry.manifest) throw new FramewatchError('MODEL_NOT_READY', `${o.name}/${entry.version} cannot be tuned: ${entry.problem ?? 'it is a pipeline of other versions'}`);
  const task = getTask(entry.manifest.task);
  if (task.inputKind !== 'image') {
    throw new FramewatchError('INVALID_INPUT', `${o.name}/${entry.version} is a ${task.inputKind} model; tune measures image models (its parity is judged on detections)`);
  }
  return entry as ScannedVersion & { manifest: Manifest };
}

interface Sample { name: string; input: ModelInput }

/** The int8 model tune measured, and the activation ranges it was quantized with (committed beside it). */
interface Int8Variant { ranges: ActivationRanges; bytes: Uint8Array }

/** Images decoded as the server decodes them, for the model's preprocessing. */
async function decodeFiles(files: readonly string[], manifest: Manifest, decode: ImageDecoder): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (const file of files) {
    try {
      samples.push({ name: file, input: (await decode(await readFile(file), manifest.preprocessing)).input });
    } catch (err) {
      throw new FramewatchError('INVALID_INPUT', `${file} cannot be decoded: ${(err as Error).message}`);
    }
  }
  return samples;
}

/** The score threshold the version reports detections at. */
const scoreThresholdOf = (manifest: Manifest) => (getTask(manifest.task).paramsSchema.parse(manifest.postprocessing) as { scoreThreshold: number }).scoreThreshold;

/** Parity per sample of a candidate's detections against the source version's. */
const judgeParity = (samples: readonly Sample[], reference: Detection[][], candidate: Detection[][], manifest: Manifest) =>
  samples.map((s, i) => ({ image: s.name, ...compareDetections(reference[i], candidate[i], { scoreThreshold: scoreThresholdOf(manifest) }) }));

/** Each sample's detections on an open candidate, as the server would postprocess them. */
async function detectAll(open: OpenCandidate, samples: readonly Sample[], manifest: Manifest): Promise<Detection[][]> {
  const task = getTask(manifest.task);
  const params = task.paramsSchema.parse(manifest.postprocessing);
  const outputNames = open.session.outputs.map((o) => o.name);
  const all: Detection[][] = [];
  for (const s of samples) {
    const outputs = await runSingle(open.session, s.input);
    all.push(task.postprocess({ outputs, outputNames, transform: s.input.transform, params, labels: manifest.labels }));
  }
  return all;
}

/**
 * `framewatch tune`: measures ONNX Runtime's settings for one version on this machine, one
 * knob at a time, each stage's candidates side by side; keeps the winner only when its
 * detections keep parity with the source version; writes it as a new version with its record.
 */
export async function tune(o: TuneOptions): Promise<TuningRecord> {
  const log = o.log ?? (() => undefined);
  const entries = await scanRepository(o.modelsDir);
  const entry = findVersion(entries, o);
  const { manifest } = entry;
  const holdout = o.holdoutDir ? await imageFiles(o.holdoutDir, 'held-out') : [];
  const calibration = o.calibrationDir ? await imageFiles(o.calibrationDir, 'calibration') : [];
  // What tune measures and judges parity on: the golden samples, then the held-out set.
  const samples = await decodeFiles([...manifest.golden.map((g) => join(entry.dir, g.input)), ...holdout], manifest, decoder(o));
  if (samples.length === 0) throw new FramewatchError('INVALID_INPUT', `${o.name}/${entry.version} has no golden samples and no held-out set was given: nothing to measure or judge parity on`);
  const modelPath = join(entry.dir, manifest.file.name);
  const cores = usableCores();
  const opened: OpenCandidate[] = [];
  const scratch = await mkdtemp(join(tmpdir(), 'framewatch-tune-'));
  const int8Path = join(scratch, 'int8.onnx');
  const open = async (c: Candidate) => {
    const made = await openCandidate(c, c.variant === 'int8' ? int8Path : modelPath, o.device).catch((err: Error) => {
      throw new FramewatchError('MODEL_NOT_READY', `${o.name}/${entry.version} cannot run with ${c.id}: ${err.message}`);
    });
    opened.push(made);
    return made;
  };
  try {
    const current = await open(currentSettings(manifest, cores));
    const reference = await detectAll(current, samples, manifest);
    const stages: StageRecord[] = [];
    let best = current.candidate;
    for (const { stage, vary } of STAGES) {
      const candidates = vary(best, cores);
      const opens = await Promise.all(candidates.map(open));
      const figures = await measureSideBySide(opens, samples.map((s) => s.input), o.measure);
      const incumbent = candidates.findIndex((c) => sameSettings(c, best));
      let win = incumbent >= 0 ? incumbent : 0;
      figures.forEach((f, i) => {
        if (beats(f, figures[win])) win = i;
      });
      stages.push({ stage, candidates: candidates.map((c, i) => ({ id: c.id, figures: figures[i] })), winner: candidates[win].id });
      log(`${stage}: ${candidates.map((c, i) => `${c.id} ${figures[i].imagesPerS.toFixed(2)}/s p99 ${figures[i].p99Ms.toFixed(0)} ms`).join(' | ')} -> ${candidates[win].id}`);
      best = candidates[win];
      await Promise.all(opens.map(release(opened)));
    }
    let int8: Int8Variant | undefined;
    if (o.int8 !== false) {
      const calibrationSamples = [...samples, ...(await decodeFiles(calibration, manifest, decoder(o)))];
      int8 = await quantizeForTuning(modelPath, manifest, calibrationSamples).catch((err: unknown) => {
        if (!(err instanceof FramewatchError && err.code === 'EXPORT_FAILED')) throw err;
        stages.push({ stage: 'model variant', candidates: [], winner: best.id, skipped: err.message });
        log(`model variant: skipped, ${err.message}`);
        return undefined;
      });
      if (int8) {
        await writeFile(int8Path, int8.bytes);
        best = await int8Stage(best, samples, manifest, reference, open, release(opened), o.measure, stages, log);
      }
    }
    const final = await open({ ...best, id: 'winner' });
    const baseline = await open({ ...current.candidate, id: 'current (again)' });
    const [winnerFigures, baselineFigures] = await measureSideBySide([final, baseline], samples.map((s) => s.input), o.measure);
    log(`winner against the current settings, side by side: ${winnerFigures.imagesPerS.toFixed(2)} against ${baselineFigures.imagesPerS.toFixed(2)} images/s`);
    // Images keep the current settings unless the winner beat them again, side by side.
    const imagesWin = !sameSettings(best, current.candidate) && beats(winnerFigures, baselineFigures);
    const chosen = imagesWin ? best : current.candidate;
    const images = judgeParity(samples, reference, await detectAll(imagesWin ? final : baseline, samples, manifest), manifest);
    const bulk = o.videoPath ? await tuneVideoThreads(chosen, o.videoPath, o.measure.rounds, manifest, cores, open, stages, log) : undefined;
    const parityOk = images.every((p) => p.ok);
    // The rule gives video one core fewer than images (config-options.ts bulkReservedCores).
    const unchanged = !imagesWin && (bulk === undefined || bulk === Math.max(1, cores - 1));
    const record: TuningRecord = {
      from: { name: o.name, version: entry.version, sha256: manifest.file.sha256 },
      date: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model ?? 'unknown', usableCores: cores, node: process.version, device: o.device },
      measure: { ...o.measure, rule: `a candidate replaces the best so far at >= ${MIN_GAIN}x its images/s, a p99 at most ${MAX_P99_LOSS}x and faster in every round; figures are the median round; the winner is measured again against the current settings and must beat them the same way` },
      stages,
      winner: { ...chosen, ...(bulk ? { bulkIntraOpThreads: bulk } : {}) },
      speedup: winnerFigures.imagesPerS / baselineFigures.imagesPerS,
      parity: {
        rule: `per image, detections matched greedily per label by IoU (0.5 or more: the same object): every match IoU >= 0.9 and scores within 0.05; a detection one side lacks fails unless within 0.05 of the score threshold ${scoreThresholdOf(manifest)}`,
        images, ok: parityOk, holdout: o.holdoutDir ?? 'none (golden samples only)',
      },
      outcome: !parityOk ? { notWritten: 'the winner does not keep parity with the source version' }
        : unchanged ? { notWritten: `no candidate beat the current settings by ${MIN_GAIN}x in every round` }
        : o.dryRun ? { notWritten: 'dry run' }
        : { written: nextVersion(entries, o.name) },
    };
    if ('written' in record.outcome) await writeTunedVersion(o, entry, record, int8);
    return record;
  } finally {
    await Promise.all(opened.map((x) => x.session.release()));
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The version's model as static int8 QDQ, its activation ranges calibrated on `samples`; EXPORT_FAILED where int8 cannot apply. */
async function quantizeForTuning(modelPath: string, manifest: Manifest, samples: readonly Sample[]): Promise<Int8Variant> {
  const source = await readFile(modelPath);
  const feeds = samples.map((c) => ({ [manifest.inputs[0].name]: new ort.Tensor(c.input.dtype, c.input.data, [...c.input.dims]) }));
  const ranges = await calibrateRanges(source, feeds);
  return { ranges, bytes: quantizeQdq(source, ranges, INT8_OPTIONS) };
}

const release = (opened: OpenCandidate[]) => async (x: OpenCandidate) => {
  opened.splice(opened.indexOf(x), 1);
  await x.session.release();
};

const sameSettings = (a: Candidate, b: Candidate) => JSON.stringify({ ...a, id: '' }) === JSON.stringify({ ...b, id: '' });

/**
 * The int8 variant against the best float settings, side by side; it wins only when it is
 * faster by MIN_GAIN and its detections keep parity with the source version's.
 */
async function int8Stage(
  best: Candidate, samples: readonly Sample[], manifest: Manifest, reference: Detection[][],
  open: (c: Candidate) => Promise<OpenCandidate>, release: (x: OpenCandidate) => Promise<void>, measure: MeasureSettings, stages: StageRecord[], log: (line: string) => void,
): Promise<Candidate> {
  const candidates: Candidate[] = [best, { ...best, id: `int8 (${INT8_OPTIONS.activations}, per-channel)`, variant: 'int8' }];
  const opens = await Promise.all(candidates.map(open));
  const figures = await measureSideBySide(opens, samples.map((s) => s.input), measure);
  const failures = judgeParity(samples, reference, await detectAll(opens[1], samples, manifest), manifest).flatMap((p) => p.failures.map((f) => `${p.image}: ${f}`));
  const wins = beats(figures[1], figures[0]) && failures.length === 0;
  stages.push({
    stage: 'model variant',
    candidates: [{ id: best.id, figures: figures[0] }, { id: candidates[1].id, figures: figures[1], parity: { ok: failures.length === 0, failures } }],
    winner: candidates[wins ? 1 : 0].id,
  });
  log(`model variant: ${candidates.map((c, i) => `${c.id} ${figures[i].imagesPerS.toFixed(2)}/s`).join(' | ')}, int8 parity ${failures.length === 0 ? 'kept' : `lost (${failures.length} failures)`} -> ${candidates[wins ? 1 : 0].id}`);
  await Promise.all(opens.map(release));
  return candidates[wins ? 1 : 0];
}

const nextVersion = (entries: readonly ScannedVersion[], name: string) => Math.max(0, ...entries.filter((e) => e.name === name).map((e) => e.version)) + 1;

/** Writes the winner as the next version: the same model file, its settings in the manifest, the record beside it. */
export async function writeTunedVersion(o: Pick<TuneOptions, 'modelsDir' | 'maxImagePixels'>, entry: { dir: string; manifest: Manifest }, record: TuningRecord, int8Variant?: Int8Variant): Promise<void> {
  const w = record.winner;
  const cores = record.machine.usableCores;
  const version = (record.outcome as { written: number }).written;
  const int8 = w.variant === 'int8' ? int8Variant : undefined;
  await deriveVersion({
    modelsDir: o.modelsDir,
    from: entry,
    version,
    derived: { bytes: int8?.bytes ?? (await readFile(join(entry.dir, entry.manifest.file.name))), variant: w.variant },
    runtime: {
      graphOptimizationLevel: w.graph.graphOptimizationLevel,
      executionMode: w.graph.executionMode,
      interOpThreads: w.graph.interOpThreads,
      intraOpThreads: w.intraOpThreads,
      ...(w.instances > 1 && w.instanceThreads !== w.intraOpThreads ? { instanceIntraOpThreads: w.instanceThreads } : {}),
      ...(w.bulkIntraOpThreads ? { bulkIntraOpThreads: w.bulkIntraOpThreads } : {}),
      tunedCores: cores,
    },
    serving: { ...entry.manifest.serving, maxBatchSize: w.maxBatchSize, instances: w.instances },
    description: `${entry.manifest.name}/${entry.manifest.version} tuned by framewatch tune on ${record.machine.cpu} (${cores} cores): ${record.speedup.toFixed(2)}x its images/s. ${entry.manifest.description ?? ''}`.trim(),
    files: { [TUNING_RECORD]: `${JSON.stringify(record, null, 2)}\n`, ...(int8 ? { [QUANTIZATION_FILE]: `${JSON.stringify({ options: INT8_OPTIONS, ranges: int8.ranges }, null, 2)}\n` } : {}) },
    decode: decoder(o),
  });
}

/** The video session's intra-op threads: frames/s of a real clip, decoded beside inference, at each count. */
async function tuneVideoThreads(
  best: Candidate, clip: string, rounds: number, manifest: Manifest, cores: number,
  open: (c: Candidate) => Promise<OpenCandidate>, stages: StageRecord[], log: (line: string) => void,
): Promise<number> {
  const counts = Array.from({ length: cores }, (_, i) => cores - i);
  const opens = await Promise.all(counts.map((n) => open({ ...best, id: `video, ${n} threads`, intraOpThreads: n, instances: 1, instanceThreads: n, maxBatchSize: 1 })));
  const fps = await measureVideoSideBySide(opens, clip, manifest.preprocessing, rounds);
  let win = 0;
  fps.forEach((f, i) => {
    if (f >= fps[win] * MIN_GAIN) win = i;
  });
  stages.push({ stage: 'video threads', candidates: opens.map((x, i) => ({ id: x.candidate.id, figures: { framesPerS: fps[i] } })), winner: opens[win].candidate.id });
  log(`video threads: ${opens.map((x, i) => `${x.candidate.id} ${fps[i].toFixed(2)} frames/s`).join(' | ')} -> ${opens[win].candidate.id}`);
  return counts[win];
}
