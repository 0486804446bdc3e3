// The seven findings of the attack run (issue 13), each over real HTTP against a real server
// with both tokens set, plus the error path's catalogue rules.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { FramewatchError } from '../src/errors/index.js';
import { ffmpegPath } from '../src/media/ffmpeg.js';
import { sniffMedia } from '../src/media/sniff.js';
import { postprocessOutputs } from '../src/pipeline/postprocess.js';
import type { ReadyModel } from '../src/registry/index.js';
import { memoryLogger, parseRawReply, rawHttp, startTestServer } from './helpers/server.js';
import { knownTruthVideo, patternVideo } from './helpers/videos.js';

const TOKEN = 'hardening-api-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const ffmpeg = (args: string[]) => promisify(execFile)(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...args]);

let dir: string;
let server: RunningServer;
const log = memoryLogger();
let jpeg: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-hardening-'));
  jpeg = await readFile('test/fixtures/messi5.jpg');
  server = await startTestServer(
    { modelsDir: 'models', dataDir: join(dir, 'data'), apiToken: TOKEN, adminToken: 'hardening-admin-token-012345', bodyIdleTimeoutMs: 1000, maxVideoJobs: 1, maxQueuedVideoJobs: 2 },
    log,
  );
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const predictUrl = (model = 'object-detector') => `${server.url}/v1/models/${model}/predict`;
const postBytes = async (url: string, body: Uint8Array, type: string) => {
  const res = await fetch(url, { method: 'POST', body: body as BodyInit, headers: { 'content-type': type, ...AUTH } });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
};
const tmpFiles = () => readdir(join(dir, 'data', 'tmp'));
/** The temp directory once a cancelled job has unwound (its ffmpeg killed, its upload removed), or after 10 s. */
async function settledTmpFiles(): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  let files = await tmpFiles();
  while (files.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    files = await tmpFiles();
  }
  return files;
}

