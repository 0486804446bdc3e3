import { z } from 'zod';

const triple = z.tuple([z.number(), z.number(), z.number()]);

/** How the decoded image is brought to the model's input size. */
export const resizeSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('stretch'), width: z.number().int().positive(), height: z.number().int().positive() }),
  z.object({
    mode: z.literal('letterbox'),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    padValue: z.number().int().min(0).max(255).default(114),
  }),
  z.object({
    /**
     * Text-line recognizers (PaddleOCR's resize_norm_img): the height is fixed, the width
     * follows the aspect ratio up to maxWidth, and the right is padded to a multiple of
     * widthMultipleOf. Lines of similar width get the same input width, so they share a batch.
     */
    mode: z.literal('fit-height'),
    height: z.number().int().positive(),
    maxWidth: z.number().int().positive(),
    widthMultipleOf: z.number().int().positive().default(1),
    padValue: z.number().int().min(0).max(255).default(128),
  }),
  z.object({
    mode: z.literal('limit-side'),
    /** The longest side is capped at this many pixels (images are never upscaled). */
    maxSide: z.number().int().positive(),
    /** Each output side is rounded to a multiple of this (at least one multiple). */
    multipleOf: z.number().int().positive().default(1),
  }),
]);

/**
 * Tiling for small objects: besides the whole picture, the model sees square tiles of `size`
 * source pixels (a grid spread evenly, neighbours overlapping by at least `minOverlap`), each
 * resized as `resize` says; detections of all views are merged by the task's NMS.
 */
export const tilesSchema = z.object({
  size: z.number().int().positive(),
  minOverlap: z.number().int().nonnegative().default(64),
});

/**
 * Declarative preprocessing: every step needed to turn decoded RGB pixels into the model
 * input, so the same steps can be replayed in any training stack.
 * value = (pixel * scale - mean[c]) / std[c], with c in the output channel order.
 */
export const preprocessSpecSchema = z.object({
  resize: resizeSchema,
  interpolation: z.enum(['nearest', 'linear', 'cubic', 'lanczos3']).default('linear'),
  channelOrder: z.enum(['rgb', 'bgr']).default('rgb'),
  scale: z.number().positive().default(1 / 255),
  mean: triple.default([0, 0, 0]),
  std: triple.default([1, 1, 1]).refine((s) => s.every((v) => v !== 0), 'std values must be non-zero'),
  layout: z.enum(['nchw', 'nhwc']).default('nchw'),
  dtype: z.enum(['float32', 'uint8']).default('float32'),
  /**
   * True when the exporter prepended channel order, scale, mean, std and layout to the graph
   * as ONNX nodes: the server then feeds the resized pixels themselves, uint8 RGB [N, H, W, 3],
   * and the fields above describe what those nodes compute.
   */
  normalizeInModel: z.boolean().optional(),
  /** Whole picture plus tiles (see tilesSchema); images and video frames alike. */
  tiles: tilesSchema.optional(),
});

export type PreprocessSpec = z.infer<typeof preprocessSpecSchema>;
export type PreprocessSpecInput = z.input<typeof preprocessSpecSchema>;
export type ResizeSpec = z.infer<typeof resizeSchema>;
export type TilesSpec = z.infer<typeof tilesSchema>;
