import autocannon from 'autocannon';
import { readFile } from 'node:fs/promises';
import { sniffMedia } from '../media/sniff.js';
import { parseCommandArgs, UsageError } from './args.js';

const HELP = `Usage: framewatch loadtest <model|url> --file <image or video> [options]

Drives a running server with autocannon (its API, in this process) and prints, side by side,
what the clients saw (throughput, latency percentiles, status codes) and what the server
counted over the same run (its queue time, batch sizes, rejections, from /metrics). The
file is sent as a binary body with the content type its bytes say (image/jpeg, video/mp4, ...).

Options:
  --file <path>          the image or video to send (required)
  -c, --connections <n>  concurrent connections [4]
  -d, --duration <s>     seconds to run [10]
  --rate <n>             requests per second in all, instead of as fast as possible
  --server <url>         the server, when a model name is given [http://127.0.0.1:$FRAMEWATCH_PORT or 8080]
  --token <token>        its API token [$FRAMEWATCH_API_TOKEN]
  --p99-ms <ms>          exit 1 when the p99 latency is above this
  --max-error-rate <r>   exit 1 when non-2xx answers, errors and timeouts exceed this share [0]`;

const CONTENT_TYPES: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', tiff: 'image/tiff', avif: 'image/avif', mp4: 'video/mp4', mov: 'video/quicktime', matroska: 'video/x-matroska', avi: 'video/x-msvideo', ogg: 'video/ogg' };

/** Sums of each metric's samples for one model, from Prometheus text. */
export function metricSums(text: string, model: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || !(m[2] ?? '').includes(`model="${model}"`)) continue;
    const reason = /reason="([^"]+)"/.exec(m[2] ?? '')?.[1];
    const key = reason ? `${m[1]}:${reason}` : m[1];
    sums.set(key, (sums.get(key) ?? 0) + Number(m[3]));
  }
  return sums;
}

/** What the server counted between two /metrics readings. */
function serverDeltas(before: Map<string, number>, after: Map<string, number>) {
  const delta = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  const mean = (name: string, scale = 1) => (delta(`${name}_count`) > 0 ? (delta(`${name}_sum`) / delta(`${name}_count`)) * scale : undefined);
  return {
    batches: delta('framewatch_batch_size_count'),
    meanBatchSize: mean('framewatch_batch_size'),
    meanQueueMs: mean('framewatch_queue_duration_seconds', 1000),
    meanInferenceMs: mean('framewatch_inference_duration_seconds', 1000),
    rejectedQueueFull: delta('framewatch_requests_rejected_total:queue_full'),
    rejectedTimeout: delta('framewatch_requests_rejected_total:timeout'),
  };
}

const readMetrics = async (server: string, model: string) => {
  const res = await fetch(`${server}/metrics`).catch(() => undefined);
  return res?.ok ? metricSums(await res.text(), model) : undefined;
};

export async function loadtestCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    file: { type: 'string' }, connections: { type: 'string', short: 'c', default: '4' }, duration: { type: 'string', short: 'd', default: '10' },
    rate: { type: 'string' }, server: { type: 'string' }, token: { type: 'string' }, 'p99-ms': { type: 'string' }, 'max-error-rate': { type: 'string', default: '0' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const target = positionals[0];
  if (!target || !values.file) throw new UsageError('give a model (or a URL) and --file');
  const number = (name: string, v: string | undefined) => {
    const n = Number(v);
    if (v !== undefined && !(Number.isFinite(n) && n >= 0)) throw new UsageError(`--${name} must be a number, got '${v}'`);
    return v === undefined ? undefined : n;
  };
  // Every number checked before the run, not a typo found after it.
  const connections = number('connections', values.connections);
  const duration = number('duration', values.duration);
  const rate = number('rate', values.rate);
  const p99Ms = number('p99-ms', values['p99-ms']);
  const maxErrorRate = number('max-error-rate', values['max-error-rate'])!;
  const body = await readFile(values.file).catch((err: Error) => {
    throw new UsageError(`cannot read --file: ${err.message}`);
  });
  const media = sniffMedia(body);
  if (!media) throw new UsageError(`${values.file} is not an image or video framewatch reads`);
  const isUrl = /^https?:/.test(target);
  const server = (values.server ?? (isUrl ? new URL(target).origin : `http://127.0.0.1:${process.env.FRAMEWATCH_PORT ?? 8080}`)).replace(/\/$/, '');
  const model = isUrl ? /\/v1\/models\/([^/]+)/.exec(target)?.[1] ?? '' : target;
  const url = isUrl ? target : `${server}/v1/models/${target}/predict`;
  const token = values.token ?? process.env.FRAMEWATCH_API_TOKEN;
  const headers: Record<string, string> = { 'content-type': CONTENT_TYPES[media.format] ?? 'application/octet-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) };

  const before = await readMetrics(server, model);
  const r = await autocannon({
    url, method: 'POST', body, headers, connections, duration, overallRate: rate, timeout: 120,
  });
  const after = await readMetrics(server, model);
  const total = Object.values(r.statusCodeStats).reduce((sum, s) => sum + s.count, 0) + r.errors + r.timeouts;
  const ok2xx = Object.entries(r.statusCodeStats).filter(([code]) => code.startsWith('2')).reduce((sum, [, s]) => sum + s.count, 0);
  const errorRate = total ? (total - ok2xx) / total : 0;
  const server_ = before && after ? serverDeltas(before, after) : undefined;
  const f = (v: number | undefined, d = 1) => (v === undefined ? '-' : v.toFixed(d));
  const statuses = Object.entries(r.statusCodeStats).map(([code, s]) => `${code}: ${s.count}`).join(', ') || 'none';
  console.log([
    `loadtest ${url}, ${values.file} (${headers['content-type']}, ${body.length} bytes), ${values.connections} connections, ${r.duration ?? values.duration} s${values.rate ? `, ${values.rate} req/s` : ''}`,
    '',
    '| clients saw | | server counted (/metrics, this model) | |',
    '| --- | --- | --- | --- |',
    `| throughput | ${f(ok2xx / Number(values.duration))} req/s (2xx) | batches run | ${server_?.batches ?? '-'} |`,
    `| latency p50 / p90 / p99 | ${r.latency.p50} / ${r.latency.p90} / ${r.latency.p99} ms | mean batch size | ${f(server_?.meanBatchSize, 2)} |`,
    `| status codes | ${statuses} | mean queue time | ${f(server_?.meanQueueMs)} ms |`,
    `| errors / timeouts | ${r.errors} / ${r.timeouts} | mean inference per batch | ${f(server_?.meanInferenceMs)} ms |`,
    `| error rate | ${f(errorRate * 100, 2)}% | rejected: queue full / timeout | ${server_ ? `${server_.rejectedQueueFull} / ${server_.rejectedTimeout}` : '-'} |`,
  ].join('\n'));
  const misses = [
    ...(p99Ms !== undefined && r.latency.p99 > p99Ms ? [`p99 ${r.latency.p99} ms > ${p99Ms} ms`] : []),
    ...(errorRate > maxErrorRate ? [`error rate ${f(errorRate * 100, 2)}% > ${maxErrorRate * 100}%`] : []),
  ];
  if (misses.length) console.error(`loadtest: SLO missed: ${misses.join('; ')}`);
  return misses.length ? 1 : 0;
}