describe('1. a local file read through ffmpeg', () => {
  let canary: string;
  let transport: Buffer;

  beforeAll(async () => {
    // The canary: 20 s of red frames that must never appear in any answer.
    canary = join(dir, 'canary.ts');
    await ffmpeg(['-f', 'lavfi', '-i', 'color=c=red:s=320x240:r=10:d=20', '-c:v', 'libx264', '-f', 'mpegts', canary]);
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10:duration=1', '-c:v', 'libx264', '-f', 'mpegts', join(dir, 'short.ts')]);
    transport = await readFile(join(dir, 'short.ts'));
  });

  const playlist = () => `#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\n${canary}\n#EXT-X-ENDLIST\n#`;

  it('the crafted upload (ID3 + HLS playlist + MPEG-TS, sent as video/mp4) is refused and reads no other file', async () => {
    const crafted = Buffer.concat([Buffer.from('ID3\x04\0\0\0\0\0\0', 'latin1'), Buffer.from(playlist()), transport]);
    expect(sniffMedia(crafted)).toMatchObject({ kind: 'audio', demuxer: 'mp3' });
    const res = await postBytes(predictUrl(), crafted, 'video/mp4');
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(['NO_VIDEO_STREAM', 'INVALID_MEDIA']).toContain(res.body.error.code);
    expect(JSON.stringify(res.body)).not.toContain(canary);
    expect(await tmpFiles()).toEqual([]);
  });

  it.each([
    ['a bare playlist', () => Buffer.from(playlist())],
    ['an mp4 header in front of a playlist', () => Buffer.concat([Buffer.from('\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41', 'latin1'), Buffer.from(playlist())])],
    ['a concat script', () => Buffer.from(`ffconcat version 1.0\nfile '${canary}'\n`)],
  ])('%s is refused without opening the canary', async (_name, build) => {
    const res = await postBytes(predictUrl(), build(), 'video/mp4');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body.error.code).not.toBe('INTERNAL');
    expect(res.body.video).toBeUndefined(); // no frames were decoded from anywhere
    expect(await tmpFiles()).toEqual([]);
  });

  it('a bare MPEG-TS upload is not a named container: 415, ffprobe never runs on it', async () => {
    expect(sniffMedia(transport)).toBeUndefined();
    const res = await postBytes(predictUrl(), transport, 'video/mp2t');
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('2. idle uploads cannot lock a model out', () => {
  it('12 connections declaring 1 GiB and sending nothing: a normal request is still answered at its usual speed, then the idle ones get 408', async () => {
    const usual = performance.now();
    expect((await postBytes(predictUrl(), jpeg, 'image/jpeg')).status).toBe(200);
    const usualMs = performance.now() - usual;
    const head = `POST /v1/models/object-detector/predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: image/jpeg\r\nContent-Length: 1073741824\r\n\r\n`;
    const idle = Array.from({ length: 12 }, () => rawHttp(server.url, head, { end: false }));
    await new Promise((r) => setTimeout(r, 200));
    const started = performance.now();
    const res = await postBytes(predictUrl(), jpeg, 'image/jpeg');
    const tookMs = performance.now() - started;
    expect(res.status).toBe(200);
    expect(res.body.detections.length).toBeGreaterThan(0);
    expect(tookMs).toBeLessThan(Math.max(2000, 4 * usualMs));
    // bodyIdleTimeoutMs is 1 s here: each idle upload is answered and its connection closed.
    const replies = await Promise.all(idle.map((c) => c.reply));
    for (const reply of replies) {
      const { status, body } = parseRawReply(reply);
      expect(status).toBe(408);
      expect(body.error.code).toBe('REQUEST_TIMEOUT');
    }
  });
});

describe('3. one request cannot freeze the server', () => {
  const inferUrl = () => `${server.url}/v2/models/object-detector/infer`;

  /** Polls /healthz every 20 ms while `work` runs; resolves with the slowest answer in ms. */
  async function slowestHealthz(work: Promise<unknown>): Promise<number> {
    let done = false;
    let slowest = 0;
    const poll = (async () => {
      while (!done) {
        const t = performance.now();
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
        slowest = Math.max(slowest, performance.now() - t);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await work.finally(() => (done = true));
    await poll;
    return slowest;
  }

  it('a maximal JSON request (just under the 8 MiB limit) is rejected while /healthz answers within 200 ms', async () => {
    const count = 2_000_000; // "255," is 4 bytes a value: 8.0 MB of JSON
    const body = `{"inputs":[{"name":"image","shape":[1,512,512,3],"datatype":"UINT8","data":[${'255,'.repeat(count - 1)}255]}]}`;
    expect(body.length).toBeLessThan(8 * 1024 * 1024);
    expect(body.length).toBeGreaterThan(7.5 * 1024 * 1024);
    let answer: { status: number; body: any } | undefined;
    // Encoded before the clock starts: the client shares this process, and its work is not the server's.
    const bytes = Buffer.from(body);
    const request = fetch(inferUrl(), { method: 'POST', body: bytes as BodyInit, headers: { 'content-type': 'application/json', ...AUTH } })
      .then(async (res) => (answer = { status: res.status, body: await res.json() }));
    const slowest = await slowestHealthz(request);
    expect(answer!.status).toBe(400);
    expect(answer!.body.error).toMatch(/needs 786432 values, got more/);
    console.log(`slowest healthz ${slowest.toFixed(1)} ms`);
    expect(slowest).toBeLessThan(200);
  });

  it('a well-formed large JSON request is decoded off the main thread and gives what the binary form gives', async () => {
    const pixels = new Uint8Array(512 * 512 * 3).map((_, i) => (i * 7) % 256);
    const json = await fetch(inferUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...AUTH },
      body: JSON.stringify({ inputs: [{ name: 'image', shape: [1, 512, 512, 3], datatype: 'UINT8', data: Array.from(pixels) }] }),
    });
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'image', shape: [1, 512, 512, 3], datatype: 'UINT8', parameters: { binary_data_size: pixels.length } }] }));
    const binary = await fetch(inferUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length), ...AUTH },
      body: Buffer.concat([header, pixels]),
    });
    expect(json.status).toBe(200);
    expect(binary.status).toBe(200);
    expect(((await json.json()) as any).outputs).toEqual(((await binary.json()) as any).outputs);
  });

  it('a 62 MB JSON body is refused with 413 from its Content-Length, before a byte is read', async () => {
    const head = `POST /v2/models/object-detector/infer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 65011712\r\n\r\n`;
    const started = performance.now();
    const { reply, socket } = rawHttp(server.url, head, { end: false });
    const text = await Promise.race([reply, new Promise<string>((r) => setTimeout(() => r(''), 3000))]);
    socket.destroy();
    expect(performance.now() - started).toBeLessThan(3000);
    expect(parseRawReply(text).status).toBe(413);
  });
});

