// The tracker's and the review rules' own cost per sampled frame (issue 24), pure: 10 and 100 people walking
// across a 1920x1080 picture for 60 s at 2 fps, detector noise as in test/helpers/mot.ts.
// Run: `tsc -p bench/tsconfig.tracker.json && node dist/bench/tracker.js`.
import { performance } from 'node:perf_hooks';
import { evaluateProfile } from '../src/pipeline/rules/evaluate.js';
import { createTracker, DEFAULT_TRACKER } from '../src/pipeline/tracker.js';
import { profileSchema } from '../src/shared/profile.js';
import type { FrameDetections } from '../src/shared/job-result.js';

const ROUNDS = 20;

/** `objects` people in view on every one of `samples` frames, each walking straight at its own speed. */
function scene(objects: number, samples: number): FrameDetections[] {
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const walkers = Array.from({ length: objects }, () => ({ x: random() * 1800, y: random() * 900, vx: (random() - 0.5) * 200, vy: (random() - 0.5) * 40 }));
  return Array.from({ length: samples }, (_, i) => {
    const timeS = i / 2;
    const detections = walkers.filter(() => random() > 0.1).map((w) => ({
      label: 'person', classId: 0, score: 0.3 + random() * 0.4,
      box: { x: (((w.x + w.vx * timeS) % 1900) + 1900) % 1900 + random() * 4, y: w.y + w.vy * timeS + random() * 4, width: 60, height: 150 },
    }));
    return { index: i, timeS, detections };
  });
}

/** A profile with one rule of each geometric kind over one zone and one line. */
const profile = profileSchema.parse({
  name: 'bench',
  zones: [{ name: 'middle', polygon: [[0.3, 0.2], [0.7, 0.2], [0.7, 0.9], [0.3, 0.9]] }],
  lines: [{ name: 'gate', points: [[0.5, 0], [0.5, 1]] }],
  rules: [
    { name: 'in', kind: 'zone', zone: 'middle', labels: ['person'] },
    { name: 'stay', kind: 'dwell', zone: 'middle', minS: 5 },
    { name: 'crowd', kind: 'count', zone: 'middle', min: 3 },
    { name: 'cross', kind: 'line', line: 'gate' },
  ],
});

for (const objects of [10, 100]) {
  const frames = scene(objects, 120);
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    const tracker = createTracker({ ...DEFAULT_TRACKER, minTrackS: 1 });
    for (const frame of frames) tracker.update(frame);
    tracker.finish();
    best = Math.min(best, (performance.now() - t0) / frames.length);
  }
  console.log(`tracker, ${objects} objects in view: ${(best * 1000).toFixed(1)} us per sampled frame (best of ${ROUNDS} runs of ${frames.length} frames)`);
}

for (const objects of [10, 100]) {
  const frames = scene(objects, 120);
  const tracker = createTracker({ ...DEFAULT_TRACKER, minTrackS: 1 });
  for (const frame of frames) tracker.update(frame);
  const tracks = tracker.finish();
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    evaluateProfile(profile, tracks, { width: 1920, height: 1080 });
    best = Math.min(best, (performance.now() - t0) / frames.length);
  }
  console.log(`rules (zone, dwell, count, line), ${objects} objects in view: ${(best * 1000).toFixed(1)} us per sampled frame (best of ${ROUNDS} runs over ${tracks.length} tracks)`);
}
