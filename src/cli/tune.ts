import { writeFile } from 'node:fs/promises';
import { loadConfig } from '../config/index.js';
import { tune, type TuningRecord } from '../tuning/index.js';
import { parseCommandArgs, UsageError } from './args.js';

export const TUNE_HELP = `Usage: framewatch tune <name>[@<version>] [--version N] [--holdout DIR] [--video FILE]
                      [--calibration DIR] [--no-int8] [--concurrency N] [--seconds S] [--rounds R]
                      [--dry-run] [--record FILE] [--models-dir DIR]

Measures ONNX Runtime's settings for a model version on this machine, one knob at a time,
each stage's candidates side by side in alternating rounds: graph optimization level,
execution mode, threads x instances, batch size, an int8 variant (static QDQ, activation
ranges calibrated on the golden, held-out and --calibration images), and (with --video) the
video session's threads. The winner must keep parity with the version on the golden samples and the held-out
images; it is written as the next version, with its record in tuning.json. Nothing is written
when no candidate wins by 3%, when parity fails, or with --dry-run.
  --holdout      folder of images for the parity check beside the golden samples
  --video        a clip whose frames measure the video (bulk and worker) session's threads
  --calibration  more images to calibrate the int8 variant with; --no-int8 skips that stage
  --concurrency  requests in flight while measuring images (default 4)
  --seconds      seconds per candidate per round (default 3); --rounds: rounds (default 3)
  --record       also write the tuning record to FILE`;

const positive = (value: string | undefined, flag: string, fallback: number) => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`${flag} must be a positive number, got '${value}'`);
  return n;
};

function summary(r: TuningRecord): string {
  const w = r.winner;
  const outcome = 'written' in r.outcome ? `written as ${r.from.name}@${r.outcome.written}` : `no version written: ${r.outcome.notWritten}`;
  const failed = r.parity.images.filter((p) => !p.ok).map((p) => p.image);
  return [
    `winner: ${w.variant === 'int8' ? 'int8, ' : ''}level ${w.graph.graphOptimizationLevel}, ${w.graph.executionMode} (${w.graph.interOpThreads} inter-op), ${w.intraOpThreads} threads${w.instances > 1 ? ` + ${w.instanceThreads} x ${w.instances - 1} more sessions` : ''}, batch ${w.maxBatchSize}${w.bulkIntraOpThreads ? `, video on ${w.bulkIntraOpThreads} threads` : ''}`,
    `${r.speedup.toFixed(2)}x the images/s of ${r.from.name}@${r.from.version}'s current settings, side by side`,
    `parity on ${r.parity.images.length} images: ${r.parity.ok ? 'kept' : `FAILED on ${failed.join(', ')}`}`,
    outcome,
  ].join('\n');
}

export async function tuneCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    version: { type: 'string' }, holdout: { type: 'string' }, video: { type: 'string' }, concurrency: { type: 'string' },
    seconds: { type: 'string' }, rounds: { type: 'string' }, calibration: { type: 'string' }, 'no-int8': { type: 'boolean' }, 'dry-run': { type: 'boolean' }, record: { type: 'string' }, 'models-dir': { type: 'string' },
  });
  if (values.help) {
    console.log(TUNE_HELP);
    return 0;
  }
  if (!positionals[0]) throw new UsageError('give a model as <name>[@<version>]');
  const [name, versionText] = positionals[0].split('@');
  const version = versionText ?? values.version;
  const config = loadConfig(process.env, { modelsDir: values['models-dir'] });
  const record = await tune({
    modelsDir: config.modelsDir,
    name,
    version: version === undefined ? undefined : positive(version, '--version', 1),
    device: config.device,
    maxImagePixels: config.maxImagePixels,
    holdoutDir: values.holdout,
    videoPath: values.video,
    calibrationDir: values.calibration,
    int8: !values['no-int8'],
    measure: {
      device: config.device,
      concurrency: positive(values.concurrency, '--concurrency', 4),
      secondsPerRound: positive(values.seconds, '--seconds', 3),
      rounds: positive(values.rounds, '--rounds', 3),
    },
    dryRun: values['dry-run'],
    log: (line) => console.log(line),
  });
  if (values.record) await writeFile(values.record, `${JSON.stringify(record, null, 2)}\n`);
  console.log(summary(record));
  return record.parity.ok ? 0 : 1;
}
