import type { RgbImage } from '../../preprocessing/index.js';

export type { MotionOptions } from '../shared/video.js';
import type { MotionOptions } from '../shared/video.js';

/** A forced inference at least this often, in seconds of video, unless a request says otherwise. */
export const DEFAULT_MOTION_MAX_SKIP_S = 5;

/** Grid cells per side of the signature, and what counts as a change in one cell. */
const CELLS = 32;
const CELL_DELTA = 10;
/** A frame has moved when this share of cells changed (2 of 1,024 cells). */
const MIN_CHANGED_RATIO = 2 / (CELLS * CELLS);

/**
 * A small grey image: the mean luma of each cell of a CELLS x CELLS grid over the picture
 * (every second pixel of every second row). Block means average codec noise away. It is
 * computed on the model-sized pixels, never the source frame.
 */
export function motionSignature(image: RgbImage): Uint8Array {
  const { data, width, height } = image;
  const sums = new Float64Array(CELLS * CELLS);
  const counts = new Uint32Array(CELLS * CELLS);
  for (let y = 0; y < height; y += 2) {
    const row = Math.min(CELLS - 1, Math.floor((y * CELLS) / height)) * CELLS;
    for (let x = 0; x < width; x += 2) {
      const i = (y * width + x) * 3;
      const cell = row + Math.min(CELLS - 1, Math.floor((x * CELLS) / width));
      sums[cell] += 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
      counts[cell]++;
    }
  }
  return Uint8Array.from(sums, (s, i) => (counts[i] ? Math.round(s / counts[i]) : 0));
}

/** Share of cells whose mean luma moved by more than CELL_DELTA. */
export function changedRatio(a: Uint8Array, b: Uint8Array): number {
  let changed = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > CELL_DELTA) changed++;
  return changed / a.length;
}

/** Decides frame by frame, in time order, whether a frame goes to the model; counts both. */
export function createMotionGate(options: MotionOptions | undefined) {
  let last: { signature: Uint8Array; timeS: number } | undefined;
  const counts = { framesInferred: 0, framesSkipped: 0 };
  return {
    counts,
    shouldInfer(timeS: number, pixels: RgbImage): boolean {
      if (!options?.enabled) {
        counts.framesInferred++;
        return true;
      }
      const signature = motionSignature(pixels);
      const infer = !last || timeS - last.timeS >= options.maxSkipS || changedRatio(last.signature, signature) >= MIN_CHANGED_RATIO;
      if (infer) {
        last = { signature, timeS };
        counts.framesInferred++;
      } else counts.framesSkipped++;
      return infer;
    },
  };
}
