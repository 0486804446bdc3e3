/**
 * The named palette a review rule can ask for (`colours: ["white"]`): an object's dominant
 * colour, computed on the server from the centre of its box (pipeline/colour.ts). Pure, so the
 * page can list the same names.
 */
export const COLOURS = ['black', 'white', 'grey', 'red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'brown'] as const;
export type ColourName = (typeof COLOURS)[number];

/** The palette colour of one pixel, by hue, saturation and value (HSV), for 8-bit RGB. */
export function colourOfPixel(r: number, g: number, b: number): ColourName {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const value = max / 255;
  const saturation = max === 0 ? 0 : (max - min) / max;
  if (value < 0.2) return 'black';
  if (saturation < 0.2) return value > 0.75 ? 'white' : 'grey';
  if (saturation < 0.35 && value < 0.35) return 'black';
  const delta = max - min;
  const hue = (max === r ? ((g - b) / delta + 6) % 6 : max === g ? (b - r) / delta + 2 : (r - g) / delta + 4) * 60;
  if ((hue < 15 || hue >= 345) && value < 0.5) return 'brown';
  if (hue >= 15 && hue < 45 && value < 0.6) return 'brown';
  if (hue < 15 || hue >= 345) return 'red';
  if (hue < 45) return 'orange';
  if (hue < 70) return 'yellow';
  if (hue < 170) return 'green';
  if (hue < 260) return 'blue';
  if (hue < 300) return 'purple';
  return 'pink';
}
