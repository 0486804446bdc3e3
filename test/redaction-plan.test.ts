import { describe, expect, it } from 'vitest';
import { maskPlan, unseenAwareBoxAt } from '../src/pipeline/redaction/plan.js';
import { resolveFaceModel } from '../src/pipeline/redaction/detect-pass.js';
import { createResolver } from '../src/registry/resolve.js';
import type { TrajectoryPoint } from '../src/pipeline/tracker.js';
import { confirmedRanges, frameSpans, redactionParts } from '../src/pipeline/redaction/spans.js';
import { outputByteLimit, redactionTimeLimitMs } from '../src/pipeline/redaction/limits.js';
import { loadConfig } from '../src/config/index.js';

// The mask plan's fail-safes, pure: a target keeps moving under its mask after its last
// sample, and a small face's mask has a floor in pixels.

/** A face 20 px wide walking right at 100 px/s, sampled at 5 fps from 1 s to 2 s. */
const walking: TrajectoryPoint[] = [1, 1.2, 1.4, 1.6, 1.8, 2].map((t) => [t, 100 + 100 * (t - 1), 50, 20, 20, 0.9]);
const frame = { width: 1280, height: 720 };

describe('mask plan', () => {
  it('interpolates between samples and, outside them, grows the box by its speed times the time unseen', () => {
    expect(unseenAwareBoxAt(walking, 1.5)).toEqual({ x: 150, y: 50, width: 20, height: 20 });
    // 0.4 s after the last sample at 100 px/s: 40 px more each way along x, none along y.
    const held = unseenAwareBoxAt(walking, 2.4);
    expect(held.x).toBeCloseTo(160);
    expect(held.width).toBeCloseTo(100);
    expect(held.height).toBe(20);
    // Where the face really is at 2.4 s (x 240-260) is inside the held box.
    expect(held.x + held.width).toBeGreaterThanOrEqual(260);
  });

  it('grows each side by the margin, but at least minMarginPx', () => {
    const at = (minMarginPx?: number) => maskPlan([{ trackId: 1, label: 'face', trajectory: walking, minMarginPx }], { leadS: 0.5, holdS: 1, margin: 0.15 }, frame)(1.5)[0];
    expect(at()).toEqual({ x: 147, y: 47, width: 26, height: 26 });
    expect(at(4)).toEqual({ x: 146, y: 46, width: 28, height: 28 });
    expect(maskPlan([{ trackId: 1, label: 'face', trajectory: walking }], { leadS: 0.5, holdS: 1, margin: 0.15 }, frame)(3.1)).toEqual([]);
  });

  it('a repository without the face detector answers MODEL_NOT_FOUND', () => {
    const repository = createResolver(() => [], () => undefined);
    expect(() => resolveFaceModel(repository)).toThrow(expect.objectContaining({ code: 'MODEL_NOT_FOUND' }));
  });
});

describe('what a redaction outputs, and its bounds', () => {
  it('takes the confirmed segments only, as whole frames from the one showing at each start through the one at its end, overlaps joined', () => {
    const segments = [{ startS: 1, endS: 2.05 }, { startS: 5, endS: 6 }, { startS: 5.5, endS: 7 }, { startS: 9, endS: 9.5 }];
    const decisions = { 1: { decision: 'confirmed', decidedAt: '' }, 2: { decision: 'confirmed', decidedAt: '' }, 3: { decision: 'dismissed', decidedAt: '' } } as const;
    expect(confirmedRanges('j', segments, decisions)).toEqual([segments[1], segments[2]]);
    expect(frameSpans(confirmedRanges('j', segments, decisions), 10, 10)).toEqual([{ startS: 5, frames: 21 }]);
    expect(frameSpans([segments[0], segments[3]], 10, 9.2)).toEqual([{ startS: 1, frames: 11 }, { startS: 9, frames: 2 }]);
    expect(() => confirmedRanges('j', segments, { 3: { decision: 'dismissed', decidedAt: '' } })).toThrow(expect.objectContaining({ code: 'NO_CONFIRMED_SEGMENTS' }));
  });

  it('cuts the output into parts that hold its frames exactly, once each, in order (the shared mode\'s chunks)', () => {
    // Two confirmed spans at 10 fps in parts of 15 frames: 21 frames are 15 + 6, 2 frames one part.
    expect(redactionParts([{ startS: 5, frames: 21 }, { startS: 9, frames: 2 }], 10, 15, 0)).toEqual([
      { spanIndex: 0, span: { startS: 5, frames: 15 } }, { spanIndex: 0, span: { startS: 6.5, frames: 6 } }, { spanIndex: 1, span: { startS: 9, frames: 2 } },
    ]);
    // The whole video, about 121 frames: 8 parts, the last from frame 105 to the end whatever the true count.
    const whole = redactionParts([{ startS: 0 }], 10, 15, 121);
    expect(whole).toHaveLength(8);
    expect(whole.at(-1)).toEqual({ spanIndex: 0, span: { startS: 10.5 } });
    expect(whole.slice(0, -1).every((p, k) => p.span.startS === (k * 15) / 10 && p.span.frames === 15)).toBe(true);
    // A remainder under half a part joins the last part instead of making a part of its own (never an empty one).
    expect(redactionParts([{ startS: 0 }], 10, 15, 31)).toEqual([{ spanIndex: 0, span: { startS: 0, frames: 15 } }, { spanIndex: 0, span: { startS: 1.5 } }]);
  });

  it('bounds the output by bits per pixel of its frames under the absolute cap, and the time by 10x the duration plus 60 s', () => {
    const limits = loadConfig({});
    expect(limits).toMatchObject({ redactMaxBytes: 8192 * 1024 * 1024, redactMaxBitsPerPixel: 6, redactTimeoutBaseMs: 60_000, redactTimeoutFactor: 10 });
    // 10 s of 640x480 at 25 fps: 250 frames at 6 bits a pixel, 1 MiB and 32 KiB a second more.
    expect(outputByteLimit({ width: 640, height: 480 }, 250, 25, limits)).toBe((640 * 480 * 250 * 6) / 8 + 1024 * 1024 + 32 * 1024 * 10);
    expect(outputByteLimit({ width: 3840, height: 2160 }, 3600 * 30, 30, limits)).toBe(limits.redactMaxBytes);
    expect(redactionTimeLimitMs(12, limits)).toBe(180_000);
    expect(redactionTimeLimitMs(1e9, limits)).toBe(2 ** 31 - 1);
  });
});
