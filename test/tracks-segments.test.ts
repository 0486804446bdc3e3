import { describe, expect, it } from 'vitest';
import { buildSegments, summarizeReview } from '../src/pipeline/segments.js';
import { createTracker, DEFAULT_TRACKER, type Track } from '../src/pipeline/tracker.js';
import type { Detection } from '../src/tasks/index.js';

const det = (label: string, x: number, y: number, score = 0.8, size = 100): Detection => ({ label, classId: 0, score, box: { x, y, width: size, height: size } });

describe('tracker', () => {
  it('links a person moving fast at 2 fps into one track (centre distance, no overlap)', () => {
    const tracker = createTracker(DEFAULT_TRACKER);
    // 60 px per frame with 100 px boxes: IoU drops to ~0.25, then 0 at 120 px jumps.
    [0, 60, 180, 300].forEach((x, i) => tracker.update({ index: i, timeS: i * 0.5, detections: [det('person', x, 50)] }));
    const tracks = tracker.finish();
    expect(tracks).toHaveLength(1);
    expect(tracks[0]).toMatchObject({ label: 'person', startS: 0, endS: 1.5, hits: 4 });
  });

  it('keeps two people apart and never matches across labels', () => {
    const tracker = createTracker(DEFAULT_TRACKER);
    for (let i = 0; i < 3; i++) {
      tracker.update({ index: i, timeS: i, detections: [det('person', 0 + i * 10, 0), det('person', 500 + i * 10, 0), det('car', 0 + i * 10, 0)] });
    }
    const tracks = tracker.finish();
    expect(tracks.map((t) => t.label).sort()).toEqual(['car', 'person', 'person']);
    expect(tracks.every((t) => t.hits === 3)).toBe(true);
  });

  it('drops single-frame flickers (minHits 2) and splits a track after a gap longer than maxGapS', () => {
    const tracker = createTracker({ ...DEFAULT_TRACKER, maxGapS: 1 });
    tracker.update({ index: 0, timeS: 0, detections: [det('dog', 0, 0)] });
    tracker.update({ index: 1, timeS: 0.5, detections: [det('dog', 0, 0), det('cat', 300, 300)] });
    tracker.update({ index: 2, timeS: 3, detections: [det('dog', 0, 0)] });
    tracker.update({ index: 3, timeS: 3.5, detections: [det('dog', 0, 0)] });
    const tracks = tracker.finish();
    expect(tracks.map((t) => [t.label, t.startS, t.endS])).toEqual([['dog', 0, 0.5], ['dog', 3, 3.5]]);
  });

  it('remembers the best-scoring frame of each track', () => {
    const tracker = createTracker(DEFAULT_TRACKER);
    [0.5, 0.9, 0.7].forEach((score, i) => tracker.update({ index: i, timeS: i, detections: [det('person', 0, 0, score)] }));
    expect(tracker.finish()[0]).toMatchObject({ maxScore: 0.9, bestFrameIndex: 1, bestTimeS: 1 });
  });
});

const track = (id: number, label: string, startS: number, endS: number, maxScore = 0.8): Track => ({
  id, label, key: label, startS, endS, maxScore, hits: 3, bestFrameIndex: 0, bestTimeS: startS, lastBox: { x: 0, y: 0, width: 1, height: 1 }, trajectory: [], colourVotes: new Map(),
});

describe('segments', () => {
  it('pads, clips to the video, and merges close spans so segments never overlap', () => {
    const segments = buildSegments([track(1, 'person', 0.5, 2), track(2, 'car', 4.5, 5), track(3, 'person', 20, 29.5)], 30, { pad: 1, mergeGap: 2 });
    expect(segments.map((s) => [s.startS, s.endS])).toEqual([[0, 6], [19, 30]]);
    expect(segments[0].labels).toEqual([
      { label: 'person', maxScore: 0.8, trackCount: 1 },
      { label: 'car', maxScore: 0.8, trackCount: 1 },
    ]);
    for (let i = 1; i < segments.length; i++) expect(segments[i].startS).toBeGreaterThanOrEqual(segments[i - 1].endS);
  });

  it('keeps spans apart when the gap is at least mergeGap', () => {
    const segments = buildSegments([track(1, 'person', 2, 3), track(2, 'person', 8, 9)], 20, { pad: 1, mergeGap: 2 });
    expect(segments.map((s) => [s.startS, s.endS])).toEqual([[1, 4], [7, 10]]);
  });

  it('filters by label', () => {
    const segments = buildSegments([track(1, 'person', 2, 3), track(2, 'car', 10, 12)], 20, { pad: 0, mergeGap: 0, labels: ['car'] });
    expect(segments.map((s) => s.labels[0].label)).toEqual(['car']);
  });

  it('summarizes what a reviewer must watch', () => {
    expect(summarizeReview([{ startS: 3, endS: 8.5 }], 12)).toEqual({ totalS: 12, flaggedS: 5.5, flaggedRatio: 0.458, segmentCount: 1 });
    expect(summarizeReview([], 0)).toEqual({ totalS: 0, flaggedS: 0, flaggedRatio: 0, segmentCount: 0 });
  });
});
