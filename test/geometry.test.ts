import { describe, expect, it } from 'vitest';
import { convexHull, iou, minAreaRect, nonMaxSuppression, rectCorners } from '../src/tasks/geometry.js';
import { findComponents, meanInsideQuad } from '../src/tasks/db-text-detection.js';

describe('geometry', () => {
  it('finds the convex hull of a square with an inner point', () => {
    const hull = convexHull([{ x: 0, y: 0 }, { x: 2, y: 0 }, { x: 2, y: 2 }, { x: 0, y: 2 }, { x: 1, y: 1 }]);
    expect(hull).toHaveLength(4);
  });

  it('recovers a rotated rectangle with minAreaRect', () => {
    const angle = Math.PI / 6;
    const rect = { center: { x: 50, y: 40 }, width: 60, height: 10, angle };
    const found = minAreaRect(rectCorners(rect));
    expect(Math.max(found.width, found.height)).toBeCloseTo(60, 6);
    expect(Math.min(found.width, found.height)).toBeCloseTo(10, 6);
    expect(found.center.x).toBeCloseTo(50, 6);
  });

  it('handles a single point', () => {
    expect(minAreaRect([{ x: 3, y: 4 }, { x: 3, y: 4 }])).toMatchObject({ width: 0, height: 0 });
  });

  it('computes IoU', () => {
    expect(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 5, y: 0, width: 10, height: 10 })).toBeCloseTo(50 / 150);
  });

  it('suppresses overlapping boxes per class only', () => {
    const boxes = [
      { x: 0, y: 0, width: 10, height: 10 },
      { x: 1, y: 1, width: 10, height: 10 },
      { x: 1, y: 1, width: 10, height: 10 },
    ];
    expect(nonMaxSuppression(boxes, [0.9, 0.8, 0.7], 0.5, 10, [0, 0, 1])).toEqual([0, 2]);
    expect(nonMaxSuppression(boxes, [0.9, 0.8, 0.7], 0.5, 10)).toEqual([0]);
  });
});

describe('DB components', () => {
  it('separates two text lines and scores them by mean probability', () => {
    const w = 20, h = 10;
    const prob = new Float32Array(w * h);
    for (let x = 2; x < 18; x++) {
      prob[2 * w + x] = 0.9;
      prob[3 * w + x] = 0.9;
      prob[7 * w + x] = 0.5;
    }
    const comps = findComponents(prob, w, h, 0.3, 10);
    expect(comps).toHaveLength(2);
    const quad = rectCorners(minAreaRect(comps[0].points));
    expect(meanInsideQuad(prob, w, h, quad)).toBeCloseTo(0.9, 5);
  });
});
