import { describe, expect, it } from 'vitest';
import { createTracker, DEFAULT_TRACKER, type TrackerOptions } from '../src/pipeline/tracker.js';
import type { Detection, FrameDetections } from '../src/shared/job-result.js';
import { gridTimes, identitySwitches, idf1, keyframeTimes, seededRandom, simulate } from './helpers/mot.js';
import { SCENE_S, SCENES } from './helpers/tracking-scenes.js';

/** The tracker as a video job builds it: the lost buffer follows the mean sample interval, tracks under 1 s dropped. */
function track(frames: readonly FrameDetections[], options: Partial<TrackerOptions> = {}) {
  const times = frames.map((f) => f.timeS);
  const interval = (times[times.length - 1] - times[0]) / Math.max(1, times.length - 1);
  const tracker = createTracker({ ...DEFAULT_TRACKER, maxGapS: Math.max(DEFAULT_TRACKER.maxGapS, 1.5 * interval), minTrackS: 1, ...options });
  for (const frame of frames) tracker.update(frame);
  return tracker.finish();
}

const figures = (actors: (typeof SCENES)[number][1], times: number[]) => {
  const { frames, truth } = simulate(actors, times, seededRandom(42));
  const tracks = track(frames);
  return { idf1: idf1(truth, tracks).idf1, switches: identitySwitches(truth, tracks), truthIds: new Set(actors.map((a) => a.id)).size, tracks };
};

describe('tracker on known-truth scenes (IDF1 and identity switches, IoU >= 0.5)', () => {
  it.each(SCENES)('%s at 2 fps: IDF1 >= 0.85, one track per object and label', (_, actors) => {
    const { idf1: score, tracks } = figures(actors, gridTimes(2, SCENE_S));
    expect(score).toBeGreaterThanOrEqual(0.85);
    // No flicker (a one-sample false detection) becomes a track.
    expect(tracks.filter((t) => t.label === 'sports ball')).toEqual([]);
    for (const label of new Set(actors.map((a) => a.label))) {
      expect(tracks.filter((t) => t.label === label).length).toBeLessThanOrEqual(actors.filter((a) => a.label === label).length + 1);
    }
  });

  it('at 2 fps, identity switches stay at most one per 10 true tracks over all scenes', () => {
    const all = SCENES.map(([, actors]) => figures(actors, gridTimes(2, SCENE_S)));
    const truthIds = all.reduce((n, f) => n + f.truthIds, 0);
    expect(all.reduce((n, f) => n + f.switches, 0)).toBeLessThanOrEqual(truthIds / 10);
  });

  it('at 1 fps (fast motion, boxes barely overlap between samples) IDF1 stays >= 0.75', () => {
    for (const [, actors] of SCENES) expect(figures(actors, gridTimes(1, SCENE_S)).idf1).toBeGreaterThanOrEqual(0.75);
  });

  it('at keyframe-like intervals of 1-4 s tracks still hold: IDF1 >= 0.4 and no scene falls apart into one track per sample', () => {
    for (const [, actors] of SCENES) {
      const times = keyframeTimes(seededRandom(9), 1, 4, SCENE_S);
      const { idf1: score, tracks } = figures(actors, times);
      expect(score).toBeGreaterThanOrEqual(0.4);
      expect(Math.max(...tracks.map((t) => t.hits))).toBeGreaterThanOrEqual(4);
    }
  });
});

const person = (x: number, score = 0.8, y = 100): Detection => ({ label: 'person', classId: 0, score, box: { x, y, width: 60, height: 150 } });
const frame = (index: number, timeS: number, detections: Detection[]): FrameDetections => ({ index, timeS, detections });

describe('tracker rules', () => {
  it('a low-score detection keeps a confirmed track alive but never starts one', () => {
    const frames = [frame(0, 0, [person(0)]), frame(1, 0.5, [person(20)]), frame(2, 1, [person(40, 0.32), person(600, 0.35)]), frame(3, 1.5, [person(60, 0.33), person(600, 0.35)])];
    const tracks = track(frames);
    expect(tracks).toHaveLength(1);
    expect(tracks[0]).toMatchObject({ startS: 0, endS: 1.5, hits: 4 });
  });

  it('a tentative track that misses its second sample dies; one seen twice is confirmed', () => {
    const tracks = track([frame(0, 0, [person(0), person(600)]), frame(1, 0.5, [person(600)]), frame(2, 1, [person(0)])], { minTrackS: 0 });
    expect(tracks.map((t) => [t.startS, t.endS])).toEqual([[0, 0.5]]);
  });

  it('predicts a lost track along its velocity: a walker hidden 2 s comes back as the same track', () => {
    // 80 px/s to the right; hidden over 2-4 s, while another person stands where it was.
    const frames = gridTimes(2, 8).map((t, i) => frame(i, t, [...(t > 2 && t < 4 ? [] : [person(80 * t)]), person(150, 0.8, 400)]));
    const walkers = track(frames).filter((t) => t.lastBox.y === 100);
    expect(walkers).toHaveLength(1);
    expect(walkers[0]).toMatchObject({ startS: 0, endS: 7.5 });
  });

  it('minTrackS drops tracks shorter than it', () => {
    const frames = [frame(0, 0, [person(0)]), frame(1, 0.5, [person(5)])];
    expect(track(frames, { minTrackS: 1 })).toEqual([]);
    expect(track(frames, { minTrackS: 0 })).toHaveLength(1);
  });

  it('carries each matched sample as [timeS, x, y, width, height, score], rounded', () => {
    const det = (x: number, score: number): Detection => ({ label: 'car', classId: 2, score, box: { x, y: 10.4, width: 99.6, height: 50.2 } });
    const [car] = track([frame(0, 0.1234, [det(1.6, 0.876)]), frame(1, 0.6234, [det(11.4, 0.5)])], { minTrackS: 0 });
    expect(car.trajectory).toEqual([[0.123, 2, 10, 100, 50, 0.88], [0.623, 11, 10, 100, 50, 0.5]]);
  });
});
