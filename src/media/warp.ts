import type { Point, RgbImage } from '../../preprocessing/index.js';

/** Solves A x = b (n x n, Gaussian elimination with partial pivoting). */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    if (Math.abs(m[col][col]) < 1e-12) throw new RangeError('degenerate quad');
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r][col] / m[col][col];
      for (let c = col; c <= n; c++) m[r][c] -= f * m[col][c];
    }
  }
  return m.map((row, i) => row[n] / row[i]);
}

/** The homography taking each `from` point to its `to` point (4 pairs). */
export function homography(from: readonly Point[], to: readonly Point[]): number[] {
  const a: number[][] = [];
  const b: number[] = [];
  for (let i = 0; i < 4; i++) {
    const { x, y } = from[i];
    const { x: u, y: v } = to[i];
    a.push([x, y, 1, 0, 0, 0, -u * x, -u * y]);
    b.push(u);
    a.push([0, 0, 0, x, y, 1, -v * x, -v * y]);
    b.push(v);
  }
  return [...solve(a, b), 1];
}

const distance = (p: Point, q: Point) => Math.hypot(p.x - q.x, p.y - q.y);

/**
 * The quad (top-left, top-right, bottom-right, bottom-left) of `image`, warped to an upright
 * rectangle as PaddleOCR's get_rotate_crop_image does: as wide as the longer of the top and
 * bottom edges, as tall as the longer side, bilinear sampling with the edges replicated. A
 * crop at least 1.5 times as tall as it is wide is a vertical line: it is turned 90°.
 */
export function warpQuad(image: RgbImage, quad: readonly Point[]): RgbImage {
  const [tl, tr, br, bl] = quad;
  const width = Math.max(1, Math.round(Math.max(distance(tl, tr), distance(bl, br))));
  const height = Math.max(1, Math.round(Math.max(distance(tl, bl), distance(tr, br))));
  const h = homography([{ x: 0, y: 0 }, { x: width, y: 0 }, { x: width, y: height }, { x: 0, y: height }], quad);
  const out = new Uint8Array(width * height * 3);
  const { data, width: sw, height: sh } = image;
  // Edges replicated: a sample outside the picture takes the nearest edge pixel.
  const col = (x: number) => Math.min(sw - 1, Math.max(0, x)) * 3;
  const row = (y: number) => Math.min(sh - 1, Math.max(0, y)) * sw * 3;
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      // Pixel centres map to pixel centres.
      const px = u + 0.5;
      const py = v + 0.5;
      const w = h[6] * px + h[7] * py + h[8];
      const x = (h[0] * px + h[1] * py + h[2]) / w - 0.5;
      const y = (h[3] * px + h[4] * py + h[5]) / w - 0.5;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      // The four neighbours' offsets, clamped once per pixel rather than once per channel.
      const c0 = col(x0);
      const c1 = col(x0 + 1);
      const r0 = row(y0);
      const r1 = row(y0 + 1);
      for (let c = 0; c < 3; c++) {
        const top = data[r0 + c0 + c] * (1 - fx) + data[r0 + c1 + c] * fx;
        const bottom = data[r1 + c0 + c] * (1 - fx) + data[r1 + c1 + c] * fx;
        out[(v * width + u) * 3 + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  const crop = { data: out, width, height };
  return height >= 1.5 * width ? rotateCounterClockwise(crop) : crop;
}

/** Turns an image 90° counter-clockwise (numpy's rot90). */
function rotateCounterClockwise(image: RgbImage): RgbImage {
  const { data, width, height } = image;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const to = ((width - 1 - x) * height + y) * 3;
      const from = (y * width + x) * 3;
      out[to] = data[from];
      out[to + 1] = data[from + 1];
      out[to + 2] = data[from + 2];
    }
  }
  return { data: out, width: height, height: width };
}
