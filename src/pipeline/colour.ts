import type { RgbImage } from '../../preprocessing/index.js';
import { colourOfPixel, COLOURS, type ColourName } from '../shared/colour.js';
import type { Detection } from '../shared/job-result.js';

/** Pixels looked at per box, on a grid over its centre: enough for a stable majority, cheap at 100 boxes. */
const GRID = 12;
/** The centre of a box: a person's or a car's body, not the background at its corners. */
const CENTRE = { x: 0.5, y: 0.6 };

/**
 * The most common palette colour in the centre of a box (source pixels) of a frame that may
 * be scaled down from the source (`sourceWidth` x `sourceHeight`). Undefined for a box that
 * covers no pixel of the image.
 */
export function dominantColour(image: RgbImage, box: Detection['box'], sourceWidth: number, sourceHeight: number): ColourName | undefined {
  const sx = image.width / sourceWidth;
  const sy = image.height / sourceHeight;
  const x0 = (box.x + (box.width * (1 - CENTRE.x)) / 2) * sx;
  const y0 = (box.y + (box.height * (1 - CENTRE.y)) / 2) * sy;
  const counts = new Map<ColourName, number>();
  for (let j = 0; j < GRID; j++) {
    for (let i = 0; i < GRID; i++) {
      const x = Math.floor(x0 + ((i + 0.5) / GRID) * box.width * CENTRE.x * sx);
      const y = Math.floor(y0 + ((j + 0.5) / GRID) * box.height * CENTRE.y * sy);
      if (x < 0 || y < 0 || x >= image.width || y >= image.height) continue;
      const at = (y * image.width + x) * 3;
      const colour = colourOfPixel(image.data[at], image.data[at + 1], image.data[at + 2]);
      counts.set(colour, (counts.get(colour) ?? 0) + 1);
    }
  }
  return mostCommon(counts);
}

/** The name counted most often (the palette's order breaks ties); undefined when nothing was counted. */
export function mostCommon(counts: ReadonlyMap<ColourName, number>): ColourName | undefined {
  let best: ColourName | undefined;
  for (const colour of COLOURS) if ((counts.get(colour) ?? 0) > (best ? counts.get(best)! : 0)) best = colour;
  return best;
}

/** Each detection with its box's dominant colour (boxes that read text are left as they are). */
export function withColours(detections: readonly Detection[], image: RgbImage, source: { width: number; height: number }): Detection[] {
  return detections.map((d) => {
    if (d.text !== undefined) return d;
    const colour = dominantColour(image, d.box, source.width, source.height);
    return colour ? { ...d, colour } : d;
  });
}