describe('4. bad percent-escapes are the client\'s error', () => {
  it.each([
    ['POST', '/v1/models/%ff/predict'],
    ['POST', '/v1/models/object-detector/versions/%ff/predict'],
    ['POST', '/v1/models/object-detector/labels/%ff/predict'],
    ['GET', '/v1/models/%ff'],
    ['GET', '/v1/jobs/%ff'],
    ['DELETE', '/v1/jobs/%E0%A4%A'],
  ])('%s %s is 400 INVALID_INPUT and logged below error level', async (method, path) => {
    const before = log.lines.length;
    const res = await fetch(`${server.url}${path}`, { method, headers: AUTH });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe('INVALID_INPUT');
    expect(log.lines.slice(before).filter((l) => l.level === 'error')).toEqual([]);
  });

  it.each(['/v2/models/%ff/infer', '/v2/models/%ff/ready'])('%s is 400 in the v2 error shape', async (path) => {
    const res = await fetch(`${server.url}${path}`, { method: path.endsWith('infer') ? 'POST' : 'GET', headers: AUTH });
    expect(res.status).toBe(400);
    expect(typeof ((await res.json()) as any).error).toBe('string');
  });
});

describe('5. the video backlog is bounded', () => {
  let long: Buffer;
  beforeAll(async () => {
    await patternVideo(join(dir, 'long.mp4'), 120);
    long = await readFile(join(dir, 'long.mp4'));
  });

  it('past FRAMEWATCH_MAX_QUEUED_VIDEO_JOBS (2 here), async uploads get 503 QUEUE_FULL with Retry-After; nothing is left behind', async () => {
    const submit = () => postBytes(`${predictUrl()}?mode=async&fps=4`, long, 'video/mp4');
    const first = await submit();
    const second = await submit();
    expect([first.status, second.status]).toEqual([202, 202]);
    const third = await submit();
    expect(third.status).toBe(503);
    expect(third.body.error.code).toBe('QUEUE_FULL');
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await tmpFiles()).toHaveLength(2); // the two accepted uploads only
    for (const job of [first, second]) await fetch(`${server.url}/v1/jobs/${job.body.jobId}`, { method: 'DELETE', headers: AUTH });
    expect(await tmpFiles()).toEqual([]);
    const again = await submit(); // room again
    expect(again.status).toBe(202);
    await fetch(`${server.url}/v1/jobs/${again.body.jobId}`, { method: 'DELETE', headers: AUTH });
  });

  it('past FRAMEWATCH_MAX_QUEUED_VIDEO_BYTES an upload is refused as soon as its first bytes say video', async () => {
    const small = await startTestServer({ modelsDir: 'models', dataDir: join(dir, 'bytes-data'), maxQueuedVideoBytes: Math.floor(long.length * 1.5) });
    try {
      const url = `${small.url}/v1/models/object-detector/predict?mode=async&fps=4`;
      const send = () => fetch(url, { method: 'POST', body: long as BodyInit, headers: { 'content-type': 'video/mp4' } });
      const first = await send();
      expect(first.status).toBe(202);
      const refused = await send();
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as any).error.code).toBe('QUEUE_FULL');
      expect(refused.headers.get('retry-after')).toBe('30');
      await fetch(`${small.url}/v1/jobs/${((await first.json()) as any).jobId}`, { method: 'DELETE' });
      expect(await readdir(join(dir, 'bytes-data', 'tmp'))).toEqual([]);
    } finally {
      await small.close();
    }
  });
});

