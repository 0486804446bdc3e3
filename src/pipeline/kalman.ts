import type { Box } from '../../preprocessing/index.js';

// A constant-velocity Kalman filter over a box's centre and size (cx, cy, w, h), in seconds:
// sample intervals vary (the exact grid, keyframes seconds apart, motion-gated carry-forward).
// With a diagonal process and measurement noise the four axes are independent, so each is a
// two-state (position, velocity) filter: exact, and a handful of multiplications per axis.

/** One axis: position p, velocity v (per second), covariance [[a, b], [b, c]]. */
export interface AxisState {
  p: number;
  v: number;
  a: number;
  b: number;
  c: number;
}

/** A box's filter: cx, cy, w, h. */
export type BoxState = readonly [AxisState, AxisState, AxisState, AxisState];

export interface MotionNoise {
  /** Detector box noise: standard deviation of each coordinate, in box sizes. */
  measurement: number;
  /** Velocity a new track may have: standard deviation in box sizes per second. */
  initialVelocity: number;
  /** Acceleration (white noise): box sizes per s², for the centre; sizes change slower. */
  acceleration: number;
  sizeAcceleration: number;
}

/**
 * ByteTrack's noise (1/20 of the box for a measurement) carried into seconds: a walker's
 * turn or stop is about half a box per s², a box's own size changes a tenth as fast.
 */
export const MOTION_NOISE: MotionNoise = { measurement: 0.05, initialVelocity: 2, acceleration: 0.5, sizeAcceleration: 0.05 };

/** The box's size scale (geometric mean of width and height) that all noise is relative to. */
const scaleOf = (w: number, h: number) => Math.max(1, Math.sqrt(Math.max(1, w) * Math.max(1, h)));

const measurementOf = (box: Box) => [box.x + box.width / 2, box.y + box.height / 2, box.width, box.height];

/** A filter at a first detection: at its box, velocity unknown. */
export function startMotion(box: Box, noise: MotionNoise = MOTION_NOISE): BoxState {
  const s = scaleOf(box.width, box.height);
  const r = (noise.measurement * s) ** 2;
  const c = (noise.initialVelocity * s) ** 2;
  const [cx, cy, w, h] = measurementOf(box);
  return [cx, cy, w, h].map((p, i) => ({ p, v: 0, a: r, b: 0, c: i < 2 ? c : c / 10 })) as unknown as BoxState;
}

/** The state `dt` seconds later, by constant velocity (exact for the continuous white-noise model, so steps compose). */
export function predictMotion(state: BoxState, dt: number, noise: MotionNoise = MOTION_NOISE): BoxState {
  const t = Math.max(0, dt);
  const s = scaleOf(state[2].p, state[3].p);
  return state.map((x, i) => {
    const q = ((i < 2 ? noise.acceleration : noise.sizeAcceleration) * s) ** 2;
    return {
      p: x.p + x.v * t,
      v: x.v,
      a: x.a + 2 * x.b * t + x.c * t * t + (q * t ** 3) / 3,
      b: x.b + x.c * t + (q * t * t) / 2,
      c: x.c + q * t,
    };
  }) as unknown as BoxState;
}

/** The predicted state corrected by a detection's box. */
export function correctMotion(state: BoxState, box: Box, noise: MotionNoise = MOTION_NOISE): BoxState {
  const r = (noise.measurement * scaleOf(box.width, box.height)) ** 2;
  const z = measurementOf(box);
  return state.map((x, i) => {
    const innovation = z[i] - x.p;
    const s = x.a + r;
    const [kp, kv] = [x.a / s, x.b / s];
    return { p: x.p + kp * innovation, v: x.v + kv * innovation, a: (1 - kp) * x.a, b: (1 - kp) * x.b, c: x.c - kv * x.b };
  }) as unknown as BoxState;
}

/** The state's box (top-left corner and size, sizes at least 1 px). */
export function motionBox(state: BoxState): Box {
  const [cx, cy, w, h] = state.map((x) => x.p);
  const [width, height] = [Math.max(1, w), Math.max(1, h)];
  return { x: cx - width / 2, y: cy - height / 2, width, height };
}

/** Standard deviation of the predicted centre (the mean of its x and y), in pixels. */
export const centreSpread = (state: BoxState): number => Math.sqrt((state[0].a + state[1].a) / 2);
