import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
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
