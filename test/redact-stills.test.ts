import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import sharp from 'sharp';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { boxAt, DEFAULT_MASK_TIMING, dilate, type MaskBox } from '../src/pipeline/redaction/plan.js';
import { postFile, scratchRepository, startTestServer } from './helpers/server.js';
import { knownTruthVideo } from './helpers/videos.js';

// Redacted stills (issue 25, "Outputs"): frame pictures, segment thumbnails and dataset
// exports with `redact=` masked as the job's video would be at that picture's time. The job
// is the known-truth video (messi5.jpg, its only people, at 4-8 s, 640x480); faces are found
// by the served face detector on the picture itself.

let dir: string;
let models: { dir: string; remove(): Promise<void> };
let server: RunningServer;
let jobId: string;
let result: any;
const ADMIN = 'redact-stills-admin-0123456789';

/** Messi's face in messi5.jpg (548x342, read by hand as test/face-detector.test.ts), where knownTruthVideo puts it: scaled to 640 wide, 40 px of padding above. */
const K = 640 / 548;
const FACE_IN_FRAME: MaskBox = { x: Math.round(225 * K), y: Math.round(100 * K + 40), width: Math.round(33 * K), height: Math.round(32 * K) };

const api = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);
const jpegOf = async (path: string) => {
  const res = await api(path);
  expect(res.status, `${path}: ${res.status}`).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^image\/jpeg/);
  return Buffer.from(await res.arrayBuffer());
};
const rgb = async (jpeg: Buffer) => {
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
};
type Picture = Awaited<ReturnType<typeof rgb>>;

/** Share of a box's pixels that are black (every channel under 20). */
function blackShare(p: Picture, b: MaskBox): number {
  let black = 0;
  for (let y = b.y; y < b.y + b.height; y++) for (let x = b.x; x < b.x + b.width; x++) {
    const i = (y * p.width + x) * 3;
    if (p.data[i] < 20 && p.data[i + 1] < 20 && p.data[i + 2] < 20) black++;
  }
  return black / (b.width * b.height);
}

/** Mean absolute difference per channel value of two pictures, over the pixels outside every box. */
function diffOutside(a: Picture, b: Picture, boxes: readonly MaskBox[]): number {
  let sum = 0, n = 0;
  const inside = (x: number, y: number) => boxes.some((m) => x >= m.x && x < m.x + m.width && y >= m.y && y < m.y + m.height);
  for (let y = 0; y < a.height; y++) for (let x = 0; x < a.width; x++) {
    if (inside(x, y)) continue;
    for (let c = 0; c < 3; c++) sum += Math.abs(a.data[(y * a.width + x) * 3 + c] - b.data[(y * a.width + x) * 3 + c]);
    n += 3;
  }
  return sum / n;
}

/** Every person track's box at `timeS`, dilated by the default margin, as the redaction plans it (tracks seen around that time). */
const personBoxesAt = (timeS: number): MaskBox[] =>
  result.tracks
    .filter((t: any) => t.label === 'person' && t.trajectory[0][0] <= timeS && t.trajectory.at(-1)[0] >= timeS)
    .map((t: any) => dilate(boxAt(t.trajectory, timeS), DEFAULT_MASK_TIMING.margin, result.video));

async function untar(tar: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const unpack = extract();
  unpack.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer)).on('end', () => {
      files.set(header.name, Buffer.concat(chunks));
      next();
    });
  });
  await pipeline(Readable.from([tar]), unpack);
  return files;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-redact-stills-'));
  models = await scratchRepository(['object-detector', 'face-detector']);
  const source = join(dir, 'truth.mp4');
  await knownTruthVideo(source);
  server = await startTestServer({ modelsDir: models.dir, dataDir: join(dir, 'data'), adminToken: ADMIN });
  const posted = await postFile(`${server.url}/v1/models/object-detector/predict?labels=person&frames=false`, await readFile(source), 'truth.mp4', 'video/mp4');
  expect(posted.status, JSON.stringify(posted.body)).toBe(200);
  jobId = posted.body.jobId;
  result = (await (await api(`/v1/jobs/${jobId}`)).json()).result;
  expect(result.segments.length).toBeGreaterThan(0);
}, 120_000);
afterAll(async () => {
  await server?.close();
  await models?.remove();
  await rm(dir, { recursive: true, force: true });
});

