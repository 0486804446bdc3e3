// Masks drawn into a decoded RGB frame, in place: blur, pixelate or a solid fill. Each is
// strong enough that a face under it cannot be recognised: the blur's radius and the
// pixelation's blocks scale with the box (at most 8 blocks across).
import type { RgbImage } from '../../preprocessing/index.js';

export const MASK_STYLES = ['blur', 'pixelate', 'fill'] as const;
export type MaskStyle = (typeof MASK_STYLES)[number];

interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Black over the region. */
function fill(image: RgbImage, r: Region) {
  for (let y = r.y; y < r.y + r.height; y++) image.data.fill(0, (y * image.width + r.x) * 3, (y * image.width + r.x + r.width) * 3);
}

/** Each block of the region set to its mean colour; blocks of at least 1/8 of the box's longer side. */
function pixelate(image: RgbImage, r: Region) {
  const block = Math.max(4, Math.ceil(Math.max(r.width, r.height) / 8));
  for (let by = r.y; by < r.y + r.height; by += block) {
    for (let bx = r.x; bx < r.x + r.width; bx += block) {
      const w = Math.min(block, r.x + r.width - bx), h = Math.min(block, r.y + r.height - by);
      const sum = [0, 0, 0];
      for (let y = by; y < by + h; y++) for (let x = bx; x < bx + w; x++) for (let c = 0; c < 3; c++) sum[c] += image.data[(y * image.width + x) * 3 + c];
      const mean = sum.map((v) => Math.round(v / (w * h)));
      for (let y = by; y < by + h; y++) for (let x = bx; x < bx + w; x++) image.data.set(mean, (y * image.width + x) * 3);
    }
  }
}

/** One pass of a running-sum box blur along rows (step 3) or columns (step 3 * width), clamped at the region's edges. */
function boxPass(data: Uint8Array, starts: number[], count: number, step: number, radius: number) {
  const line = new Float64Array(count * 3);
  for (const start of starts) {
    for (let i = 0; i < count; i++) for (let c = 0; c < 3; c++) line[i * 3 + c] = data[start + i * step + c];
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      const at = (i: number) => line[Math.min(count - 1, Math.max(0, i)) * 3 + c];
      for (let i = -radius; i <= radius; i++) sum += at(i);
      for (let i = 0; i < count; i++) {
        data[start + i * step + c] = Math.round(sum / (2 * radius + 1));
        sum += at(i + radius + 1) - at(i - radius);
      }
    }
  }
}

/** Three box passes each way (close to a Gaussian), radius a quarter of the box's longer side. */
function blur(image: RgbImage, r: Region) {
  const radius = Math.max(2, Math.round(Math.max(r.width, r.height) / 4));
  const rows = Array.from({ length: r.height }, (_, i) => ((r.y + i) * image.width + r.x) * 3);
  const cols = Array.from({ length: r.width }, (_, i) => (r.y * image.width + r.x + i) * 3);
  for (let pass = 0; pass < 3; pass++) {
    boxPass(image.data, rows, r.width, 3, radius);
    boxPass(image.data, cols, r.height, image.width * 3, radius);
  }
}

const DRAW: Record<MaskStyle, (image: RgbImage, r: Region) => void> = { blur, pixelate, fill };

/** Draws each region's mask into the frame. */
export function drawMasks(image: RgbImage, regions: readonly Region[], style: MaskStyle): void {
  for (const r of regions) if (r.width > 0 && r.height > 0) DRAW[style](image, r);
}
