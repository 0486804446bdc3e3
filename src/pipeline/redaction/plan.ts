import type { TrajectoryPoint } from '../tracker.js';

// Where the masks go on every frame. Targets are detected on sampled frames only, so each
// target's box is interpolated onto every decoded frame's time between its samples, held
// before its first sample and after its last (a face missed for a sample stays covered),
// and dilated by a margin. Fail-safe by construction: a time inside a target's span always
// gets a box, and the boxes only grow.

/** One thing to hide: a track's path of boxes (source pixels), as the job result keeps it. */
export interface RedactionTarget {
  trackId: number;
  label: string;
  trajectory: readonly TrajectoryPoint[];
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

/** The box grown by the margin on each side, as whole pixels inside the frame (empty: width 0). */
export function dilate(box: MaskBox, margin: number, frame: { width: number; height: number }): MaskBox {
  const x0 = Math.max(0, Math.floor(box.x - box.width * margin));
  const y0 = Math.max(0, Math.floor(box.y - box.height * margin));
  const x1 = Math.min(frame.width, Math.ceil(box.x + box.width * (1 + margin)));
  const y1 = Math.min(frame.height, Math.ceil(box.y + box.height * (1 + margin)));
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
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
      .map((t) => dilate(boxAt(t.trajectory, timeS), timing.margin, frame))
      .filter((b) => b.width > 0 && b.height > 0);
}
