import sharp, { type Metadata } from 'sharp';
import type { RgbImage } from '../../preprocessing/index.js';
import { FramewatchError } from '../errors/index.js';

export interface DecodeOptions {
  maxPixels: number;
}

/**
 * Decodes an encoded image to RGB with EXIF orientation applied. Checks the pixel limit
 * from the header before decoding, so a huge declared size costs nothing.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<RgbImage> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new FramewatchError('INVALID_INPUT', 'the image header cannot be read', { reason: (err as Error).message });
  }
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels > options.maxPixels) {
    throw new FramewatchError('IMAGE_TOO_LARGE', `the image has ${pixels} pixels; the limit is ${options.maxPixels}`, {
      width: meta.width,
      height: meta.height,
      maxPixels: options.maxPixels,
    });
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: options.maxPixels, failOn: 'truncated', pages: 1 })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (err) {
    throw new FramewatchError('INVALID_INPUT', 'the image cannot be decoded (corrupt or truncated)', {
      reason: (err as Error).message,
    });
  }
}
