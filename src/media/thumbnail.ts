import sharp from 'sharp';
import type { RgbImage } from '../../preprocessing/index.js';
import type { Detection } from '../tasks/index.js';

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** JPEG of a frame with its detections drawn as labelled boxes. */
export async function renderThumbnail(frame: RgbImage, detections: readonly Detection[], maxWidth = 640): Promise<Buffer> {
  const stroke = Math.max(2, Math.round(frame.width / 320));
  const font = Math.max(12, Math.round(frame.width / 40));
  const boxes = detections.map((d) => {
    const { x, y, width, height } = d.box;
    const text = `${escapeXml(d.label)} ${(d.score * 100).toFixed(0)}%`;
    return `<rect x="${x}" y="${y}" width="${width}" height="${height}" fill="none" stroke="#ffd400" stroke-width="${stroke}"/>` +
      `<text x="${x + stroke}" y="${Math.max(font, y - stroke)}" font-family="DejaVu Sans, sans-serif" font-size="${font}" fill="#ffd400" stroke="#000" stroke-width="0.6">${text}</text>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${frame.width}" height="${frame.height}">${boxes.join('')}</svg>`;
  return sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .jpeg({ quality: 85 })
    .toBuffer()
    .then((jpeg) => (frame.width > maxWidth ? sharp(jpeg).resize({ width: maxWidth }).jpeg({ quality: 85 }).toBuffer() : jpeg));
}

/** Lossless copy of a frame (kept for the best frame of each track until thumbnails are drawn). */
export async function encodePng(frame: RgbImage): Promise<Buffer> {
  return sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
}