describe('redacted frame pictures', () => {
  it('redact=persons&redactStyle=fill blacks the people out at that time, leaves the rest, and never mixes up the cache', async () => {
    const plainPath = `/v1/jobs/${jobId}/frames/6000.jpg`;
    const plainBytes = await jpegOf(plainPath);
    const redactedBytes = await jpegOf(`${plainPath}?redact=persons&redactStyle=fill`);
    const [plain, redacted] = [await rgb(plainBytes), await rgb(redactedBytes)];
    const boxes = personBoxesAt(6);
    expect(boxes.length).toBeGreaterThan(0);
    for (const box of boxes) {
      expect(blackShare(redacted, box), JSON.stringify(box)).toBeGreaterThanOrEqual(0.9);
      expect(blackShare(plain, box), JSON.stringify(box)).toBeLessThan(0.5);
    }
    expect(diffOutside(plain, redacted, boxes)).toBeLessThan(3);
    // The unredacted picture after a redacted one is the same bytes as before; the redacted one again is the redacted one.
    expect((await jpegOf(plainPath)).equals(plainBytes)).toBe(true);
    expect((await jpegOf(`${plainPath}?redact=persons&redactStyle=fill`)).equals(redactedBytes)).toBe(true);
    // Another style is another picture, not the cached fill.
    const blurred = await rgb(await jpegOf(`${plainPath}?redact=persons`));
    expect(blackShare(blurred, boxes[0])).toBeLessThan(0.5);
    expect(diffOutside(plain, blurred, boxes)).toBeLessThan(3);
  });

  it('at a time with no one (1 s) a persons redaction changes nothing beyond JPEG noise', async () => {
    const plain = await rgb(await jpegOf(`/v1/jobs/${jobId}/frames/1000.jpg`));
    const redacted = await rgb(await jpegOf(`/v1/jobs/${jobId}/frames/1000.jpg?redact=persons&redactStyle=fill`));
    expect(diffOutside(plain, redacted, [])).toBeLessThan(3);
  });

  it('redact=faces masks the face the served face detector finds on the picture', async () => {
    const plain = await rgb(await jpegOf(`/v1/jobs/${jobId}/frames/6000.jpg`));
    const faces = await rgb(await jpegOf(`/v1/jobs/${jobId}/frames/6000.jpg?redact=faces&redactStyle=fill`));
    expect(blackShare(plain, FACE_IN_FRAME)).toBeLessThan(0.5);
    expect(blackShare(faces, FACE_IN_FRAME)).toBeGreaterThanOrEqual(0.9);
    // Only faces: most of the picture (outside the people) is as it was.
    expect(diffOutside(plain, faces, personBoxesAt(6))).toBeLessThan(3);
  });

  it('unknown kinds are 400 INVALID_INPUT naming the item; plates is text; a style alone is refused', async () => {
    for (const path of [`/v1/jobs/${jobId}/frames/6000.jpg?redact=persons,bogus`, `/v1/jobs/${jobId}/segments/0/thumbnail.jpg?redact=bogus`, `/v1/datasets/export?model=object-detector&redact=bogus`]) {
      const res = await api(path);
      const body = await res.json();
      expect([res.status, body.error.code], path).toEqual([400, 'INVALID_INPUT']);
      expect(body.error.details.issues[0].path).toMatch(/^redact\.\d$/);
    }
    const style = await api(`/v1/jobs/${jobId}/frames/6000.jpg?redactStyle=fill`);
    expect([style.status, (await style.json()).error.code]).toEqual([400, 'INVALID_INPUT']);
    // The job reads no text, so plates (its text tracks) masks nothing here, but is accepted.
    const plain = await rgb(await jpegOf(`/v1/jobs/${jobId}/frames/6000.jpg`));
    expect(diffOutside(plain, await rgb(await jpegOf(`/v1/jobs/${jobId}/frames/6000.jpg?redact=plates&redactStyle=fill`)), [])).toBeLessThan(3);
  });
});

