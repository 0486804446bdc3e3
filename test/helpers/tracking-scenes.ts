// Known-truth scenes for the tracker, 1280x720, 30 s: people (and cars) along straight and
// curved paths that cross, with occlusions. Seeded, so every run sees the same scene.
import { arc, seededRandom, straight, type Actor } from './mot.js';

export const SCENE_S = 30;

/** Perspective: people lower in the picture are nearer, so bigger. */
const person = (id: number, y: number, fromS: number, toS: number, centre: Actor['centre'], hidden?: Actor['hidden']): Actor => {
  const height = Math.round(90 + 0.15 * y);
  return { id, label: 'person', width: Math.round(0.4 * height), height, fromS, toS, centre, hidden };
};

/** Ten people walking across in both directions, in lanes 40-60 px apart and on diagonals, passing each other. */
export function crossingWalkers(seed = 1): Actor[] {
  const random = seededRandom(seed);
  return Array.from({ length: 10 }, (_, i) => {
    const fromS = Math.round(random() * 12 * 10) / 10;
    const toS = Math.min(SCENE_S, fromS + 10 + random() * 8);
    const y0 = 200 + 50 * i;
    const y1 = y0 + (i % 3 === 0 ? (random() - 0.5) * 300 : 0);
    const [x0, x1] = i % 2 ? [80, 1200] : [1200, 80];
    return person(i + 1, y0, fromS, toS, straight([x0, y0], [x1, y1], fromS, toS));
  });
}

/** Four people along arcs that cross each other, and two cars driving fast through them. */
export function curvesAndCars(): Actor[] {
  return [
    person(1, 400, 0, 16, arc([640, 700], 450, Math.PI * 1.15, Math.PI * 1.85, 0, 16)),
    person(2, 400, 3, 19, arc([640, 100], 420, Math.PI * 0.85, Math.PI * 0.15, 3, 19)),
    person(3, 350, 8, 24, arc([400, 360], 250, -Math.PI / 2, Math.PI / 2, 8, 24)),
    person(4, 350, 12, 28, arc([880, 360], 250, Math.PI * 1.5, Math.PI * 0.5, 12, 28)),
    { id: 5, label: 'car', width: 180, height: 90, fromS: 5, toS: 10, centre: straight([100, 620], [1180, 600], 5, 10) },
    { id: 6, label: 'car', width: 200, height: 100, fromS: 18, toS: 23, centre: straight([1180, 560], [100, 640], 18, 23) },
  ];
}

/** Six people who each vanish behind something for 1-2 s mid-walk; two pairs pass in one lane, the far one hidden. */
export function occlusions(seed = 3): Actor[] {
  const random = seededRandom(seed);
  const walkers = Array.from({ length: 4 }, (_, i) => {
    const fromS = 2 + i * 4;
    const toS = fromS + 12 + random() * 6;
    const hideAt = fromS + 4 + random() * 4;
    const y = 250 + 110 * i;
    const [x0, x1] = i % 2 ? [80, 1200] : [1200, 80];
    return person(i + 1, y, fromS, toS, straight([x0, y], [x1, y + 60], fromS, toS), [[hideAt, hideAt + 1 + random()]]);
  });
  // Same lane, opposite ways, meeting at x = 640 at 10 s and 22 s: the one behind is hidden while they overlap.
  const pair = (id: number, meetS: number, y: number): Actor[] => [
    person(id, y, meetS - 7, meetS + 7, straight([640 - 560, y], [640 + 560, y], meetS - 7, meetS + 7)),
    person(id + 1, y, meetS - 7, meetS + 7, straight([640 + 560, y - 20], [640 - 560, y - 20], meetS - 7, meetS + 7), [[meetS - 0.6, meetS + 0.6]]),
  ];
  return [...walkers, ...pair(5, 10, 420), ...pair(7, 22, 560)];
}

export const SCENES: Array<[string, Actor[]]> = [
  ['crossing walkers', crossingWalkers()],
  ['curves and cars', curvesAndCars()],
  ['occlusions', occlusions()],
];
