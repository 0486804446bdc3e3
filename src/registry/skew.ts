import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelInput, PreprocessSpec } from '../../preprocessing/index.js';
import { runSingle, tensorArray, type ModelSession, type Provider } from '../runtime/index.js';
import type { Manifest } from './manifest.js';

/**
 * The serving path's image loading (decode and preprocess with `spec`), injected by the
 * caller because decoding lives in media/: media/image.ts loadImage.
 */
export type ImageDecoder = (bytes: Uint8Array, spec: PreprocessSpec) => Promise<{ input: ModelInput; width: number; height: number }>;

/** Where a version's golden outputs are indexed (written by the exporter, replayed here). */
export const GOLDEN_INDEX = 'golden/outputs/index.json';

/** Default tolerance per provider: CPU replays the exporter's ORT exactly; CUDA kernels differ. */
export const SKEW_TOLERANCE: Record<Provider, number> = { cpu: 1e-4, cuda: 1e-2 };

export interface SkewReport {
  ok: boolean;
  tolerance: number;
  samples: Array<{ input: string; outputs: Array<{ name: string; maxAbsDiff: number; elements: number }> }>;
  maxAbsDiff: number;
  reason?: string;
}

export interface GoldenIndexEntry {
  input: string;
  outputs: Array<{ name: string; dims: number[]; dtype: string; file: string }>;
}

/** A version's golden index (GOLDEN_INDEX); undefined when it is missing or unreadable. */
export async function readGoldenIndex(dir: string): Promise<GoldenIndexEntry[] | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, GOLDEN_INDEX), 'utf8')) as GoldenIndexEntry[];
  } catch {
    return undefined;
  }
}

/** The report of a version whose golden outputs are missing: it fails its check. */
export const missingGolden = (tolerance: number): SkewReport => ({ ok: false, tolerance, samples: [], maxAbsDiff: Infinity, reason: `golden outputs are missing (${GOLDEN_INDEX})` });

/**
 * Replays the exporter's golden samples through the serving path (decode, shared
 * preprocessing, this session and provider) and compares with the stored outputs.
 * |served - golden| <= tolerance * max(1, |golden|) for every element.
 */
export async function checkSkew(dir: string, manifest: Manifest, session: ModelSession, decode: ImageDecoder, tolerance: number): Promise<SkewReport> {
  const index = await readGoldenIndex(dir);
  if (!index) return missingGolden(tolerance);
  const report: SkewReport = { ok: true, tolerance, samples: [], maxAbsDiff: 0 };
  for (const entry of index) {
    const { input } = await decode(await readFile(join(dir, entry.input)), manifest.preprocessing);
    const served = await runSingle(session, input);
    const sample: SkewReport['samples'][number] = { input: entry.input, outputs: [] };
    for (const out of entry.outputs) {
      const raw = await readFile(join(dir, out.file));
      const bytes = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
      const golden = tensorArray(out.dtype, bytes);
      const got = served[out.name]?.data;
      if (!got || got.length !== golden.length) {
        report.ok = false;
        report.reason = `output '${out.name}' of ${entry.input}: ${got?.length ?? 0} values served, ${golden.length} golden`;
        report.maxAbsDiff = Infinity;
        continue;
      }
      const { worst, worstExcess } = compareWithGolden(golden, got, tolerance);
      sample.outputs.push({ name: out.name, maxAbsDiff: worst, elements: golden.length });
      report.maxAbsDiff = Math.max(report.maxAbsDiff, worst);
      if (worstExcess > 0) {
        report.ok = false;
        report.reason ??= `output '${out.name}' of ${entry.input} differs by up to ${worst.toExponential(3)} (tolerance ${tolerance})`;
      }
    }
    report.samples.push(sample);
  }
  return report;
}

/** The largest difference from the golden values, and by how much it passes the tolerance (0: within). */
export function compareWithGolden(golden: ArrayLike<number | bigint>, got: ArrayLike<number | bigint>, tolerance: number): { worst: number; worstExcess: number } {
  let worst = 0, worstExcess = 0;
  for (let i = 0; i < golden.length; i++) {
    const expected = Number(golden[i]); // int64 outputs come as bigints
    const diff = Math.abs(Number(got[i]) - expected);
    if (diff > worst) worst = diff;
    const excess = diff - tolerance * Math.max(1, Math.abs(expected));
    if (excess > worstExcess) worstExcess = excess;
  }
  return { worst, worstExcess };
}
