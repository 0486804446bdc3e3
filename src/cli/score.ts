import { createReadStream, existsSync } from 'node:fs';
import { appendFile, readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../logging/logger.js';
import { DEFAULT_MOTION_MAX_SKIP_S, defaultReviewLabels, loadedVoiceModel, reviewLabels, SAMPLING_MODES, scoreFile, videoRecord, VOICE_MODEL, type SamplingMode, type ScoreRecord } from '../pipeline/index.js';
import { createRepository, sha256File } from '../registry/index.js';
import { imageLoader, sessionSettings } from './config-options.js';
import { parseCommandArgs, UsageError } from './args.js';
import { recordsToCsv, CSV_HEADER } from './score-format.js';
import { servedResultSchema } from '../shared/job-result.js';
import { profileSchema, type Profile } from '../shared/profile.js';

export const SCORE_HELP = `Usage: framewatch score <files|dirs|globs...> --model <name>[@<version>] [--out results.jsonl]
                       [--format jsonl|csv] [--concurrency N] [--server URL] [--allow-failures]
                       [--fps N] [--labels a,b|*] [--pad S] [--merge-gap S] [--threshold T]
                       [--sampling auto|exact|keyframes] [--motion] [--profile rules.json]

Scores images and videos with the same pipeline as the server (in process), or sends them to a
running framewatch with --server. One record per file: path, sha256, model, detections (images)
or segments and review (videos), timings, or the error code of a file that failed.
Videos are sampled as the server samples them: --sampling auto (the default) decodes only
keyframes when they come at least as often as --fps asks; --motion skips frames where
nothing moved. --profile takes a review profile (JSON, docs/review.md): video segments then
come from its rules, and each record carries the rules' events.
Re-running with the same --out skips files already scored (by sha256).
Exit code 0 only when every file scored, unless --allow-failures.`;

/** Expands files, directories (recursively) and simple globs (* and ?) into file paths. */
export async function expandInputs(inputs: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, match?: RegExp) => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path, match);
      else if (entry.isFile() && (match ? match.test(path) : true)) out.push(path);
    }
  };
  for (const input of inputs) {
    if (/[*?]/.test(input)) {
      const root = input.slice(0, input.search(/[*?]/)).replace(/[^/]*$/, '') || '.';
      const re = new RegExp(`^${input.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\/?/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\u0000/g, '(?:.*/)?')}$`);
      await walk(root, re);
    } else if ((await stat(input)).isDirectory()) await walk(input);
    else out.push(input);
  }
  return [...new Set(out)];
}

/** sha256s already in an output file (JSONL records or CSV rows), for resuming. */
async function scoredAlready(out: string, format: 'jsonl' | 'csv'): Promise<Set<string>> {
  const done = new Set<string>();
  if (!existsSync(out)) return done;
  for await (const line of createInterface({ input: createReadStream(out) })) {
    if (!line.trim()) continue;
    if (format === 'jsonl') {
      try {
        done.add((JSON.parse(line) as ScoreRecord).sha256);
      } catch {
        // a line cut short by a kill: that file is scored again
      }
    } else {
      const sha = line.split(',')[1];
      if (/^[0-9a-f]{64}$/.test(sha ?? '')) done.add(sha);
    }
  }
  return done;
}

/** A review profile from a JSON file, validated as the server validates one. */
async function readProfile(path: string): Promise<Profile> {
  const parsed = profileSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
  if (!parsed.success) throw new UsageError(`--profile ${path}: ${parsed.error.issues.map((i) => `'${i.path.join('.')}' ${i.message}`).join('; ')}`);
  return parsed.data;
}

async function scoreViaServer(server: string, model: string, version: number | undefined, path: string, sha256: string, query: URLSearchParams, fields: Record<string, string>): Promise<ScoreRecord> {
  const form = new FormData();
  for (const [field, value] of Object.entries(fields)) form.append(field, value);
  form.append('file', new Blob([await readFile(path)]), basename(path));
  const url = `${server.replace(/\/$/, '')}/v1/models/${model}${version ? `/versions/${version}` : ''}/predict?${query}`;
  const res = await fetch(url, { method: 'POST', body: form });
  const body = (await res.json()) as any;
  const base = { path, sha256, model: body.model ?? { name: model, version: version ?? 0 } };
  if (!res.ok) return { ...base, kind: 'unknown', error: body.error ?? { code: 'INTERNAL', message: `HTTP ${res.status}` } };
  if (body.segments) {
    // Another version of the server may answer: the video's record is read through the contract.
    const video = servedResultSchema.safeParse(body);
    return video.success ? videoRecord(base, video.data) : { ...base, kind: 'video', error: { code: 'INTERNAL', message: `the server's video answer does not match the job result: ${video.error.issues[0]?.message}` } };
  }
  return { ...base, kind: 'image', detections: body.detections, frames: 1, timings: body.timings };
}

