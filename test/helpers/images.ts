import sharp from 'sharp';
import type { Box } from '../../preprocessing/index.js';

/** A plain image of one grey level, encoded as PNG. */
export async function blankPng(width: number, height: number, level = 255): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: level, g: level, b: level } } }).png().toBuffer();
}

/**
 * Black DejaVu Sans text on white at (x, baseline y), rendered by sharp from SVG.
 * Returns the PNG and the text's true box, measured from the rendered dark pixels.
 */
export async function renderText(width: number, height: number, text: string, x: number, y: number, size = 32): Promise<{ png: Buffer; box: Box }> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="white"/>
    <text x="${x}" y="${y}" font-family="DejaVu Sans" font-size="${size}" fill="black">${text}</text></svg>`;
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let yy = 0; yy < info.height; yy++) {
    for (let xx = 0; xx < info.width; xx++) {
      if (data[yy * info.width + xx] < 128) {
        x0 = Math.min(x0, xx); y0 = Math.min(y0, yy); x1 = Math.max(x1, xx); y1 = Math.max(y1, yy);
      }
    }
  }
  if (x1 < 0) throw new Error('no text was rendered: are the DejaVu fonts installed?');
  return { png, box: { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 } };
}
