import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapBoxToSource, planResize, planTiles, tileTransform, type Box, type View } from '../preprocessing/index.js';
import type { RunningServer } from '../src/cli/serve.js';
import { blazefaceAnchors } from '../src/tasks/blazeface-detection.js';
import { ffmpegPath } from '../src/media/ffmpeg.js';
import { mergeViewDetections } from '../src/pipeline/views.js';
import { iou } from '../src/tasks/geometry.js';
import { postRaw, scratchRepository, startTestServer } from './helpers/server.js';

// Messi's face in test/fixtures/messi5.jpg (548x342), read by hand from an 6x zoom with a
// 10-pixel grid: cheek to cheek, hairline to chin.
const MESSI_FACE: Box = { x: 225, y: 100, width: 33, height: 32 };

/** A square crop of messi5.jpg around the face, with the face's context (hair, shoulders). */
const FACE_CROP = { left: 150, top: 24, width: 180, height: 180 };

/** Where the composed 1280x720 frame puts the face at each width (the crop's top-left). */
const PLACES: Array<{ faceWidth: number; left: number; top: number }> = [
  { faceWidth: 80, left: 40, top: 60 },
  { faceWidth: 40, left: 470, top: 330 }, // the face crosses the tile border at x = 512
  { faceWidth: 24, left: 900, top: 120 },
  { faceWidth: 20, left: 1100, top: 500 },
  { faceWidth: 16, left: 700, top: 560 },
];

/**
 * A 1280x720 frame (home.jpg stretched, no face) with the face crop pasted at PLACES, scaled
 * so the face is `faceWidth` pixels wide; returns the PNG and each face's true box.
 */
async function composeFrame(): Promise<{ png: Buffer; faces: Array<{ faceWidth: number; box: Box }> }> {
  const background = sharp('test/fixtures/home.jpg').resize(1280, 720, { fit: 'fill' });
  const layers = await Promise.all(
    PLACES.map(async ({ faceWidth, left, top }) => {
      const k = faceWidth / MESSI_FACE.width;
      const side = Math.round(FACE_CROP.width * k);
      const input = await sharp('test/fixtures/messi5.jpg').extract(FACE_CROP).resize(side, side).png().toBuffer();
      const box = {
        x: left + (MESSI_FACE.x - FACE_CROP.left) * k,
        y: top + (MESSI_FACE.y - FACE_CROP.top) * k,
        width: MESSI_FACE.width * k,
        height: MESSI_FACE.height * k,
      };
      return { layer: { input, left, top }, face: { faceWidth, box } };
    }),
  );
  const png = await background.composite(layers.map((l) => l.layer)).png().toBuffer();
  return { png, faces: layers.map((l) => l.face) };
}

describe('BlazeFace anchors and tiles (pure)', () => {
  it('makes as many anchors as the model has boxes: 16x16x2 + 8x8x6 = 896', () => {
    const anchors = blazefaceAnchors(256, [16, 32, 32, 32], 2);
    expect(anchors).toHaveLength(896);
    expect(anchors[0]).toEqual({ x: 8, y: 8 });
    expect(anchors[512]).toEqual({ x: 16, y: 16 });
  });

  it('tiles 1280x720 with a 3x2 grid of 512-pixel tiles overlapping by at least 64, and not a photo under 1.5 tiles wide', () => {
    const tiles = planTiles({ size: 512, minOverlap: 64 }, 1280, 720);
    expect(tiles.map((t) => [t.x, t.y, t.width, t.height])).toEqual([[0, 0, 512, 512], [384, 0, 512, 512], [768, 0, 512, 512], [0, 208, 512, 512], [384, 208, 512, 512], [768, 208, 512, 512]]);
    expect(planTiles({ size: 512, minOverlap: 64 }, 548, 342)).toEqual([]);
    expect(planTiles({ size: 512, minOverlap: 64 }, 768, 300).map((t) => [t.x, t.y, t.width, t.height])).toEqual([[0, 0, 512, 300], [256, 0, 512, 300]]);
  });

  it("maps a tile's model box back to the whole picture", () => {
    const tile = { x: 768, y: 208, width: 512, height: 512 };
    const t = tileTransform(planResize({ mode: 'letterbox', width: 256, height: 256, padValue: 0 }, 512, 512).transform, tile, { width: 1280, height: 720 });
    expect(mapBoxToSource(t, { x: 10, y: 20, width: 30, height: 40 })).toEqual({ x: 788, y: 248, width: 60, height: 80 });
  });
  it("merges views: drops a tile's box cut by its inner border and a whole-view box smaller than the overlap, then NMS", () => {
    const view = (tile?: Box): View => ({ input: { transform: { sourceWidth: 1280, sourceHeight: 720 } } as View['input'], tile });
    const face = (score: number, box: Box) => ({ label: 'face', classId: 0, score, box });
    const views = [view(), view({ x: 0, y: 0, width: 512, height: 512 }), view({ x: 384, y: 0, width: 512, height: 512 })];
    const merged = mergeViewDetections(views, [
      [face(0.9, { x: 100, y: 100, width: 30, height: 30 }), face(0.8, { x: 600, y: 300, width: 120, height: 120 })],
      [face(0.7, { x: 101, y: 101, width: 30, height: 30 }), face(0.95, { x: 490, y: 50, width: 22, height: 30 })],
      [face(0.6, { x: 490, y: 50, width: 40, height: 30 }), face(0.5, { x: 602, y: 302, width: 118, height: 118 })],
    ], { iouThreshold: 0.3, maxDetections: 100, minOverlap: 64 });
    // Kept: the large whole-view face (its tile twin suppressed by NMS), the small face from
    // tile 0 (the whole view's copy is under 64 px), the face across x = 512 from tile 1 only.
    expect(merged.map((d) => d.score)).toEqual([0.8, 0.7, 0.6]);
  });
});

