import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { probeVideo } from '../src/media/ffmpeg.js';
import { followBox } from '../src/pipeline/redaction/added-boxes.js';
import { DEFAULT_MASK_TIMING, maskPlan } from '../src/pipeline/redaction/plan.js';
import type { TrajectoryPoint } from '../src/pipeline/tracker.js';
import { movingFacesVideo } from './helpers/videos.js';
import { findTemplate, greyFrame, templateAt } from '../src/media/template-match.js';

// The drawn-box tracker's matcher on a real photo: a patch of messi5.jpg cut at one place is
// found again in a frame where the picture moved by a known step, and in one 20% darker.

async function photo(dx: number, dy: number, gain = 1) {
  const { data, info } = await sharp('test/fixtures/messi5.jpg').extract({ left: 40 - dx, top: 40 - dy, width: 400, height: 260 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return greyFrame({ data: Uint8Array.from(data, (v) => Math.round(v * gain)), width: info.width, height: info.height });
}

describe('template matching (drawn boxes)', () => {
  it.each([[0, 0], [7, -5], [-12, 9], [18, 3]])('finds a 32x32 patch of the photo after it moved by (%i, %i)', async (dx, dy) => {
    const first = await photo(0, 0);
    const template = templateAt(first, 150, 90, 32, 32);
    const match = findTemplate(await photo(dx, dy), template, { x: 150, y: 90 }, 24);
    expect([match.x, match.y]).toEqual([150 + dx, 90 + dy]);
    expect(match.score).toBeGreaterThan(0.95);
  });

  it('is unmoved by a change of brightness, and scores low where the patch is not', async () => {
    const template = templateAt(await photo(0, 0), 150, 90, 32, 32);
    const darker = findTemplate(await photo(4, 4, 0.8), template, { x: 150, y: 90 }, 12);
    expect([darker.x, darker.y]).toEqual([154, 94]);
    expect(darker.score).toBeGreaterThan(0.95);
    // Searched only far from it (a window that does not reach it), the best place is a poor match.
    const elsewhere = findTemplate(await photo(0, 0), template, { x: 330, y: 20 }, 6);
    expect(elsewhere.score).toBeLessThan(0.8);
  });

  it('a flat patch has no norm: nothing to follow', () => {
    const flat = greyFrame({ data: new Uint8Array(64 * 64 * 3).fill(120), width: 64, height: 64 });
    expect(templateAt(flat, 10, 10, 20, 20).norm).toBe(0);
  });
});

describe('a drawn box follows a face coming nearer (its size changes)', () => {
  it('grows with the face from 50 to 150 px: masked on every frame, where a box of the drawn size falls short', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'framewatch-grow-'));
    try {
      const path = join(dir, 'nearer.mp4');
      const truth = await movingFacesVideo(path, { seconds: 3, faces: [{ faceWidth: 50, toFaceWidth: 150, from: { x: 300, y: 150 }, to: { x: 500, y: 120 } }] });
      const info = await probeVideo(path);
      const drawnAt = 37; // 1.5 s: the face is 100 px wide
      const { box } = truth[drawnAt][0];
      const trajectory = await followBox(path, info, box, { timeS: drawnAt / 25 });
      const covered = (t: TrajectoryPoint[]) => {
        const plan = maskPlan([{ trackId: -1, label: 'added', trajectory: t, minMarginPx: 4 }], DEFAULT_MASK_TIMING, info);
        return truth.map((f, i) => {
          const face = f[0].box;
          const overlap = plan(i / 25).reduce((n, m) => n + Math.max(0, Math.min(m.x + m.width, face.x + face.width) - Math.max(m.x, face.x)) * Math.max(0, Math.min(m.y + m.height, face.y + face.height) - Math.max(m.y, face.y)), 0);
          return overlap / (face.width * face.height);
        });
      };
      const fixedSize = trajectory.map((p): TrajectoryPoint => [p[0], p[1] + (p[3] - box.width) / 2, p[2] + (p[4] - box.height) / 2, box.width, box.height, p[5]]);
      const [grown, fixed] = [covered(trajectory), covered(fixedSize)];
      const seen = JSON.stringify({ points: trajectory.length, first: trajectory[0].slice(0, 5).map(Math.round), last: trajectory.at(-1)!.slice(0, 5).map(Math.round), worst: Math.min(...grown), fixedWorst: Math.min(...fixed) });
      console.log(`growing box: ${seen}`);
      expect(trajectory.length, seen).toBeGreaterThanOrEqual(29); // 10 a second, backwards to 0 s and on to the end
      expect(Math.min(...grown), seen).toBeGreaterThanOrEqual(0.9);
      expect(Math.min(...fixed), seen).toBeLessThan(0.85);
      expect(trajectory.at(-1)![3] / box.width, seen).toBeGreaterThan(1.3);
      expect(trajectory[0][3] / box.width, seen).toBeLessThan(0.75);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