describe('redacted segment thumbnails', () => {
  it('redact=persons masks the best frame\'s people; the plain thumbnail is still served plain', async () => {
    const path = `/v1/jobs/${jobId}/segments/0/thumbnail.jpg`;
    const plainBytes = await jpegOf(path);
    const [plain, redacted] = [await rgb(plainBytes), await rgb(await jpegOf(`${path}?redact=persons&redactStyle=fill`))];
    const best = result.segments[0].bestFrame;
    const scale = plain.width / result.video.width;
    expect(best.detections.length).toBeGreaterThan(0);
    const boxes = personBoxesAt(best.timeS).map((b) => ({ x: Math.ceil(b.x * scale), y: Math.ceil(b.y * scale), width: Math.floor(b.width * scale), height: Math.floor(b.height * scale) }));
    expect(boxes.length).toBeGreaterThan(0);
    for (const box of boxes) {
      expect(blackShare(redacted, box)).toBeGreaterThanOrEqual(0.9);
      expect(blackShare(plain, box)).toBeLessThan(0.5);
    }
    expect(diffOutside(plain, redacted, boxes)).toBeLessThan(3);
    expect((await jpegOf(path)).equals(plainBytes)).toBe(true);
  });
});

describe('redacted dataset export', () => {
  it('redact=faces masks the face in every exported image; without it the face is there', async () => {
    const decide = await api(`/v1/jobs/${jobId}/segments/0/decision`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'confirmed' }) });
    expect(decide.status).toBe(200);
    const exported = async (query: string) => {
      const res = await api(`/v1/datasets/export?model=object-detector${query}`);
      expect(res.status).toBe(200);
      const files = await untar(Buffer.from(await res.arrayBuffer()));
      const name = [...files.keys()].find((f) => f.startsWith(`images/${jobId}-s0-`));
      expect(name, [...files.keys()].join(', ')).toBeDefined();
      return { image: await rgb(files.get(name!)!), manifest: JSON.parse(files.get('manifest.json')!.toString()) };
    };
    const plain = await exported('');
    const faces = await exported('&redact=faces&redactStyle=fill');
    expect([faces.image.width, faces.image.height]).toEqual([640, 480]);
    expect(blackShare(plain.image, FACE_IN_FRAME)).toBeLessThan(0.5);
    expect(blackShare(faces.image, FACE_IN_FRAME)).toBeGreaterThanOrEqual(0.9);
    expect(diffOutside(plain.image, faces.image, personBoxesAt(result.segments[0].bestFrame.timeS))).toBeLessThan(3);
    expect(plain.manifest.redact).toBeNull();
    expect(faces.manifest.redact).toEqual({ targets: ['faces'], style: 'fill', faceModel: { name: 'face-detector', version: 1 } });
  });
});

describe('without a served face detector', () => {
  it('redact=faces answers as the redact route does, and serves nothing unmasked', async () => {
    const unload = await api('/v1/models/face-detector/versions/1/unload', { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(unload.status).toBe(200);
    for (const path of [`/v1/jobs/${jobId}/frames/5000.jpg?redact=faces`, `/v1/jobs/${jobId}/segments/0/thumbnail.jpg?redact=faces,persons`, `/v1/datasets/export?model=object-detector&redact=faces`]) {
      const res = await api(path);
      const body = await res.json();
      expect(res.status, path).toBe(503);
      expect(body.error.code).toBe('MODEL_NOT_READY');
    }
    const post = await api(`/v1/jobs/${jobId}/redact`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ targets: ['faces'] }) });
    expect([post.status, (await post.json()).error.code]).toEqual([503, 'MODEL_NOT_READY']);
  });
});