describe('face-detector 1 on a real server', () => {
  let server: RunningServer;
  let repo: Awaited<ReturnType<typeof scratchRepository>>;
  const predict = async (bytes: Uint8Array, type: string) => postRaw(`${server.url}/v1/models/face-detector/predict`, bytes, type);

  beforeAll(async () => {
    repo = await scratchRepository(['face-detector']);
    server = await startTestServer({ modelsDir: repo.dir });
  });
  afterAll(async () => {
    await server?.close();
    await repo?.remove();
  });

  it('is listed READY, its golden samples replayed, with review label face', async () => {
    const list = (await (await fetch(`${server.url}/v1/models`)).json()) as any;
    const entry = (Array.isArray(list) ? list : list.models).find((m: any) => m.name === 'face-detector');
    expect(entry.versions[0].status).toBe('READY');
    const model = (await (await fetch(`${server.url}/v1/models/face-detector`)).json()) as any;
    expect(model.versions[0].skew.ok).toBe(true);
  });

  it(`finds Messi's face in messi5.jpg (IoU >= 0.5 with the hand box ${JSON.stringify(MESSI_FACE)})`, async () => {
    const { status, body } = await predict(await readFile('test/fixtures/messi5.jpg'), 'image/jpeg');
    expect(status).toBe(200);
    const faces = body.detections.filter((d: any) => d.label === 'face' && d.classId === 0);
    const best = Math.max(...faces.map((d: any) => iou(d.box, MESSI_FACE)));
    expect(best).toBeGreaterThanOrEqual(0.5);
  });

  it.each(['fruits.jpg', 'home.jpg', 'licenseplate_motion.jpg'])('finds no face in %s', async (file) => {
    const { status, body } = await predict(await readFile(`test/fixtures/${file}`), 'image/jpeg');
    expect(status).toBe(200);
    expect(body.detections).toEqual([]);
  });

  it('finds faces 80, 40 and 24 px wide in a 1280x720 frame (IoU >= 0.5), 20 px loosely (IoU >= 0.3), and nothing elsewhere', async () => {
    const { png, faces } = await composeFrame();
    const { status, body } = await predict(png, 'image/png');
    expect(status).toBe(200);
    const bestIou = (box: Box) => Math.max(0, ...body.detections.map((d: any) => iou(d.box, box)));
    const found = faces.map((f) => ({ faceWidth: f.faceWidth, iou: bestIou(f.box) }));
    const seen = JSON.stringify({ found, detections: body.detections });
    // Measured: IoU 0.79, 0.81, 0.75 at 80, 40, 24 px; 0.42 at 20 px; the 16 px face is missed.
    expect(found.filter((f) => f.iou >= 0.5).map((f) => f.faceWidth), seen).toEqual([80, 40, 24]);
    expect(found.find((f) => f.faceWidth === 20)!.iou, seen).toBeGreaterThanOrEqual(0.3);
    // Every box is on a pasted face (the 24 px face also gets a second, looser box: IoU 0.25
    // with the first, under the NMS threshold).
    for (const d of body.detections) expect(Math.max(...faces.map((f) => iou(d.box, f.box))), seen).toBeGreaterThan(0.1);
  });

  it('tiles video frames too: the 24 px face is found in each frame of a 2 s H.264 clip of that frame', async () => {
    const { png, faces } = await composeFrame();
    const dir = await mkdtemp(join(tmpdir(), 'framewatch-faces-'));
    try {
      await writeFile(join(dir, 'frame.png'), png);
      await promisify(execFile)(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-loop', '1', '-t', '2', '-r', '5', '-i', join(dir, 'frame.png'),
        '-c:v', 'libx264', '-crf', '18', '-pix_fmt', 'yuv420p', join(dir, 'faces.mp4')]);
      const { status, body } = await postRaw(`${server.url}/v1/models/face-detector/predict?mode=sync&fps=1`, await readFile(join(dir, 'faces.mp4')), 'video/mp4');
      expect(status, JSON.stringify(body)).toBe(200);
      const face24 = faces.find((f) => f.faceWidth === 24)!.box;
      expect(body.frames.length).toBeGreaterThan(0);
      for (const frame of body.frames) expect(Math.max(0, ...frame.detections.map((d: any) => iou(d.box, face24)))).toBeGreaterThanOrEqual(0.5);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
