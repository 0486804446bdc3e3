import sharp, { type Sharp } from 'sharp';
import type { PreprocessSpec, ResizeSpec } from './spec.js';
import type { Transform } from './transform.js';

/** Decoded pixels: interleaved RGB, 8 bits per channel, row-major. */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export interface ResizePlan {
  /** Size the image content is resized to. */
  readonly contentWidth: number;
  readonly contentHeight: number;
  readonly transform: Transform;
  /** Padding added around the content (letterbox only). */
  readonly pad: { top: number; bottom: number; left: number; right: number; value: number };
}

export interface ModelInput {
  readonly data: Float32Array | Uint8Array;
  /** The resized (and padded) RGB pixels the tensor was made from. */
  readonly pixels: RgbImage;
  /** Tensor dims with batch 1, in the spec's layout. */
  readonly dims: readonly number[];
  readonly dtype: 'float32' | 'uint8';
  readonly transform: Transform;
}

/** Pure resize math: output size, padding and the transform back to source pixels. */
export function planResize(resize: ResizeSpec, sourceWidth: number, sourceHeight: number): ResizePlan {
  const noPad = { top: 0, bottom: 0, left: 0, right: 0, value: 0 };
  const plan = (cw: number, ch: number, iw: number, ih: number, padX: number, padY: number, pad = noPad) => ({
    contentWidth: cw,
    contentHeight: ch,
    pad,
    transform: {
      sourceWidth,
      sourceHeight,
      inputWidth: iw,
      inputHeight: ih,
      scaleX: cw / sourceWidth,
      scaleY: ch / sourceHeight,
      padX,
      padY,
    },
  });
  switch (resize.mode) {
    case 'stretch':
      return plan(resize.width, resize.height, resize.width, resize.height, 0, 0);
    case 'letterbox': {
      const ratio = Math.min(resize.width / sourceWidth, resize.height / sourceHeight);
      const cw = Math.max(1, Math.round(sourceWidth * ratio));
      const ch = Math.max(1, Math.round(sourceHeight * ratio));
      // Ultralytics' rounding: the odd pixel of padding goes to the right and bottom.
      const left = Math.max(0, Math.round((resize.width - cw) / 2 - 0.1));
      const top = Math.max(0, Math.round((resize.height - ch) / 2 - 0.1));
      const pad = { top, bottom: resize.height - ch - top, left, right: resize.width - cw - left, value: resize.padValue };
      return plan(cw, ch, resize.width, resize.height, left, top, pad);
    }
    case 'fit-height': {
      const m = resize.widthMultipleOf;
      const cw = Math.max(1, Math.min(resize.maxWidth, Math.ceil((sourceWidth * resize.height) / sourceHeight)));
      const iw = Math.max(cw, Math.min(Math.ceil(resize.maxWidth / m) * m, Math.ceil(cw / m) * m));
      const pad = { top: 0, bottom: 0, left: 0, right: iw - cw, value: resize.padValue };
      return plan(cw, resize.height, iw, resize.height, 0, 0, pad);
    }
    case 'limit-side': {
      // PaddleOCR's DetResizeForTest with limit_type 'max'.
      const longest = Math.max(sourceWidth, sourceHeight);
      const ratio = longest > resize.maxSide ? resize.maxSide / longest : 1;
      const m = resize.multipleOf;
      const roundTo = (v: number) => Math.max(m, Math.round(Math.trunc(v * ratio) / m) * m);
      const cw = roundTo(sourceWidth);
      const ch = roundTo(sourceHeight);
      return plan(cw, ch, cw, ch, 0, 0);
    }
  }
}

/** Resizes (and pads) RGB pixels with sharp according to the plan. */
export async function resizePixels(image: RgbImage, plan: ResizePlan, interpolation: PreprocessSpec['interpolation']): Promise<RgbImage> {
  const { contentWidth: cw, contentHeight: ch } = plan;
  const { inputWidth: iw, inputHeight: ih } = plan.transform;
  if (cw === image.width && ch === image.height && iw === cw && ih === ch) return image;
  return runResize(sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }), image, plan, interpolation);
}

/**
 * Adds the plan's resize and padding to a sharp pipeline whose output is a `picture`-sized
 * image, and runs it to raw RGB. The picture is resized only where its size is not the plan's
 * content size already (a decoder may have scaled it).
 */
async function runResize(pipeline: Sharp, picture: { width: number; height: number }, plan: ResizePlan, interpolation: PreprocessSpec['interpolation']): Promise<RgbImage> {
  const { contentWidth: cw, contentHeight: ch, pad } = plan;
  const { inputWidth: iw, inputHeight: ih } = plan.transform;
  if (cw !== picture.width || ch !== picture.height) {
    pipeline = pipeline.resize(cw, ch, { fit: 'fill', kernel: interpolation });
  }
  if (iw !== cw || ih !== ch) {
    const v = pad.value;
    pipeline = pipeline.extend({ top: pad.top, bottom: pad.bottom, left: pad.left, right: pad.right, background: { r: v, g: v, b: v } });
  }
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== iw || info.height !== ih) {
    throw new Error(`resize produced ${info.width}x${info.height}x${info.channels}, expected ${iw}x${ih}x3`);
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: iw, height: ih };
}

/**
 * Pure normalization: channel order, (pixel * scale - mean) / std, layout and dtype.
 * `out` may be passed in to reuse a buffer of the right size.
 */