export async function scoreCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    model: { type: 'string' },
    out: { type: 'string' },
    format: { type: 'string' },
    concurrency: { type: 'string', default: '2' },
    server: { type: 'string' },
    'allow-failures': { type: 'boolean', default: false },
    fps: { type: 'string', default: '2' },
    labels: { type: 'string' },
    pad: { type: 'string', default: '1' },
    'merge-gap': { type: 'string', default: '2' },
    threshold: { type: 'string' },
    sampling: { type: 'string', default: 'auto' },
    motion: { type: 'boolean', default: false },
    profile: { type: 'string' },
    'models-dir': { type: 'string' },
  });
  if (values.help) {
    console.log(SCORE_HELP);
    return 0;
  }
  if (!values.model) throw new UsageError('--model is required');
  if (positionals.length === 0) throw new UsageError('give at least one file, directory or glob');
  const [name, versionText] = values.model.split('@');
  const version = versionText ? Number(versionText) : undefined;
  const format = (values.format ?? (values.out?.endsWith('.csv') ? 'csv' : 'jsonl')) as 'jsonl' | 'csv';
  if (format !== 'jsonl' && format !== 'csv') throw new UsageError(`--format must be jsonl or csv, got '${format}'`);
  const concurrency = Math.max(1, Number(values.concurrency) || 1);
  const sampling = values.sampling as SamplingMode;
  if (!SAMPLING_MODES.includes(sampling)) throw new UsageError(`--sampling must be one of ${SAMPLING_MODES.join(', ')}, got '${sampling}'`);
  const config = loadConfig(process.env, { modelsDir: values['models-dir'], logLevel: process.env.FRAMEWATCH_LOG_LEVEL ?? 'warn' });
  const threshold = values.threshold === undefined ? undefined : Number(values.threshold);
  const profile = values.profile === undefined ? undefined : await readProfile(values.profile);
  const video = {
    fps: Number(values.fps), startS: 0, pad: Number(values.pad), mergeGap: Number(values['merge-gap']),
    labels: values.labels?.split(',').filter(Boolean), decodeThreads: config.videoDecodeThreads,
    sampling, motion: { enabled: values.motion, maxSkipS: DEFAULT_MOTION_MAX_SKIP_S }, profile,
  };

  const files = await expandInputs(positionals);
  const out = values.out ? resolve(values.out) : undefined;
  const done = out ? await scoredAlready(out, format) : new Set<string>();
  if (out && format === 'csv' && !existsSync(out)) await appendFile(out, `${CSV_HEADER}\n`);

  let score: (path: string, sha256: string) => Promise<ScoreRecord>;
  let close = async () => undefined as void;
  if (values.server) {
    const query = new URLSearchParams({
      fps: String(video.fps), pad: String(video.pad), mergeGap: String(video.mergeGap), sampling, motion: String(values.motion), frames: 'false', mode: 'sync',
    });
    if (video.labels) query.set('labels', video.labels.join(','));
    if (threshold !== undefined) query.set('threshold', String(threshold));
    const fields: Record<string, string> = profile ? { rules: JSON.stringify(profile) } : {};
    score = (path, sha256) => scoreViaServer(values.server!, name, version, path, sha256, query, fields);
  } else {
    // Load just this model, or a pipeline and the models its steps pin, and the voice model videos hear speech with.
    const repository = createRepository({
      root: config.modelsDir, ...sessionSettings(config), logger: createLogger(config.logLevel), batching: config,
      decode: imageLoader(config), only: (n) => n === name || n === VOICE_MODEL,
    });
    await repository.loadAll();
    let model;
    try {
      model = repository.resolveTarget(name, version);
    } catch (err) {
      // Loaded sessions hold worker threads: release them, or the process never exits.
      await repository.close();
      throw err;
    }
    // No --labels: the model's review defaults, as the server applies them.
    const videoOptions = { ...video, labels: reviewLabels(video.labels, defaultReviewLabels(model)), voice: loadedVoiceModel(repository) };
    score = (path, sha256) => scoreFile(model, path, { maxPixels: config.maxImagePixels, threshold, video: videoOptions, sha256 });
    close = () => repository.close();
  }

  const started = Date.now();
  const totals = { files: 0, skipped: 0, frames: 0, detections: 0, failures: 0 };
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  const progress = (final = false) => {
    const seconds = (Date.now() - started) / 1000;
    const doneCount = totals.files + totals.skipped;
    const fps = totals.frames / Math.max(seconds, 1e-3);
    const eta = totals.files ? ((files.length - doneCount) * seconds) / totals.files : 0;
    const text = `${doneCount}/${files.length} files, ${fps.toFixed(1)} frames/s, ETA ${Math.round(eta)} s, ${totals.failures} failed`;
    if (tty) {
      const width = 24;
      const filled = Math.round((doneCount / Math.max(files.length, 1)) * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}${final ? '\n' : ''}`);
    } else if (final || Date.now() - lastLine > 2000) {
      lastLine = Date.now();
      process.stderr.write(`score: ${text}\n`);
    }
  };

  const write = async (record: ScoreRecord) => {
    const text = format === 'jsonl' ? `${JSON.stringify(record)}\n` : recordsToCsv(record);
    if (out) await appendFile(out, text);
    else process.stdout.write(text);
  };

  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const path = files[next++];
      // Hashed once: for resuming and for the record (a video can be gigabytes).
      const sha256 = await sha256File(path);
      if (done.has(sha256)) {
        totals.skipped++;
        continue;
      }
      const record = await score(path, sha256);
      totals.files++;
      totals.frames += record.frames ?? 0;
      totals.detections += record.detections?.length ?? record.segments?.length ?? 0;
      if (record.error) totals.failures++;
      await write(record);
      progress();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  } finally {
    await close();
  }
  progress(true);
  const seconds = (Date.now() - started) / 1000;
  process.stderr.write(
    `score: ${totals.files} files scored, ${totals.skipped} already in ${out ? basename(out) : 'output'}, ${totals.frames} frames, ` +
      `${totals.detections} detections or segments, ${totals.failures} failed, ${(totals.frames / Math.max(seconds, 1e-3)).toFixed(1)} frames/s, ` +
      `output: ${out ?? 'stdout'}\n`,
  );
  return totals.failures === 0 || values['allow-failures'] ? 0 : 1;
}
