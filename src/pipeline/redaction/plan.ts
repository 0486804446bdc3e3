import type { TrajectoryPoint } from '../tracker.js';

// Where the masks go on every frame. Targets are detected on sampled frames only, so each
// target's box is interpolated onto every decoded frame's time between its samples, held
// before its first sample and after its last (a face missed for a sample stays covered),
// and dilated by a margin. Fail-safe by construction: a time inside a target's span always
// gets a box, and the boxes only grow. Before the first sample and after the last, where the
// target was not seen, its box grows each way by how fast it was moving there, times the
// time since: a face still walking when its track ends (or the clip's last sample passes)
// stays under the mask instead of walking out of a held box.

/** One thing to hide: a track's path of boxes (source pixels), as the job result keeps it. */
export interface RedactionTarget {
  trackId: number;
  label: string;
  trajectory: readonly TrajectoryPoint[];
  /**
   * Each side grows by at least this many pixels, whatever the margin. A detector places a
   * box to within a pixel or two of its input; for a face found in a 512-px tile run at 256,
   * that is 2-4 source pixels, more than a 15% margin of a 20-px face.
   */
  minMarginPx?: number;
  /**
   * Each side grows by at least these shares of the box's width (x) and height (y), whatever
   * the margin: a text line's box holds its characters only, and the plate, sign or screen
   * around them is about twice as tall.
   */
  minMarginShare?: { x: number; y: number };
}

export interface MaskTiming {
  /** Seconds the mask starts before the target's first sample. */
  leadS: number;
  /** Seconds the mask stays after the target's last sample (after its track is lost). */
  holdS: number;
  /** Each side of a box grows by this share of the box's width and height. */
  margin: number;
}

export const DEFAULT_MASK_TIMING: MaskTiming = { leadS: 0.5, holdS: 1, margin: 0.15 };

export interface MaskBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The target's box at `timeS`: linear between the samples around it, the nearest one outside them. */
export function boxAt(trajectory: readonly TrajectoryPoint[], timeS: number): MaskBox {
  let i = 0;
  while (i < trajectory.length && trajectory[i][0] < timeS) i++;
  const after = trajectory[Math.min(i, trajectory.length - 1)];
  const before = trajectory[Math.max(0, i - 1)];
  const span = after[0] - before[0];
  const share = span > 0 ? Math.min(1, Math.max(0, (timeS - before[0]) / span)) : 0;
  const mix = (k: number) => before[k] + (after[k] - before[k]) * share;
  return { x: mix(1), y: mix(2), width: mix(3), height: mix(4) };
}

/** The box grown by the margin (at least `minPx`, and `minShare` of its size) on each side, as whole pixels inside the frame (empty: width 0). */
export function dilate(box: MaskBox, margin: number, frame: { width: number; height: number }, minPx = 0, minShare = { x: 0, y: 0 }): MaskBox {
  const [gx, gy] = [Math.max(box.width * Math.max(margin, minShare.x), minPx), Math.max(box.height * Math.max(margin, minShare.y), minPx)];
  const x0 = Math.max(0, Math.floor(box.x - gx));
  const y0 = Math.max(0, Math.floor(box.y - gy));
  const x1 = Math.min(frame.width, Math.ceil(box.x + box.width + gx));
  const y1 = Math.min(frame.height, Math.ceil(box.y + box.height + gy));
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

/** Pixels per second the box's centre moved along each axis between two samples (0 for one sample). */
function centreSpeed(a: TrajectoryPoint, b: TrajectoryPoint): { x: number; y: number } {
  const dt = Math.abs(b[0] - a[0]);
  if (dt === 0) return { x: 0, y: 0 };
  return { x: Math.abs(b[1] + b[3] / 2 - (a[1] + a[3] / 2)) / dt, y: Math.abs(b[2] + b[4] / 2 - (a[2] + a[4] / 2)) / dt };
}

/** The box grown by `dx` and `dy` on each side. */
const grow = (box: MaskBox, dx: number, dy: number): MaskBox => ({ x: box.x - dx, y: box.y - dy, width: box.width + 2 * dx, height: box.height + 2 * dy });

/**
 * The target's box at `timeS`: interpolated inside its samples; outside them (the lead and
 * the hold) the nearest sample's box, grown by the target's speed at that end times the time
 * from that sample.
 */
export function unseenAwareBoxAt(trajectory: readonly TrajectoryPoint[], timeS: number): MaskBox {
  const [first, last] = [trajectory[0], trajectory.at(-1)!];
  const box = boxAt(trajectory, timeS);
  if (timeS < first[0]) {
    const v = centreSpeed(first, trajectory[Math.min(1, trajectory.length - 1)]);
    return grow(box, v.x * (first[0] - timeS), v.y * (first[0] - timeS));
  }
  if (timeS > last[0]) {
    const v = centreSpeed(trajectory[Math.max(0, trajectory.length - 2)], last);
    return grow(box, v.x * (timeS - last[0]), v.y * (timeS - last[0]));
  }
  return box;
}

/**
 * A function from a frame's time to the masks on it: every target whose span, led and held
 * by the timing, covers the time.
 */
export function maskPlan(targets: readonly RedactionTarget[], timing: MaskTiming, frame: { width: number; height: number }) {
  const live = targets.filter((t) => t.trajectory.length > 0);
  return (timeS: number): MaskBox[] =>
    live
      .filter((t) => timeS >= t.trajectory[0][0] - timing.leadS && timeS <= t.trajectory.at(-1)![0] + timing.holdS)
      .map((t) => dilate(unseenAwareBoxAt(t.trajectory, timeS), timing.margin, frame, t.minMarginPx, t.minMarginShare))
      .filter((b) => b.width > 0 && b.height > 0);
}
