// Where box labels go so that none covers another: used by the review page's canvas and by
// the server's thumbnails. Pure, no DOM and no Node: the page loads it as /assets/label-layout.js.

export interface Rect { x: number; y: number; width: number; height: number }

const overlaps = (a: Rect, b: Rect) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/**
 * Each label sits just above its box's top-left corner (inside the picture); one that would
 * cover a label already placed moves down past it. `labels[i]` holds the box corner in x/y
 * and the label's own size in width/height; the result is where to draw each label.
 */
export function placeLabels(labels: readonly Rect[], picture: { width: number; height: number }): Rect[] {
  const placed: Rect[] = [];
  for (const label of labels) {
    const x = Math.max(0, Math.min(label.x, picture.width - label.width));
    const spot: Rect = { x, y: Math.max(0, label.y - label.height), width: label.width, height: label.height };
    for (let tries = 0; tries < labels.length; tries++) {
      const hit = placed.find((p) => overlaps(p, spot));
      if (!hit) break;
      spot.y = hit.y + hit.height;
    }
    spot.y = Math.min(spot.y, Math.max(0, picture.height - spot.height));
    placed.push(spot);
  }
  return placed;
}
