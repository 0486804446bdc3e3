import sharp from 'sharp';
import { applyPreprocessing, type ModelInput, type RgbImage } from './apply.js';
import type { PreprocessSpec, TilesSpec } from './spec.js';
import type { Box, Transform } from './transform.js';

/** A tile: a rectangle of the source picture, in source pixels. */
export type TileRect = Box;

/** One model input made from a picture: the whole picture, or one tile of it (`tile` set). */
export interface View {
  readonly input: ModelInput;
  readonly tile?: TileRect;
}

/** Evenly spread starts of `count` segments of `size` over `length` (first at 0, last at the end). */
function spreadStarts(length: number, size: number, count: number): number[] {
  if (count === 1) return [0];
  return Array.from({ length: count }, (_, i) => Math.round((i * (length - size)) / (count - 1)));
}

/** Tiles along one side: as few as cover it with neighbours overlapping by at least minOverlap. */
function tilesAlong(length: number, tiles: TilesSpec): { size: number; starts: number[] } {
  const size = Math.min(tiles.size, length);
  const step = Math.max(1, size - tiles.minOverlap);
  const count = size >= length ? 1 : Math.ceil((length - tiles.minOverlap) / step);
  return { size, starts: spreadStarts(length, size, count) };
}

/**
 * Tiles are worth their runs only where they see the picture at this many times the whole
 * view's resolution (its longer side over the tile size, the model input being square).
 */
export const MIN_TILING_GAIN = 1.5;

/**
 * Pure tiling math: the grid of tiles, row by row, that covers a width x height picture.
 * A picture whose longer side is under MIN_TILING_GAIN tiles gets none (548x342 at 512:
 * tiles would see it at 1.07x the whole view, for three runs instead of one).
 */
export function planTiles(tiles: TilesSpec, width: number, height: number): TileRect[] {
  if (Math.max(width, height) < MIN_TILING_GAIN * tiles.size) return [];
  const across = tilesAlong(width, tiles);
  const down = tilesAlong(height, tiles);
  return down.starts.flatMap((y) => across.starts.map((x) => ({ x, y, width: across.size, height: down.size })));
}

/**
 * A tile's transform made to map back to the whole picture: src = (model - pad) / scale + offset,
 * folded into the pad so that mapBoxToSource needs nothing else.
 */
export function tileTransform(t: Transform, tile: TileRect, picture: { width: number; height: number }): Transform {
  return { ...t, sourceWidth: picture.width, sourceHeight: picture.height, padX: t.padX - tile.x * t.scaleX, padY: t.padY - tile.y * t.scaleY };
}

/** Crops one tile out of RGB pixels. */
async function cropTile(image: RgbImage, tile: TileRect): Promise<RgbImage> {
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left: tile.x, top: tile.y, width: tile.width, height: tile.height })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/**
 * The model inputs of a picture: the whole picture first, then, when the spec has `tiles`,
 * each tile, preprocessed as the spec says and with transforms back to the whole picture.
 */
export async function preprocessViews(image: RgbImage, spec: PreprocessSpec): Promise<View[]> {
  const whole: View = { input: await applyPreprocessing(image, spec) };
  if (!spec.tiles) return [whole];
  const tiles = await Promise.all(
    planTiles(spec.tiles, image.width, image.height).map(async (tile) => {
      const input = await applyPreprocessing(await cropTile(image, tile), spec);
      return { input: { ...input, transform: tileTransform(input.transform, tile, image) }, tile };
    }),
  );
  return [whole, ...tiles];
}

/**
 * True when a box (source pixels) touches an edge of its tile that is inside the picture: a
 * face cut by the tile's border, which the neighbouring tile or the whole view sees whole.
 */
export function touchesInnerEdge(box: Box, tile: TileRect, picture: { width: number; height: number }, margin = 2): boolean {
  const left = tile.x > 0 && box.x <= tile.x + margin;
  const top = tile.y > 0 && box.y <= tile.y + margin;
  const right = tile.x + tile.width < picture.width && box.x + box.width >= tile.x + tile.width - margin;
  const bottom = tile.y + tile.height < picture.height && box.y + box.height >= tile.y + tile.height - margin;
  return left || top || right || bottom;
}
