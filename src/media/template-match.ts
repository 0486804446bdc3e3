import type { RgbImage } from '../../preprocessing/index.js';

// Follows a patch from one frame to the next by normalised cross-correlation (NCC): the score
// of a place is the correlation of the patch's grey levels with the frame's there, from -1 to
// 1, unmoved by changes of brightness and contrast. Frames are grey and small (the caller
// scales them so the patch is a few dozen pixels across), and the search looks only near
// where the patch is expected, so a frame costs a few milliseconds.

/** A grey frame: one luma value per pixel, with running sums for each window's mean and spread in O(1). */
export interface GreyFrame {
  width: number;
  height: number;
  grey: Float32Array;
  /** Summed-area tables of grey and grey², (width + 1) x (height + 1). */
  sum: Float64Array;
  sumSq: Float64Array;
}

export function greyFrame(image: RgbImage): GreyFrame {
  const { width, height, data } = image;
  const grey = new Float32Array(width * height);
  for (let i = 0, p = 0; i < grey.length; i++, p += 3) grey[i] = 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2];
  const stride = width + 1;
  const sum = new Float64Array(stride * (height + 1));
  const sumSq = new Float64Array(stride * (height + 1));
  for (let y = 0; y < height; y++) {
    let row = 0;
    let rowSq = 0;
    for (let x = 0; x < width; x++) {
      const v = grey[y * width + x];
      row += v;
      rowSq += v * v;
      sum[(y + 1) * stride + x + 1] = sum[y * stride + x + 1] + row;
      sumSq[(y + 1) * stride + x + 1] = sumSq[y * stride + x + 1] + rowSq;
    }
  }
  return { width, height, grey, sum, sumSq };
}

/** A patch to find: its grey levels less their mean, and their norm (0: a flat patch, which cannot be followed). */
export interface Template {
  width: number;
  height: number;
  centred: Float32Array;
  norm: number;
}

/** The patch of `frame` at whole-pixel (x, y), width x height, as a template. */
export function templateAt(frame: GreyFrame, x: number, y: number, width: number, height: number): Template {
  const values = new Float32Array(width * height);
  for (let row = 0; row < height; row++) values.set(frame.grey.subarray((y + row) * frame.width + x, (y + row) * frame.width + x + width), row * width);
  return centre(values, width, height);
}

function centre(values: Float32Array, width: number, height: number): Template {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  let sq = 0;
  for (let i = 0; i < values.length; i++) {
    values[i] -= mean;
    sq += values[i] * values[i];
  }
  return { width, height, centred: values, norm: Math.sqrt(sq) };
}

/** The template resampled (bilinear) to width x height: the same patch, seen nearer or farther. */
export function resampleTemplate(t: Template, width: number, height: number): Template {
  const values = new Float32Array(width * height);
  const [sx, sy] = [t.width / width, t.height / height];
  for (let y = 0; y < height; y++) {
    const fy = Math.min(t.height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const [y0, wy] = [Math.floor(fy), fy - Math.floor(fy)];
    const y1 = Math.min(t.height - 1, y0 + 1);
    for (let x = 0; x < width; x++) {
      const fx = Math.min(t.width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const [x0, wx] = [Math.floor(fx), fx - Math.floor(fx)];
      const x1 = Math.min(t.width - 1, x0 + 1);
      const at = (xx: number, yy: number) => t.centred[yy * t.width + xx];
      values[y * width + x] = (1 - wy) * ((1 - wx) * at(x0, y0) + wx * at(x1, y0)) + wy * ((1 - wx) * at(x0, y1) + wx * at(x1, y1));
    }
  }
  return centre(values, width, height);
}

/** The template moved `share` of the way to the patch at (x, y): it follows slow changes of look without losing what it was. */
export function blendTemplate(template: Template, frame: GreyFrame, x: number, y: number, share: number): Template {
  const now = templateAt(frame, x, y, template.width, template.height);
  const values = new Float32Array(template.centred.length);
  const [a, b] = [template.norm > 0 ? 1 / template.norm : 0, now.norm > 0 ? 1 / now.norm : 0];
  // Both are scaled to unit norm first, so neither outweighs the other by its contrast.
  for (let i = 0; i < values.length; i++) values[i] = (1 - share) * template.centred[i] * a + share * now.centred[i] * b;
  return centre(values, template.width, template.height);
}

/** The NCC of the template with the frame's patch whose top-left is (x, y). */
function scoreAt(frame: GreyFrame, t: Template, x: number, y: number): number {
  const stride = frame.width + 1;
  const n = t.width * t.height;
  const corner = (s: Float64Array) => s[(y + t.height) * stride + x + t.width] - s[y * stride + x + t.width] - s[(y + t.height) * stride + x] + s[y * stride + x];
  const total = corner(frame.sum);
  const spread = corner(frame.sumSq) - (total * total) / n;
  if (spread <= 1e-6) return 0;
  let dot = 0;
  for (let row = 0; row < t.height; row++) {
    const from = (y + row) * frame.width + x;
    const at = row * t.width;
    for (let col = 0; col < t.width; col++) dot += t.centred[at + col] * frame.grey[from + col];
  }
  // The template sums to 0, so the frame's mean drops out of the dot product.
  return dot / (t.norm * Math.sqrt(spread));
}

export interface Match {
  x: number;
  y: number;
  score: number;
}

/**
 * Where the template best matches the frame within `radius` pixels of top-left (x, y): every
 * second place first, then every place around the best of those.
 */
export function findTemplate(frame: GreyFrame, t: Template, near: { x: number; y: number }, radius: number): Match {
  const [maxX, maxY] = [frame.width - t.width, frame.height - t.height];
  const clampX = (v: number) => Math.min(maxX, Math.max(0, Math.round(v)));
  const clampY = (v: number) => Math.min(maxY, Math.max(0, Math.round(v)));
  let best: Match = { x: clampX(near.x), y: clampY(near.y), score: -Infinity };
  const tryAt = (x: number, y: number) => {
    const score = scoreAt(frame, t, x, y);
    if (score > best.score) best = { x, y, score };
  };
  const [x0, x1, y0, y1] = [clampX(near.x - radius), clampX(near.x + radius), clampY(near.y - radius), clampY(near.y + radius)];
  for (let y = y0; y <= y1; y += 2) for (let x = x0; x <= x1; x += 2) tryAt(x, y);
  const coarse = best;
  for (let y = Math.max(0, coarse.y - 1); y <= Math.min(maxY, coarse.y + 1); y++) for (let x = Math.max(0, coarse.x - 1); x <= Math.min(maxX, coarse.x + 1); x++) tryAt(x, y);
  return best;
}
