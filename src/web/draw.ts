import type { Detection } from '../shared/job-result.js';
import { placeLabels } from '../shared/label-layout.js';

const COLOURS = ['#ffd400', '#4fc3f7', '#f06292', '#81c784', '#ffb74d', '#ba68c8'];

/** A label's colour: the same label always gets the same colour on this page. */
export type Colours = (label: string) => string;

/** Colours handed out in order of first use. */
export function createColours(): Colours {
  const seen = new Map<string, string>();
  return (label) => {
    const known = seen.get(label);
    if (known) return known;
    const colour = COLOURS[seen.size % COLOURS.length];
    seen.set(label, colour);
    return colour;
  };
}

/** Boxes with their labels, scaled from source pixels; labels never cover each other. */
export function drawBoxes(ctx: CanvasRenderingContext2D, detections: readonly Detection[], scale: number, picture: { width: number; height: number }, colourOf: Colours) {
  ctx.lineWidth = 3;
  ctx.font = '16px system-ui, sans-serif';
  const texts = detections.map((d) => `${d.label} ${(d.score * 100).toFixed(0)}%`);
  const spots = placeLabels(detections.map((d, i) => ({ x: d.box.x * scale, y: d.box.y * scale, width: ctx.measureText(texts[i]).width + 8, height: 20 })), picture);
  for (const [i, d] of detections.entries()) {
    const c = colourOf(d.label);
    ctx.strokeStyle = c;
    ctx.strokeRect(d.box.x * scale, d.box.y * scale, d.box.width * scale, d.box.height * scale);
    ctx.fillStyle = c;
    ctx.fillRect(spots[i].x, spots[i].y, spots[i].width, spots[i].height);
    ctx.fillStyle = '#000';
    ctx.fillText(texts[i], spots[i].x + 4, spots[i].y + 15);
  }
}

