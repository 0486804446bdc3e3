/**
 * Maps model-input coordinates back to source pixels: src = (model - pad) / scale.
 * Produced by applying a preprocessing spec; consumed by tasks/ postprocessing.
 */
export interface Transform {
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly scaleX: number;
  readonly scaleY: number;
  readonly padX: number;
  readonly padY: number;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Maps one model-space point to source pixels, clipped to the source image. */
export function mapPointToSource(t: Transform, p: Point): Point {
  return {
    x: clamp((p.x - t.padX) / t.scaleX, 0, t.sourceWidth),
    y: clamp((p.y - t.padY) / t.scaleY, 0, t.sourceHeight),
  };
}

/** Maps one source point to model-input space (the forward direction). */
export function mapPointToModel(t: Transform, p: Point): Point {
  return { x: p.x * t.scaleX + t.padX, y: p.y * t.scaleY + t.padY };
}

/** Maps a model-space box (top-left + size) to source pixels, clipped to the image. */
export function mapBoxToSource(t: Transform, box: Box): Box {
  const a = mapPointToSource(t, { x: box.x, y: box.y });
  const b = mapPointToSource(t, { x: box.x + box.width, y: box.y + box.height });
  return { x: a.x, y: a.y, width: b.x - a.x, height: b.y - a.y };
}

/** Maps a source box to model-input space. */
export function mapBoxToModel(t: Transform, box: Box): Box {
  const a = mapPointToModel(t, { x: box.x, y: box.y });
  const b = mapPointToModel(t, { x: box.x + box.width, y: box.y + box.height });
  return { x: a.x, y: a.y, width: b.x - a.x, height: b.y - a.y };
}
