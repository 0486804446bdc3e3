import sharp from 'sharp';
import type { RgbImage } from '../../preprocessing/index.js';
import type { Detection } from '../tasks/index.js';
import { placeLabels } from '../shared/label-layout.js';

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Thumbnails are at most this wide. */
export const THUMBNAIL_MAX_WIDTH = 640;

/** A thumbnail's size for a frame of width x height: at most THUMBNAIL_MAX_WIDTH wide, same aspect. */
export function thumbnailSize(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, THUMBNAIL_MAX_WIDTH / width);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** The decoder's scale for a thumbnail of a video this size (none when it is already small enough). */
export function thumbnailScale(width: number, height: number): { width: number; height: number; interpolation: 'linear' } | undefined {
  const size = thumbnailSize(width, height);
  return size.width < width ? { ...size, interpolation: 'linear' } : undefined;
}

/**
 * JPEG of a frame with its detections (in the pixels of a `sourceWidth`-wide frame) drawn as
 * labelled boxes, at thumbnailSize. The frame is scaled down first (or already is: a decoder
 * can deliver it at that size) and the boxes drawn at the small size: drawing on a 1080p frame
 * and scaling after costs several times more for the same picture.
 */
export async function renderThumbnail(frame: RgbImage, detections: readonly Detection[], sourceWidth: number): Promise<Buffer> {
  const { width, height } = thumbnailSize(frame.width, frame.height);
  const scale = width / sourceWidth;
  const stroke = Math.max(2, Math.round(width / 320));
  const font = Math.max(12, Math.round(width / 40));
  const scaled = detections.map((d) => ({ d, box: [d.box.x, d.box.y, d.box.width, d.box.height].map((v) => v * scale) }));
  const texts = scaled.map(({ d }) => `${d.label} ${(d.score * 100).toFixed(0)}%`);
  // Label boxes sized for the font (about 0.6 em per character), placed so none covers another.
  const spots = placeLabels(scaled.map(({ box: [x, y] }, i) => ({ x, y, width: Math.ceil(texts[i].length * font * 0.6) + 2 * stroke, height: font + 2 * stroke })), { width, height });
  const boxes = scaled.map(({ box: [x, y, w, h] }, i) =>
    `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#ffd400" stroke-width="${stroke}"/>` +
    `<rect x="${spots[i].x}" y="${spots[i].y}" width="${spots[i].width}" height="${spots[i].height}" fill="#000" fill-opacity="0.6"/>` +
    `<text x="${spots[i].x + stroke}" y="${spots[i].y + font}" font-family="DejaVu Sans, sans-serif" font-size="${font}" fill="#ffd400">${escapeXml(texts[i])}</text>`);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${boxes.join('')}</svg>`;
  // sharp resizes before it composites, so the boxes land on the scaled picture.
  return sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } })
    .resize(width, height, { fit: 'fill' })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** An audio job's thumbnail: no picture to show, so a card naming what was heard and when. */
export async function renderAudioThumbnail(labels: readonly string[], startS: number, endS: number): Promise<Buffer> {
  const width = 320, height = 180;
  const clock = (s: number) => `${Math.floor(s / 60)}:${(s % 60).toFixed(1).padStart(4, '0')}`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="${width}" height="${height}" fill="#1d2630"/>`
    + `<text x="16" y="78" font-family="DejaVu Sans, sans-serif" font-size="30" fill="#ffd400">${escapeXml(labels.join(', ') || 'audio')}</text>`
    + `<text x="16" y="122" font-family="DejaVu Sans, sans-serif" font-size="22" fill="#e6edf3">${clock(startS)} to ${clock(endS)}</text></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 80 }).toBuffer();
}
