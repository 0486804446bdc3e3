import sharp from 'sharp';

/** A rendered line of text with what it says: the labelled test set for the recognizer. */
export interface RenderedLine {
  text: string;
  png: Buffer;
  style: string;
}

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** One line of text on a plain background, with a margin of about a third of the font size. */
export async function renderLine(text: string, o: { font: string; size: number; fg: string; bg: string; blur?: number; rotate?: number }): Promise<Buffer> {
  const width = Math.ceil(text.length * o.size * 0.68) + o.size;
  const height = Math.ceil(o.size * 1.6);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="${o.bg}"/>` +
    `<text x="${o.size / 2}" y="${o.size * 1.15}" font-family="${o.font}" font-size="${o.size}" fill="${o.fg}">${escapeXml(text)}</text></svg>`;
  let image = sharp(Buffer.from(svg)).flatten({ background: o.bg });
  if (o.rotate) image = sharp(await image.png().toBuffer()).rotate(o.rotate, { background: o.bg });
  if (o.blur) image = sharp(await image.png().toBuffer()).blur(o.blur);
  return image.removeAlpha().png().toBuffer();
}

export const LINES = [
  'GATE 14B', 'Exit only', 'Platform 9', 'KA 05 MN 2024', 'Loading dock 3', 'framewatch review',
  'Camera 12 North', 'No parking 8am-6pm', 'Order 48213', 'Welcome to Berlin', 'Speed limit 30', 'Room 204',
];

/**
 * The set: every line in three fonts at two sizes on light and dark backgrounds, plus blurred
 * and slightly rotated lines. Fonts are Debian's DejaVu and Liberation families.
 */
export async function renderedSet(): Promise<RenderedLine[]> {
  const styles = [
    { font: 'DejaVu Sans', size: 32, fg: '#111', bg: '#fff' },
    { font: 'DejaVu Serif', size: 26, fg: '#fff', bg: '#1b2a3a' },
    { font: 'Liberation Sans', size: 40, fg: '#202020', bg: '#f3e9c6' },
    { font: 'DejaVu Sans Mono', size: 22, fg: '#ffd400', bg: '#000' },
  ];
  const out: RenderedLine[] = [];
  for (const [i, text] of LINES.entries()) {
    const style = styles[i % styles.length];
    out.push({ text, style: `${style.font} ${style.size}px ${style.bg}`, png: await renderLine(text, style) });
    const other = styles[(i + 2) % styles.length];
    out.push({ text, style: `${other.font} ${other.size}px ${other.bg}`, png: await renderLine(text, other) });
    if (i % 3 === 0) out.push({ text, style: 'blurred', png: await renderLine(text, { ...styles[0], blur: 1 }) });
    if (i % 3 === 1) out.push({ text, style: 'rotated 2°', png: await renderLine(text, { ...styles[2], rotate: i % 2 ? 2 : -2 }) });
  }
  return out;
}

export { editDistance } from '../../src/pipeline/tracker.js';