describe('6. the HTTP parser\'s own refusals carry the JSON error', () => {
  it('a 100 KB URL is 431 HEADERS_TOO_LARGE with the documented body', async () => {
    const { reply } = rawHttp(server.url, `GET /v1/models/${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const { status, body } = parseRawReply(await reply);
    expect(status).toBe(431);
    expect(body.error.code).toBe('HEADERS_TOO_LARGE');
  });

  it('a malformed chunked body is 400 INVALID_INPUT with the documented body, and nothing is left behind', async () => {
    const { reply } = rawHttp(
      server.url,
      `POST /v1/models/object-detector/predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n`,
    );
    const { status, body } = parseRawReply(await reply);
    expect(status).toBe(400);
    expect(body.error.code).toBe('INVALID_INPUT');
    expect(await tmpFiles()).toEqual([]);
    expect((await postBytes(predictUrl(), jpeg, 'image/jpeg')).status).toBe(200);
  });
});

describe('7. a dropped request is logged and counted as what it was', () => {
  it('a sync video request whose client leaves is logged and counted as 499, not 200', async () => {
    await knownTruthVideo(join(dir, 'truth.mp4'));
    const video = await readFile(join(dir, 'truth.mp4'));
    const before = log.lines.length;
    const controller = new AbortController();
    const request = fetch(`${predictUrl()}?fps=5`, { method: 'POST', body: video as BodyInit, headers: { 'content-type': 'video/mp4', ...AUTH }, signal: controller.signal });
    await new Promise((r) => setTimeout(r, 800));
    controller.abort();
    await expect(request).rejects.toThrow();
    const deadline = Date.now() + 10_000;
    let line: (typeof log.lines)[number] | undefined;
    while (!line && Date.now() < deadline) {
      line = log.lines.slice(before).find((l) => l.msg === 'request' && l.route === '/v1/models/:name/predict');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(line).toMatchObject({ status: 499, outcome: 'client closed the connection' });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/framewatch_http_requests_total\{route="\/v1\/models\/:name\/predict",method="POST",status="499"\} [1-9]/);
    // The dropped request's job was cancelled: its upload goes once the job has unwound.
    expect(await settledTmpFiles()).toEqual([]);
  });
});

describe('one error path', () => {
  it('a task that throws a plain Error reaches the client as INFERENCE_FAILED', () => {
    const model = {
      params: {},
      session: { outputs: [] },
      manifest: { labels: [] },
      task: { postprocess: () => { throw new TypeError("Cannot read properties of undefined (reading 'dims')"); } },
    } as unknown as ReadyModel;
    let thrown: unknown;
    try {
      postprocessOutputs(model, {}, { scaleX: 1, scaleY: 1, padX: 0, padY: 0, sourceWidth: 1, sourceHeight: 1 } as never);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(FramewatchError);
    expect((thrown as FramewatchError).code).toBe('INFERENCE_FAILED');
  });

  it('leaves no temp file and no ffmpeg process behind after the requests above', async () => {
    expect(await settledTmpFiles()).toEqual([]);
    const { stdout } = await promisify(execFile)('ps', ['-eo', 'args']);
    expect(stdout.split('\n').filter((l) => l.includes(ffmpegPath()) && l.includes(dir))).toEqual([]);
  });
});
