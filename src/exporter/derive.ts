import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Manifest } from '../registry/index.js';
import { quantizeQdq, type ActivationRanges, type QuantizeOptions } from './onnx/quantize.js';
import { exportModel, manifestExportFields, type ExportResult } from './export.js';
import type { ImageDecoder } from './golden.js';

/** Beside an int8 version's manifest: the activation ranges and options it was quantized with. */
export const QUANTIZATION_FILE = 'quantization.json';

/** The int8 variant tune offers: u8 activations, per-channel weights, the convolutions (bench:int8 measured it best). */
export const INT8_OPTIONS: QuantizeOptions = { activations: 'u8', perChannel: true };

/** A derived version's model bytes again, from its source file and its committed QUANTIZATION_FILE. */
export async function derivedBytes(source: Uint8Array, variant: 'copy' | 'int8', versionDir: string): Promise<Uint8Array> {
  if (variant === 'copy') return source;
  const { options, ranges } = JSON.parse(await readFile(join(versionDir, QUANTIZATION_FILE), 'utf8')) as { options: QuantizeOptions; ranges: ActivationRanges };
  return quantizeQdq(source, ranges, options);
}

export interface DeriveOptions {
  modelsDir: string;
  /** The version derived from: its folder and manifest. */
  from: { dir: string; manifest: Manifest };
  /** Default: one above the highest existing version. */
  version?: number;
  derived: { bytes: Uint8Array; variant: 'copy' | 'int8' };
  runtime?: Manifest['runtime'];
  serving?: Manifest['serving'];
  description: string;
  /** More files for the version folder: the tuning record, the quantization ranges. */
  files: Record<string, string>;
  decode: ImageDecoder;
  createdAt?: Date;
}

/**
 * Writes a new version of a model derived from another (`framewatch tune`): the same task,
 * processing, labels and golden samples, a model file as given (the source's, or its int8
 * variant), and its tuned settings. The exporter writes its golden outputs and drift reference
 * anew, so the skew guard replays the derived file exactly.
 */
export function deriveVersion(o: DeriveOptions): Promise<ExportResult> {
  const m = o.from.manifest;
  return exportModel({
    modelsDir: o.modelsDir,
    sourcePath: join(o.from.dir, m.file.name),
    sourceFormat: 'version',
    sourceLabel: `${m.name}/${m.version}`,
    derived: o.derived,
    ...(m.source.license ? { sourceLicense: m.source.license } : {}),
    ...manifestExportFields(m, o.from.dir),
    version: o.version,
    description: o.description,
    decode: o.decode,
    createdAt: o.createdAt,
    ...(o.serving ? { serving: o.serving } : {}),
    ...(o.runtime ? { runtime: o.runtime } : {}),
    files: o.files,
  });
}
