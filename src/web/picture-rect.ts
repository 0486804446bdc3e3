// Where the video's picture sits inside the player: <video> shows it with object-fit: contain,
// so a picture of another shape than the player has bars (letterbox or pillarbox). Every
// drawing on the overlay and every click on it goes through this rectangle. Pure.
import type { Vec } from '../shared/polygon.js';

/** The picture's place in the player, in CSS pixels, and its scale from source pixels. */
export interface PictureRect { x: number; y: number; width: number; height: number; scale: number }

/** The picture of a `source`-sized video inside a `box`-sized player (object-fit: contain, centred). */
export function pictureRect(box: { width: number; height: number }, source: { width: number; height: number }): PictureRect {
  const scale = Math.min(box.width / source.width, box.height / source.height);
  const [width, height] = [source.width * scale, source.height * scale];
  return { x: (box.width - width) / 2, y: (box.height - height) / 2, width, height, scale };
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** A point on the player as frame-relative coordinates; a click on a bar counts as the picture's nearest edge. */
export const toFrame = (r: PictureRect, px: number, py: number): Vec => [clamp01((px - r.x) / r.width), clamp01((py - r.y) / r.height)];

/** A frame-relative point on the player. */
export const frameToPlayer = (r: PictureRect, [fx, fy]: Vec): Vec => [r.x + fx * r.width, r.y + fy * r.height];

/** A point in source pixels on the player. */
export const sourceToPlayer = (r: PictureRect, x: number, y: number): Vec => [r.x + x * r.scale, r.y + y * r.scale];
