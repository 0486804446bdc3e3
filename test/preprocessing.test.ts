import { describe, expect, it } from 'vitest';
import {
  applyPreprocessing,
  mapBoxToModel,
  mapBoxToSource,
  planResize,
  preprocessSpecSchema,
  toTensor,
  type ResizeSpec,
} from '../preprocessing/index.js';

describe('planResize', () => {
  it.each<[string, ResizeSpec, number, number, { w: number; h: number; padX: number; padY: number }]>([
    ['stretch', { mode: 'stretch', width: 512, height: 512 }, 640, 480, { w: 512, h: 512, padX: 0, padY: 0 }],
    ['letterbox wide', { mode: 'letterbox', width: 640, height: 640, padValue: 114 }, 1280, 720, { w: 640, h: 640, padX: 0, padY: 140 }],
    ['letterbox tall', { mode: 'letterbox', width: 640, height: 640, padValue: 114 }, 480, 640, { w: 640, h: 640, padX: 80, padY: 0 }],
    ['limit-side small', { mode: 'limit-side', maxSide: 960, multipleOf: 32 }, 556, 257, { w: 544, h: 256, padX: 0, padY: 0 }],
    ['limit-side large', { mode: 'limit-side', maxSide: 960, multipleOf: 32 }, 1920, 1080, { w: 960, h: 544, padX: 0, padY: 0 }],
    ['limit-side tiny', { mode: 'limit-side', maxSide: 960, multipleOf: 32 }, 10, 5, { w: 32, h: 32, padX: 0, padY: 0 }],
  ])('%s', (_name, resize, sw, sh, expected) => {
    const { transform } = planResize(resize, sw, sh);
    expect({ w: transform.inputWidth, h: transform.inputHeight, padX: transform.padX, padY: transform.padY }).toEqual(expected);
  });

  it.each<[string, ResizeSpec]>([
    ['stretch', { mode: 'stretch', width: 300, height: 300 }],
    ['letterbox', { mode: 'letterbox', width: 640, height: 640, padValue: 114 }],
    ['limit-side', { mode: 'limit-side', maxSide: 960, multipleOf: 32 }],
  ])('%s: a box mapped to the model and back returns to itself', (_name, resize) => {
    const { transform } = planResize(resize, 1280, 700);
    const box = { x: 100.5, y: 50.25, width: 300, height: 200 };
    const back = mapBoxToSource(transform, mapBoxToModel(transform, box));
    expect(back.x).toBeCloseTo(box.x, 9);
    expect(back.y).toBeCloseTo(box.y, 9);
    expect(back.width).toBeCloseTo(box.width, 9);
    expect(back.height).toBeCloseTo(box.height, 9);
  });

  it('clips boxes that fall into the letterbox padding to the source image', () => {
    const { transform } = planResize({ mode: 'letterbox', width: 640, height: 640, padValue: 114 }, 1280, 720);
    expect(mapBoxToSource(transform, { x: -10, y: 0, width: 700, height: 640 })).toEqual({ x: 0, y: 0, width: 1280, height: 720 });
  });
});

describe('toTensor', () => {
  // 2x1 image: a red pixel and a blue pixel.
  const image = { data: new Uint8Array([255, 0, 0, 0, 0, 255]), width: 2, height: 1 };
  const spec = (over: object) => preprocessSpecSchema.parse({ resize: { mode: 'stretch', width: 2, height: 1 }, ...over });

  it('lays out NCHW with RGB order and /255 scaling', () => {
    expect([...toTensor(image, spec({}))]).toEqual([1, 0, 0, 0, 0, 1]);
  });

  it('lays out NHWC', () => {
    expect([...toTensor(image, spec({ layout: 'nhwc' }))]).toEqual([1, 0, 0, 0, 0, 1]);
  });

  it('swaps to BGR before applying mean and std in output channel order', () => {
    const t = toTensor(image, spec({ channelOrder: 'bgr', mean: [0.5, 0, 0], std: [0.5, 1, 1] }));
    // channel 0 is blue: (0 - 0.5) / 0.5 = -1 for the red pixel, (1 - 0.5) / 0.5 = 1 for the blue one.
    expect([...t]).toEqual([-1, 1, 0, 0, 1, 0]);
  });

  it('takes the copy fast path for identity specs (RGB, NHWC, no scaling) with the same values', () => {
    const t = toTensor(image, spec({ layout: 'nhwc', scale: 1 }));
    expect(t).toBeInstanceOf(Float32Array);
    expect([...t]).toEqual([255, 0, 0, 0, 0, 255]);
  });

  it('keeps raw bytes for uint8 models', () => {
    const t = toTensor(image, spec({ dtype: 'uint8' }));
    expect(t).toBeInstanceOf(Uint8Array);
    expect([...t]).toEqual([255, 0, 0, 0, 0, 255]);
  });
});

describe('applyPreprocessing', () => {
  it('letterboxes with the pad value and reports the transform', async () => {
    const white = { data: new Uint8Array(4 * 2 * 3).fill(255), width: 4, height: 2 };
    const input = await applyPreprocessing(
      white,
      preprocessSpecSchema.parse({ resize: { mode: 'letterbox', width: 4, height: 4, padValue: 114 }, dtype: 'uint8', layout: 'nhwc' }),
    );
    expect(input.dims).toEqual([1, 4, 4, 3]);
    const rows = [0, 1, 2, 3].map((y) => input.data[y * 4 * 3]);
    expect(rows).toEqual([114, 255, 255, 114]);
    expect(input.transform).toMatchObject({ padX: 0, padY: 1, scaleX: 1, scaleY: 1 });
  });
});

describe('served image loading (fused decode and resize) across formats', () => {
  it('16-bit PNG, CMYK JPEG, grey PNG with alpha, WebP and GIF all give uint8 RGB pixels of the model size, close to the plain JPEG', async () => {
    const { readFile } = await import('node:fs/promises');
    const sharp = (await import('sharp')).default;
    const { loadImage } = await import('../src/media/image.js');
    const manifest = JSON.parse(await readFile('models/object-detector/2/manifest.json', 'utf8'));
    const spec = preprocessSpecSchema.parse(manifest.preprocessing);
    const source = await readFile('test/fixtures/messi5.jpg');
    const reference = (await loadImage(source, spec, { maxPixels: 40e6 })).input;
    const variants = {
      png16: await sharp(source).toColourspace('rgb16').png().toBuffer(),
      cmykJpeg: await sharp(source).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer(),
      greyAlphaPng: await sharp(source).greyscale().ensureAlpha(0.5).png().toBuffer(),
      webp: await sharp(source).webp({ lossless: true }).toBuffer(),
      gif: await sharp(source).gif().toBuffer(),
    };
    for (const [name, bytes] of Object.entries(variants)) {
      const { input, width, height } = await loadImage(bytes, spec, { maxPixels: 40e6 });
      expect({ name, width, height, dims: input.dims }).toEqual({ name, width: 548, height: 342, dims: [1, 512, 512, 3] });
      expect(input.data).toBeInstanceOf(Uint8Array);
      expect(input.data.length).toBe(512 * 512 * 3);
      // Same picture: mean absolute difference to the plain JPEG's pixels stays small (grey and
      // 256-colour GIF lose colour, so the bound is loose; a wrong channel layout would blow it).
      let sum = 0;
      for (let i = 0; i < input.data.length; i++) sum += Math.abs(input.data[i] - reference.data[i]);
      expect(sum / input.data.length, name).toBeLessThan(25);
    }
  });
});
