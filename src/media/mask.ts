// Masks drawn into a decoded frame, in place: blur, pixelate or a solid fill. Each is strong
// enough that a face under it cannot be recognised: the blur's radius and the pixelation's
// blocks scale with the box (at most 8 blocks across). A frame is packed RGB (pictures) or
// planar YUV 4:2:0 (the video redaction's frames, as the encoder takes them): each plane is
// masked alone, the chroma planes over the box at half its size.
import type { RgbImage } from '../../preprocessing/index.js';

export const MASK_STYLES = ['blur', 'pixelate', 'fill'] as const;
export type MaskStyle = (typeof MASK_STYLES)[number];

interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Interleaved samples: `channels` a pixel, `width` pixels a row, from `offset` in `data`. */
interface Plane {
  data: Uint8Array;
  offset: number;
  width: number;
  channels: number;
  /** The fill's value (black), the same in every channel. */
  black: number;
}

const at = (p: Plane, x: number, y: number) => p.offset + (y * p.width + x) * p.channels;

/** Black over the region. */
function fill(p: Plane, r: Region) {
  for (let y = r.y; y < r.y + r.height; y++) p.data.fill(p.black, at(p, r.x, y), at(p, r.x + r.width, y));
}

/** Each block of the region set to its mean value; blocks of at least 1/8 of the box's longer side. */
function pixelate(p: Plane, r: Region) {
  const block = Math.max(4, Math.ceil(Math.max(r.width, r.height) / 8));
  const n = p.channels;
  for (let by = r.y; by < r.y + r.height; by += block) {
    for (let bx = r.x; bx < r.x + r.width; bx += block) {
      const w = Math.min(block, r.x + r.width - bx), h = Math.min(block, r.y + r.height - by);
      const sum = new Array<number>(n).fill(0);
      for (let y = by; y < by + h; y++) for (let x = bx; x < bx + w; x++) for (let c = 0; c < n; c++) sum[c] += p.data[at(p, x, y) + c];
      const mean = sum.map((v) => Math.round(v / (w * h)));
      for (let y = by; y < by + h; y++) for (let x = bx; x < bx + w; x++) p.data.set(mean, at(p, x, y));
    }
  }
}

/** One pass of a running-sum box blur along rows (step: a pixel) or columns (step: a row), clamped at the region's edges. */
function boxPass(data: Uint8Array, starts: number[], count: number, step: number, channels: number, radius: number) {
  const line = new Float64Array(count * channels);
  for (const start of starts) {
    for (let i = 0; i < count; i++) for (let c = 0; c < channels; c++) line[i * channels + c] = data[start + i * step + c];
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      const value = (i: number) => line[Math.min(count - 1, Math.max(0, i)) * channels + c];
      for (let i = -radius; i <= radius; i++) sum += value(i);
      for (let i = 0; i < count; i++) {
        data[start + i * step + c] = Math.round(sum / (2 * radius + 1));
        sum += value(i + radius + 1) - value(i - radius);
      }
    }
  }
}

/** Three box passes each way (close to a Gaussian), radius a quarter of the box's longer side. */
function blur(p: Plane, r: Region) {
  const radius = Math.max(2, Math.round(Math.max(r.width, r.height) / 4));
  const rows = Array.from({ length: r.height }, (_, i) => at(p, r.x, r.y + i));
  const cols = Array.from({ length: r.width }, (_, i) => at(p, r.x + i, r.y));
  for (let pass = 0; pass < 3; pass++) {
    boxPass(p.data, rows, r.width, p.channels, p.channels, radius);
    boxPass(p.data, cols, r.height, p.width * p.channels, p.channels, radius);
  }
}

const DRAW: Record<MaskStyle, (p: Plane, r: Region) => void> = { blur, pixelate, fill };

/** Draws each region's mask into the RGB picture. */
export function drawMasks(image: RgbImage, regions: readonly Region[], style: MaskStyle): void {
  const plane: Plane = { data: image.data, offset: 0, width: image.width, channels: 3, black: 0 };
  for (const r of regions) if (r.width > 0 && r.height > 0) DRAW[style](plane, r);
}

/** The region on a chroma plane (half the size each way, rounded up): grown outward to whole samples. */
const halved = (r: Region): Region => {
  const [x0, y0] = [Math.floor(r.x / 2), Math.floor(r.y / 2)];
  return { x: x0, y: y0, width: Math.ceil((r.x + r.width) / 2) - x0, height: Math.ceil((r.y + r.height) / 2) - y0 };
};

/**
 * Draws each region's mask into a YUV 4:2:0 frame (limited range, as ffmpeg's yuv420p: black
 * is luma 16, chroma 128): the luma plane over the region, each chroma plane over it halved.
 */
export function drawMasksYuv420(frame: { data: Uint8Array; width: number; height: number }, regions: readonly Region[], style: MaskStyle): void {
  const [cw, ch] = [Math.ceil(frame.width / 2), Math.ceil(frame.height / 2)];
  const luma: Plane = { data: frame.data, offset: 0, width: frame.width, channels: 1, black: 16 };
  const u: Plane = { data: frame.data, offset: frame.width * frame.height, width: cw, channels: 1, black: 128 };
  const v: Plane = { ...u, offset: u.offset + cw * ch };
  for (const r of regions) {
    if (r.width <= 0 || r.height <= 0) continue;
    DRAW[style](luma, r);
    const half = halved(r);
    DRAW[style](u, half);
    DRAW[style](v, half);
  }
}
