// Seeded mutation fuzzing of the upload boundary: fixture images and small videos with bit
// flips, truncations, header edits, container swaps and splices, plus crafted playlist and
// concat uploads, all sent to one real server. Every answer must be a documented 2xx or 4xx.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { ERROR_CATALOGUE } from '../src/errors/index.js';
import { ffmpegPath } from '../src/media/ffmpeg.js';
import { startTestServer } from './helpers/server.js';

/** Mutated inputs per run; the seed is fixed so a failure replays exactly (FUZZ_SEED overrides). */
const CASES = 520;
const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const BATCH = 40;
const CONCURRENCY = 4;

const ffmpeg = (args: string[]) => promisify(execFile)(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...args]);

/** mulberry32: a small, seedable PRNG. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] };
}
type Rng = ReturnType<typeof prng>;

interface Seed {
  name: string;
  bytes: Buffer;
  kind: 'image' | 'video';
}

const MAGICS: Record<string, Buffer> = {
  jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
  png: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  gif: Buffer.from('GIF89a'),
  webp: Buffer.from('RIFF\x10\0\0\0WEBPVP8 ', 'latin1'),
  avi: Buffer.from('RIFF\x10\0\0\0AVI LIST', 'latin1'),
  mp4: Buffer.from('\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41', 'latin1'),
  mkv: Buffer.from([0x1a, 0x45, 0xdf, 0xa3]),
  ogg: Buffer.from('OggS\0\x02', 'latin1'),
  id3: Buffer.from('ID3\x04\0\0\0\0\0\0', 'latin1'),
};

/** The mutation operators; each returns a new buffer. */
const MUTATIONS: Record<string, (b: Buffer, r: Rng, seeds: Seed[]) => Buffer> = {
  bitFlips(b, r) {
    const out = Buffer.from(b);
    for (let i = 0, n = 1 + r.int(32); i < n; i++) out[r.int(out.length)] ^= 1 << r.int(8);
    return out;
  },
  truncate(b, r) {
    return b.subarray(0, r.int(b.length));
  },
  headerEdit(b, r) {
    const out = Buffer.from(b);
    const end = Math.min(out.length, 256);
    for (let i = 0, n = 1 + r.int(8); i < n; i++) out[r.int(end)] = r.pick([0x00, 0xff, 0x7f, 0x80, r.int(256)]);
    return out;
  },
  containerSwap(b, r) {
    const magic = MAGICS[r.pick(Object.keys(MAGICS))];
    return r.next() < 0.5 ? Buffer.concat([magic, b.subarray(magic.length)]) : Buffer.concat([magic, b]);
  },
  splice(b, r, seeds) {
    const other = r.pick(seeds).bytes;
    const at = r.int(b.length), from = r.int(other.length);
    return Buffer.concat([b.subarray(0, at), other.subarray(from, from + r.int(4096)), b.subarray(at)]);
  },
  zeroRun(b, r) {
    const out = Buffer.from(b);
    const at = r.int(out.length);
    out.fill(r.pick([0, 0xff]), at, Math.min(out.length, at + 1 + r.int(2048)));
    return out;
  },
};

let dir: string;
let server: RunningServer;
let seeds: Seed[];
let canary: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-fuzz-'));
  canary = join(dir, 'canary.mkv'); // 30 s of content: would show as many sampled frames if ever read
  const clip = join(dir, 'clip.mp4');
  await Promise.all([
    ffmpeg(['-f', 'lavfi', '-i', 'color=c=red:s=160x120:r=10:d=30', '-c:v', 'libx264', canary]),
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10:duration=2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '10', clip]),
  ]);
  await Promise.all([
    ffmpeg(['-i', clip, '-c:v', 'copy', join(dir, 'clip.mkv')]),
    ffmpeg(['-i', clip, '-c:v', 'mpeg4', '-q:v', '6', join(dir, 'clip.avi')]),
  ]);
  const small = (f: string) => sharp(`test/fixtures/${f}`).resize({ width: 200 });
  seeds = [
    { name: 'messi5.jpg', bytes: await small('messi5.jpg').jpeg().toBuffer(), kind: 'image' },
    { name: 'fruits.png', bytes: await small('fruits.jpg').png().toBuffer(), kind: 'image' },
    { name: 'home.webp', bytes: await small('home.jpg').webp().toBuffer(), kind: 'image' },
    { name: 'text.gif', bytes: await small('imageTextN.png').gif().toBuffer(), kind: 'image' },
    { name: 'basketball.tiff', bytes: await small('basketball1.png').tiff().toBuffer(), kind: 'image' },
    ...(await Promise.all(['clip.mp4', 'clip.mkv', 'clip.avi'].map(async (name) => ({ name, bytes: await readFile(join(dir, name)), kind: 'video' as const })))),
  ];
  server = await startTestServer({ modelsDir: 'models', dataDir: join(dir, 'data'), maxQueuedVideoJobs: 64 });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Uploads that name other files: playlists, concat scripts and image sequences, bare or behind a header. */
