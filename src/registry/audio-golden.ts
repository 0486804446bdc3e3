import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelSession } from '../runtime/index.js';
import { frameProbabilities, VOICE_SAMPLE_RATE, type RunVoiceModel } from '../tasks/index.js';
import type { Manifest } from './manifest.js';
import { compareWithGolden, GOLDEN_INDEX, missingGolden, readGoldenIndex, type GoldenIndexEntry, type SkewReport } from './skew.js';

// An audio model's golden samples are raw 16 kHz mono float32 (`.f32`, little-endian): no
// decoder between the file and the model, so the replay checks the session and the framing
// (lanes, context, state) the server runs, and nothing else.

const PROBABILITIES = 'probabilities';

/** The session as the voice framing calls it. */
export const runVoiceSession = (session: ModelSession): RunVoiceModel => (feeds) => session.run(feeds);

/** Samples of a golden `.f32` file. */
async function readF32Samples(path: string): Promise<Float32Array> {
  const raw = await readFile(path);
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength - (raw.byteLength % 4)));
}

/** What the serving framing heard in one golden clip: its length and each frame's speech probability. */
export interface HeardClip {
  seconds: number;
  probabilities: Float32Array;
}

/**
 * Each golden clip's frame probabilities through the serving framing, stored beside the index
 * (the exporter); returned too, so the drift reference is made from them without a second run.
 */
export async function writeAudioGoldenOutputs(versionDir: string, inputs: readonly string[], session: ModelSession): Promise<HeardClip[]> {
  await mkdir(join(versionDir, 'golden', 'outputs'), { recursive: true });
  const records: GoldenIndexEntry[] = [];
  const heard: HeardClip[] = [];
  for (const [i, input] of inputs.entries()) {
    const samples = await readF32Samples(join(versionDir, input));
    const probabilities = await frameProbabilities(runVoiceSession(session), samples);
    const file = `golden/outputs/${i}.${PROBABILITIES}.bin`;
    await writeFile(join(versionDir, file), new Uint8Array(probabilities.buffer));
    records.push({ input, outputs: [{ name: PROBABILITIES, dims: [probabilities.length], dtype: 'float32', file }] });
    heard.push({ seconds: samples.length / VOICE_SAMPLE_RATE, probabilities });
  }
  await writeFile(join(versionDir, GOLDEN_INDEX), `${JSON.stringify(records, null, 2)}\n`);
  return heard;
}

/** The skew guard for an audio model: replays each golden clip and compares the frame probabilities. */
export async function checkAudioSkew(dir: string, manifest: Manifest, session: ModelSession, tolerance: number): Promise<SkewReport> {
  const index = await readGoldenIndex(dir);
  if (!index) return missingGolden(tolerance);
  const report: SkewReport = { ok: true, tolerance, samples: [], maxAbsDiff: 0 };
  for (const entry of index) {
    const served = await frameProbabilities(runVoiceSession(session), await readF32Samples(join(dir, entry.input)));
    const golden = await readF32Samples(join(dir, entry.outputs[0].file));
    const { worst, worstExcess } = served.length === golden.length ? compareWithGolden(golden, served, tolerance) : { worst: Infinity, worstExcess: Infinity };
    report.samples.push({ input: entry.input, outputs: [{ name: PROBABILITIES, maxAbsDiff: worst, elements: golden.length }] });
    report.maxAbsDiff = Math.max(report.maxAbsDiff, worst);
    if (worstExcess > 0) {
      report.ok = false;
      report.reason ??= `${manifest.name}: the speech probabilities of ${entry.input} differ by up to ${worst.toExponential(3)} (tolerance ${tolerance})`;
    }
  }
  return report;
}