export function toTensor(image: RgbImage, spec: PreprocessSpec, out?: Float32Array | Uint8Array): Float32Array | Uint8Array {
  const { width: w, height: h, data: src } = image;
  const plane = w * h;
  const size = plane * 3;
  const dst = out ?? (spec.dtype === 'uint8' ? new Uint8Array(size) : new Float32Array(size));
  if (dst.length !== size) throw new RangeError(`'out' has length ${dst.length}, expected ${size}`);
  const identity = spec.channelOrder === 'rgb' && spec.layout === 'nhwc' && (spec.dtype === 'uint8' || (spec.scale === 1 && spec.mean.every((m) => m === 0) && spec.std.every((v) => v === 1)));
  if (identity) {
    // Same values in the same order: one native typed-array copy instead of a per-pixel loop.
    dst.set(src.subarray(0, size));
    return dst;
  }
  const gain = [0, 1, 2].map((c) => (spec.dtype === 'uint8' ? 1 : spec.scale / spec.std[c]));
  const bias = [0, 1, 2].map((c) => (spec.dtype === 'uint8' ? 0 : -spec.mean[c] / spec.std[c]));
  for (let c = 0; c < 3; c++) {
    const from = spec.channelOrder === 'bgr' ? 2 - c : c;
    const g = gain[c];
    const b = bias[c];
    if (spec.layout === 'nchw') {
      const base = c * plane;
      for (let i = 0, s = from; i < plane; i++, s += 3) dst[base + i] = src[s] * g + b;
    } else {
      for (let i = c, s = from; i < size; i += 3, s += 3) dst[i] = src[s] * g + b;
    }
  }
  return dst;
}

/**
 * Applies the whole spec: resize/pad with sharp, then normalize. Returns tensor data and
 * transform. With `normalizeInModel` the model normalizes, so the resized pixels are the
 * tensor as they are (no copy, no per-pixel loop).
 *
 * `scaledFrom`: the image is a `source`-sized picture already resized to the plan's content
 * size by its decoder (see decoderScale); only the padding and the tensor step remain, and
 * the transform still maps back to the source's pixels.
 */
export async function applyPreprocessing(image: RgbImage, spec: PreprocessSpec, scaledFrom?: { width: number; height: number }): Promise<ModelInput> {
  const source = scaledFrom ?? image;
  const plan = planResize(spec.resize, source.width, source.height);
  if (scaledFrom && (image.width !== plan.contentWidth || image.height !== plan.contentHeight)) {
    throw new RangeError(`a decoder-scaled frame is ${image.width}x${image.height}, the plan wants ${plan.contentWidth}x${plan.contentHeight}`);
  }
  // A decoder-scaled frame is the plan's content size already: the padding only is left.
  return toModelInput(await resizePixels(image, plan, spec.interpolation), plan, spec);
}

/**
 * The size a video decoder may deliver frames at instead of the source size: the plan's
 * content size, where the plan shrinks the picture on both sides (undefined otherwise: a
 * picture stretched up one way differs more between the two scalers; and for a tiled spec,
 * whose tiles are cut from the full-size frame). ffmpeg
 * then scales before the pipe (a fraction of the bytes, no full-size resize in sharp), and
 * applyPreprocessing with `scaledFrom` finishes. Its filter is not libvips': the pixels differ
 * by about one level on average, 99.9% within four (tested against a looser bound, with the same detections).
 */
export function decoderScale(spec: PreprocessSpec, sourceWidth: number, sourceHeight: number): { width: number; height: number; interpolation: PreprocessSpec['interpolation'] } | undefined {
  // Tiles are cut from the full-size frame.
  if (spec.tiles) return undefined;
  const { contentWidth: width, contentHeight: height } = planResize(spec.resize, sourceWidth, sourceHeight);
  return width < sourceWidth && height < sourceHeight ? { width, height, interpolation: spec.interpolation } : undefined;
}

/**
 * The resize step fused with decoding: `decoder` is a sharp pipeline reading an encoded
 * image (oriented, sRGB, 3 channels) of width x height. One pass through libvips, with JPEG
 * shrink-on-load when the plan downscales enough, and no full-size raw copy in between.
 * For PNG, and JPEGs not shrunk on load, the pixels equal decoding first and resizing the
 * raw pixels; a JPEG shrunk on load differs slightly (up to 5 levels on a 4000x3000 photo
 * to 512x512), so the exporter and the skew check load images this way too (loadImage).
 * Finish with toModelInput.
 */
export async function resizeEncoded(decoder: Sharp, width: number, height: number, spec: PreprocessSpec): Promise<{ pixels: RgbImage; plan: ResizePlan }> {
  const plan = planResize(spec.resize, width, height);
  return { pixels: await runResize(decoder, { width, height }, plan, spec.interpolation), plan };
}

/** The tensor step: resized pixels to model input (no copy when the model normalizes). */
export function toModelInput(resized: RgbImage, plan: ResizePlan, spec: PreprocessSpec): ModelInput {
  const { inputWidth: w, inputHeight: h } = plan.transform;
  if (spec.normalizeInModel) return { data: resized.data, pixels: resized, dims: [1, h, w, 3], dtype: 'uint8', transform: plan.transform };
  const data = toTensor(resized, spec);
  const dims = spec.layout === 'nchw' ? [1, 3, h, w] : [1, h, w, 3];
  return { data, pixels: resized, dims, dtype: spec.dtype, transform: plan.transform };
}

/** The same spec with normalization done in JS: what the source model, before folding, is fed. */
export const withoutFolding = (spec: PreprocessSpec): PreprocessSpec => ({ ...spec, normalizeInModel: undefined });
