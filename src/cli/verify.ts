import { loadConfig } from '../config/index.js';
import { createLogger } from '../logging/logger.js';
import { checkAudioSkew, checkSkew, readManifest, SKEW_TOLERANCE } from '../registry/index.js';
import { getTask } from '../tasks/index.js';
import { createSession } from '../runtime/index.js';
import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { imageLoader, sessionSettings } from './config-options.js';
import { parseCommandArgs, UsageError } from './args.js';

export const VERIFY_HELP = `Usage: framewatch verify <name>[@<version>] [--tolerance T] [--models-dir DIR]

Replays the version's golden samples through the serving path (decode, shared preprocessing,
ONNX Runtime on this machine's provider) and compares with the outputs the exporter stored.
Prints the max difference per output; exits 1 on SKEW_DETECTED.`;

export async function verifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { tolerance: { type: 'string' }, 'models-dir': { type: 'string' } });
  if (values.help) {
    console.log(VERIFY_HELP);
    return 0;
  }
  if (!positionals[0]) throw new UsageError('give a model as <name>[@<version>]');
  const config = loadConfig(process.env, { modelsDir: values['models-dir'] });
  const [name, versionText] = positionals[0].split('@');
  const versions = (await readdir(join(config.modelsDir, name)).catch(() => [] as string[])).filter((v) => /^[1-9]\d*$/.test(v)).map(Number);
  const version = versionText ? Number(versionText) : Math.max(...versions);
  if (versions.length === 0) throw new UsageError(`no model '${name}' in ${config.modelsDir} (framewatch verify <name>[@<version>]; the models are the folders there)`);
  if (!versions.includes(version)) throw new UsageError(`'${name}' has no version ${versionText}; it has ${versions.sort((a, b) => a - b).join(', ')}`);
  const dir = join(config.modelsDir, name, String(version));
  const { manifest, problem } = await readManifest(dir, name, version);
  if (!manifest) throw new UsageError(problem ?? 'manifest unreadable');
  const session = await createSession(join(dir, manifest.file.name), { ...sessionSettings(config), logger: createLogger('warn') });
  try {
    const tolerance = values.tolerance ? Number(values.tolerance) : config.skewTolerance ?? SKEW_TOLERANCE[session.provider];
    const report = getTask(manifest.task).inputKind === 'audio'
      ? await checkAudioSkew(dir, manifest, session, tolerance)
      : await checkSkew(dir, manifest, session, imageLoader(config), tolerance);
    console.log(`${name}@${version} on ${session.provider}, tolerance ${tolerance}`);
    for (const s of report.samples) for (const o of s.outputs) console.log(`  ${s.input}  ${o.name}: max |diff| ${o.maxAbsDiff.toExponential(3)} over ${o.elements} values`);
    console.log(report.ok ? 'OK: serving reproduces the exporter' : `SKEW_DETECTED: ${report.reason}`);
    return report.ok ? 0 : 1;
  } finally {
    await session.release();
  }
}
