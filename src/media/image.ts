import sharp, { type Metadata, type Sharp } from 'sharp';
import { resizeEncoded, toModelInput, type ModelInput, type PreprocessSpec, type ResizePlan, type RgbImage } from '../../preprocessing/index.js';
import { FramewatchError } from '../errors/index.js';

export interface DecodeOptions {
  maxPixels: number;
}

/**
 * Reads the header and checks the pixel limit before anything is decoded, so a huge declared
 * size costs nothing. Returns the size after EXIF orientation.
 */
async function checkHeader(bytes: Uint8Array, options: DecodeOptions): Promise<{ width: number; height: number }> {
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
  return meta.autoOrient ?? { width: meta.width ?? 0, height: meta.height ?? 0 };
}

/** The decoder: first page, EXIF orientation applied, alpha dropped, sRGB. */
const decoder = (bytes: Uint8Array, options: DecodeOptions): Sharp =>
  sharp(bytes, { limitInputPixels: options.maxPixels, failOn: 'truncated', pages: 1 }).rotate().removeAlpha().toColourspace('srgb');

const undecodable = (err: unknown) =>
  err instanceof FramewatchError ? err : new FramewatchError('INVALID_INPUT', 'the image cannot be decoded (corrupt or truncated)', { reason: (err as Error).message });

/** Decodes an encoded image to RGB with EXIF orientation applied. */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<RgbImage> {
  await checkHeader(bytes, options);
  try {
    const { data, info } = await decoder(bytes, options).raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (err) {
    throw undecodable(err);
  }
}

/**
 * Decodes and resizes for the model in one libvips pipeline (the image path's hot path): the
 * same pixels as decodeImage + the shared resize, without the full-size raw copy in between.
 * `width` and `height` are the decoded image's.
 */
export async function decodeResized(bytes: Uint8Array, spec: PreprocessSpec, options: DecodeOptions): Promise<{ pixels: RgbImage; plan: ResizePlan; width: number; height: number }> {
  const { width, height } = await checkHeader(bytes, options);
  try {
    return { ...(await resizeEncoded(decoder(bytes, options), width, height, spec)), width, height };
  } catch (err) {
    throw undecodable(err);
  }
}

/**
 * The serving path's whole image loading: fused decode and resize, then the tensor step.
 * The exporter's golden outputs and drift reference, and the skew check at load, use it too,
 * so they see exactly what serving sees (JPEG shrink-on-load included).
 */
export async function loadImage(bytes: Uint8Array, spec: PreprocessSpec, options: DecodeOptions): Promise<{ input: ModelInput; width: number; height: number }> {
  const { pixels, plan, width, height } = await decodeResized(bytes, spec, options);
  return { input: toModelInput(pixels, plan, spec), width, height };
}
