import type { Box, Point } from '../../preprocessing/index.js';

/** Convex hull (Andrew's monotone chain), counter-clockwise, without collinear points. */
export function convexHull(points: readonly Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  const pts = sorted.filter((p, i) => i === 0 || p.x !== sorted[i - 1].x || p.y !== sorted[i - 1].y);
  if (pts.length < 3) return pts;
  const cross = (o: Point, a: Point, b: Point) => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const lower: Point[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

export interface RotatedRect {
  center: Point;
  width: number;
  height: number;
  /** Radians; the direction of the `width` side. */
  angle: number;
}

/** Minimum-area enclosing rectangle of a point set (rotating calipers over the hull). */
export function minAreaRect(points: readonly Point[]): RotatedRect {
  const hull = convexHull(points);
  if (hull.length === 0) return { center: { x: 0, y: 0 }, width: 0, height: 0, angle: 0 };
  let best: RotatedRect = { center: { ...hull[0] }, width: 0, height: 0, angle: 0 };
  let bestArea = Infinity;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i];
    const b = hull[(i + 1) % hull.length];
    const len = Math.hypot(b.x - a.x, b.y - a.y);
    if (len === 0) continue;
    const ux = (b.x - a.x) / len;
    const uy = (b.y - a.y) / len;
    let minU = Infinity, maxU = -Infinity, minV = Infinity, maxV = -Infinity;
    for (const p of hull) {
      const u = p.x * ux + p.y * uy;
      const v = -p.x * uy + p.y * ux;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea) {
      bestArea = area;
      const cu = (minU + maxU) / 2;
      const cv = (minV + maxV) / 2;
      best = {
        center: { x: cu * ux - cv * uy, y: cu * uy + cv * ux },
        width: maxU - minU,
        height: maxV - minV,
        angle: Math.atan2(uy, ux),
      };
    }
  }
  return best;
}

/** Corners of a rotated rectangle, ordered top-left, top-right, bottom-right, bottom-left. */
export function rectCorners(r: RotatedRect): Point[] {
  const ux = Math.cos(r.angle), uy = Math.sin(r.angle);
  const hw = r.width / 2, hh = r.height / 2;
  const corners = [
    [-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh],
  ].map(([u, v]) => ({ x: r.center.x + u * ux - v * uy, y: r.center.y + u * uy + v * ux }));
  return orderQuad(corners);
}

/** Orders four points as top-left, top-right, bottom-right, bottom-left (PaddleOCR's rule). */
export function orderQuad(points: readonly Point[]): Point[] {
  const byX = [...points].sort((a, b) => a.x - b.x);
  const [l1, l2] = byX[0].y <= byX[1].y ? [byX[0], byX[1]] : [byX[1], byX[0]];
  const [r1, r2] = byX[2].y <= byX[3].y ? [byX[2], byX[3]] : [byX[3], byX[2]];
  return [l1, r1, r2, l2];
}

/** Shoelace area and perimeter of a polygon. */
export function polygonAreaPerimeter(poly: readonly Point[]): { area: number; perimeter: number } {
  let area = 0, perimeter = 0;
  for (let i = 0; i < poly.length; i++) {
    const a = poly[i], b = poly[(i + 1) % poly.length];
    area += a.x * b.y - b.x * a.y;
    perimeter += Math.hypot(b.x - a.x, b.y - a.y);
  }
  return { area: Math.abs(area) / 2, perimeter };
}

/** Even-odd point-in-polygon test. */
export function pointInPolygon(p: Point, poly: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const a = poly[i], b = poly[j];
    if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

/** Axis-aligned bounding box of a point set. */
export function boundingBox(points: readonly Point[]): Box {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const p of points) {
    x0 = Math.min(x0, p.x); y0 = Math.min(y0, p.y);
    x1 = Math.max(x1, p.x); y1 = Math.max(y1, p.y);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Intersection over union of two axis-aligned boxes. */
export function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy non-maximum suppression, class-aware when `classIds` is given.
 * Returns the kept indices, best score first.
 */
export function nonMaxSuppression(
  boxes: readonly Box[],
  scores: ArrayLike<number>,
  iouThreshold: number,
  maxKeep: number,
  classIds?: ArrayLike<number>,
): number[] {
  const order = Array.from(boxes.keys()).sort((a, b) => scores[b] - scores[a]);
  const kept: number[] = [];
  for (const i of order) {
    if (kept.length >= maxKeep) break;
    const clash = kept.some(
      (k) => (classIds === undefined || classIds[k] === classIds[i]) && iou(boxes[k], boxes[i]) > iouThreshold,
    );
    if (!clash) kept.push(i);
  }
  return kept;
}
