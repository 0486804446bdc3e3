import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { parseCommandArgs, UsageError } from './args.js';

const HELP = `Usage: framewatch dataset export --out <dir> --model <name> [options]

Writes a dataset for the next model version from reviewers' decisions: the best frame of
every decided segment (confirmed: labelled; dismissed: a hard negative) and a frame from
every missed range (to label), with a manifest. It asks a running server
(GET /v1/datasets/export), so it works the same in the embedded and the shared mode.

Options:
  --out <dir>          where to write (created; files in it are overwritten)
  --model <name>       the model whose jobs to export
  --version <n>        only jobs of this version
  --since <ISO date>   only jobs created at or after this time
  --format coco|yolo   COCO JSON (annotations.json) or Ultralytics YOLO (data.yaml) [coco]
  --redact <kinds>     mask these in every image: persons, text (or plates), faces, comma-separated
  --redact-style <s>   blur, pixelate or fill [blur]
  --url <url>          the server [http://127.0.0.1:$FRAMEWATCH_PORT or 8080]
  --token <token>      its API token [$FRAMEWATCH_API_TOKEN]`;

/** A tar entry's path inside `out`, or an error for one that would leave it. */
function inside(out: string, name: string): string {
  const path = normalize(name);
  if (isAbsolute(path) || path === '..' || path.startsWith(`..${sep}`)) throw new Error(`the archive entry '${name}' leaves the output directory`);
  return join(out, path);
}

export async function datasetCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    console.log(HELP);
    return 0;
  }
  if (sub !== 'export') throw new UsageError(`unknown subcommand '${sub ?? ''}': only 'export'`);
  const { values } = parseCommandArgs(rest, {
    out: { type: 'string' }, model: { type: 'string' }, version: { type: 'string' }, since: { type: 'string' },
    format: { type: 'string', default: 'coco' }, url: { type: 'string' }, token: { type: 'string' },
    redact: { type: 'string' }, 'redact-style': { type: 'string' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.out || !values.model) throw new UsageError('--out and --model are required');
  const base = values.url ?? `http://127.0.0.1:${process.env.FRAMEWATCH_PORT ?? 8080}`;
  const query = new URLSearchParams({ model: values.model, format: values.format! });
  if (values.version) query.set('version', values.version);
  if (values.since) query.set('since', values.since);
  if (values.redact) query.set('redact', values.redact);
  if (values['redact-style']) query.set('redactStyle', values['redact-style']);
  const token = values.token ?? process.env.FRAMEWATCH_API_TOKEN;
  const res = await fetch(`${base}/v1/datasets/export?${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }).catch((err: Error) => {
    throw new UsageError(`cannot reach the server at ${base}: ${err.cause ? String((err.cause as Error).message) : err.message}`);
  });
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
    console.error(`framewatch dataset: [${body.error?.code ?? res.status}] ${body.error?.message ?? res.statusText}`);
    return 1;
  }
  const files = await extractTo(values.out, Readable.fromWeb(res.body as never));
  console.log(`framewatch dataset: ${files} files written to ${values.out} (${values.format}); see manifest.json`);
  return 0;
}

/** Unpacks a tar stream into `out`; resolves with the number of files. */
async function extractTo(out: string, tar: Readable): Promise<number> {
  let files = 0;
  const unpack = extract();
  unpack.on('entry', (header, stream, next) => {
    const path = inside(out, header.name);
    mkdir(dirname(path), { recursive: true })
      .then(() => pipeline(stream, createWriteStream(path)))
      .then(() => {
        files++;
        next();
      }, (err: Error) => unpack.destroy(err));
  });
  await pipeline(tar, unpack);
  return files;
}