function craftedCases(): Array<{ name: string; bytes: Buffer }> {
  const playlist = `#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\n${canary}\n#EXT-X-ENDLIST\n#`;
  const concat = `ffconcat version 1.0\nfile '${canary}'\n`;
  const bodies = { playlist, concat, sequence: `${dir}/frame-%03d.png`, fileUrl: `file:${canary}` };
  const cases: Array<{ name: string; bytes: Buffer }> = [];
  for (const [kind, text] of Object.entries(bodies)) {
    for (const [magic, head] of Object.entries({ none: Buffer.alloc(0), ...MAGICS })) {
      cases.push({ name: `${kind} behind ${magic}`, bytes: Buffer.concat([head, Buffer.from(text), seeds[5].bytes.subarray(0, 2048)]) });
    }
  }
  return cases;
}

function mutatedCases(count: number): Array<{ name: string; bytes: Buffer }> {
  const r = prng(SEED);
  return Array.from({ length: count }, (_, i) => {
    const seed = seeds[i % seeds.length];
    let bytes = seed.bytes;
    const applied: string[] = [];
    for (let k = 0, n = 1 + r.int(3); k < n; k++) {
      const op = r.pick(Object.keys(MUTATIONS));
      bytes = MUTATIONS[op](bytes, r, seeds);
      applied.push(op);
    }
    return { name: `#${i} ${seed.name} ${applied.join('+')}`, bytes };
  });
}

const TYPES = ['image/jpeg', 'image/png', 'video/mp4', 'video/x-matroska', 'application/octet-stream'];

async function send(bytes: Buffer, type: string) {
  // fps=1 and maxFrames=4: a mutated 2 s clip costs a few inferences at most.
  const res = await fetch(`${server.url}/v1/models/text-detector/predict?fps=1&maxFrames=4&mode=sync`, { method: 'POST', body: bytes as BodyInit, headers: { 'content-type': type } });
  const text = await res.text();
  return { status: res.status, text };
}

describe('fuzzing the upload boundary', () => {
  it(`${CASES} seeded mutations and the crafted cases: no 5xx, the documented error shape, no file read, nothing left behind`, async () => {
    const cases = [...craftedCases(), ...mutatedCases(CASES)];
    const r = prng(SEED + 1);
    const statuses = new Map<number, number>();
    for (let start = 0; start < cases.length; start += BATCH) {
      const batch = cases.slice(start, start + BATCH);
      let next = 0;
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < batch.length) {
          const c = batch[next++];
          const { status, text } = await send(c.bytes, r.pick(TYPES));
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          expect(status, `${c.name}: ${text}`).toBeLessThan(500);
          const body = JSON.parse(text);
          if (status >= 400) {
            expect(Object.keys(ERROR_CATALOGUE), c.name).toContain(body.error?.code);
            expect(typeof body.error.message).toBe('string');
            expect(text).not.toMatch(/\bat .*\.(js|ts):\d+/);
          } else if (body.video) {
            // A 2 s clip sampled at 1 fps: more frames than that could only come from another file.
            expect(body.video.framesSampled, c.name).toBeLessThanOrEqual(4);
          }
        }
      }));
      // After each batch the server still answers a good request.
      const good = await send(seeds[0].bytes, 'image/jpeg');
      expect(good.status).toBe(200);
    }
    expect(cases.length).toBeGreaterThanOrEqual(500);
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
    expect(await readdir(join(dir, 'data', 'tmp'))).toEqual([]);
    const { stdout } = await promisify(execFile)('ps', ['-eo', 'args']);
    expect(stdout.split('\n').filter((l) => l.includes(ffmpegPath()) && l.includes(dir))).toEqual([]);
    console.log(`fuzz: ${cases.length} inputs, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  });
});
