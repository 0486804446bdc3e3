// Known-truth tracking scenes and the standard MOT identity figures (IDF1, identity switches),
// pure: the tracker's tests run them without ffmpeg or ORT.
import type { Box } from '../../preprocessing/index.js';
import type { Detection, FrameDetections } from '../../src/shared/job-result.js';
import { iou } from '../../src/tasks/geometry.js';

/** A seeded generator in [0, 1) (mulberry32), so every run sees the same scene. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const gaussian = (random: () => number) => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** One object of a scene: where its box centre is at each time, while it is in view. */
export interface Actor {
  id: number;
  label: string;
  width: number;
  height: number;
  fromS: number;
  toS: number;
  centre: (t: number) => { x: number; y: number };
  /** Time ranges where it is occluded: in view in truth terms no, and never detected. */
  hidden?: Array<[number, number]>;
}

/** A straight walk from one point to another over [fromS, toS]. */
export const straight = (from: [number, number], to: [number, number], fromS: number, toS: number) => (t: number) => {
  const u = (t - fromS) / (toS - fromS);
  return { x: from[0] + (to[0] - from[0]) * u, y: from[1] + (to[1] - from[1]) * u };
};

/** An arc of a circle at constant speed, angles in radians. */
export const arc = (centre: [number, number], radius: number, fromAngle: number, toAngle: number, fromS: number, toS: number) => (t: number) => {
  const angle = fromAngle + ((toAngle - fromAngle) * (t - fromS)) / (toS - fromS);
  return { x: centre[0] + radius * Math.cos(angle), y: centre[1] + radius * Math.sin(angle) };
};

export const truthBox = (a: Actor, t: number): Box => {
  const c = a.centre(t);
  return { x: c.x - a.width / 2, y: c.y - a.height / 2, width: a.width, height: a.height };
};

const visible = (a: Actor, t: number) => t >= a.fromS && t <= a.toS && !(a.hidden ?? []).some(([s, e]) => t >= s && t <= e);

/** Sample times: the exact grid at `fps`, up to durationS. */
export const gridTimes = (fps: number, durationS: number) => Array.from({ length: Math.floor(durationS * fps) }, (_, i) => i / fps);

/** Keyframe-like times: gaps drawn uniformly from [minS, maxS]. */
export function keyframeTimes(random: () => number, minS: number, maxS: number, durationS: number): number[] {
  const times = [0];
  for (;;) {
    const next = times[times.length - 1] + minS + (maxS - minS) * random();
    if (next >= durationS) return times.map((t) => Math.round(t * 1000) / 1000);
    times.push(next);
  }
}

export interface NoiseOptions {
  /** Chance a visible object is not detected on a sample. */
  missRate: number;
  /** Box jitter: standard deviation of each edge, as a fraction of the box size. */
  jitter: number;
  /** Detector scores: mean and standard deviation; below `threshold` the detector says nothing. */
  scoreMean: number;
  scoreNoise: number;
  threshold: number;
  /** Chance per sample of a one-sample false detection (a flicker) somewhere. */
  flickerRate: number;
}

export const DETECTOR_NOISE: NoiseOptions = { missRate: 0.1, jitter: 0.04, scoreMean: 0.5, scoreNoise: 0.1, threshold: 0.3, flickerRate: 0.2 };

export interface Truth {
  timeS: number;
  boxes: Array<{ id: number; box: Box }>;
}

/** What a detector would report on each sample of the scene, and what was really there. */
export function simulate(actors: readonly Actor[], times: readonly number[], random: () => number, noise: NoiseOptions = DETECTOR_NOISE) {
  const frames: FrameDetections[] = [];
  const truth: Truth[] = [];
  times.forEach((timeS, index) => {
    const boxes = actors.filter((a) => visible(a, timeS)).map((a) => ({ id: a.id, label: a.label, box: truthBox(a, timeS) }));
    const detections: Detection[] = [];
    for (const { label, box } of boxes) {
      const score = noise.scoreMean + noise.scoreNoise * gaussian(random);
      if (random() < noise.missRate || score < noise.threshold) continue;
      const edge = (size: number) => noise.jitter * size * gaussian(random);
      const [x0, y0, x1, y1] = [box.x + edge(box.width), box.y + edge(box.height), box.x + box.width + edge(box.width), box.y + box.height + edge(box.height)];
      detections.push({ label, classId: 0, score: Math.min(0.95, score), box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } });
    }
    if (random() < noise.flickerRate) {
      const label = random() < 0.5 ? 'sports ball' : 'person';
      detections.push({ label, classId: 0, score: noise.threshold + 0.25 * random(), box: { x: 1200 * random(), y: 650 * random(), width: 40, height: 60 } });
    }
    frames.push({ index, timeS, detections });
    truth.push({ timeS, boxes: boxes.map(({ id, box }) => ({ id, box })) });
  });
  return { frames, truth };
}

/** A tracker's answer: each track's observed boxes with their times. */
export type Hypotheses = Array<{ id: number; trajectory: ReadonlyArray<readonly [number, number, number, number, number, number]> }>;

const MATCH_IOU = 0.5;
const timeKey = (t: number) => Math.round(t * 1000);

/** Per sample time, the hypotheses' boxes there. */
function hypothesesByTime(tracks: Hypotheses): Map<number, Array<{ id: number; box: Box }>> {
  const byTime = new Map<number, Array<{ id: number; box: Box }>>();
  for (const track of tracks) {
    for (const [t, x, y, width, height] of track.trajectory) {
      const list = byTime.get(timeKey(t)) ?? [];
      list.push({ id: track.id, box: { x, y, width, height } });
      byTime.set(timeKey(t), list);
    }
  }
  return byTime;
}

/** Minimum-cost assignment of rows to columns (Hungarian, rows <= columns); returns each row's column. */
export function assignMinCost(cost: number[][]): number[] {
  const n = cost.length;
  const m = n ? cost[0].length : 0;
  const u = new Array(n + 1).fill(0);
  const v = new Array(m + 1).fill(0);
  const p = new Array(m + 1).fill(0);
  const way = new Array(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Array(m + 1).fill(Infinity);
    const used = new Array(m + 1).fill(false);
    do {
      used[j0] = true;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
        if (cur < minv[j]) [minv[j], way[j]] = [cur, j0];
        if (minv[j] < delta) [delta, j1] = [minv[j], j];
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) [u[p[j]], v[j]] = [u[p[j]] + delta, v[j] - delta];
        else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  const rowToColumn = new Array(n).fill(-1);
  for (let j = 1; j <= m; j++) if (p[j]) rowToColumn[p[j] - 1] = j - 1;
  return rowToColumn;
}

/**
 * IDF1 (Ristani et al. 2016): truth ids and track ids paired one to one over the whole sequence
 * so that the samples where a pair overlaps (IoU >= 0.5) are most; IDF1 = 2 IDTP / (2 IDTP + IDFP + IDFN).
 */
export function idf1(truth: readonly Truth[], tracks: Hypotheses): { idf1: number; idtp: number; idfp: number; idfn: number } {
  const hyps = hypothesesByTime(tracks);
  const gtIds = [...new Set(truth.flatMap((f) => f.boxes.map((b) => b.id)))];
  const hypIds = tracks.map((t) => t.id);
  const overlap = gtIds.map(() => hypIds.map(() => 0));
  for (const frame of truth) {
    for (const g of frame.boxes) {
      for (const h of hyps.get(timeKey(frame.timeS)) ?? []) {
        if (iou(g.box, h.box) >= MATCH_IOU) overlap[gtIds.indexOf(g.id)][hypIds.indexOf(h.id)]++;
      }
    }
  }
  // Pad to a square so every truth id may stay unpaired (a column of zeros).
  const size = gtIds.length + hypIds.length;
  const cost = Array.from({ length: gtIds.length }, (_, i) => Array.from({ length: size }, (_, j) => -(overlap[i][j] ?? 0)));
  const idtp = assignMinCost(cost).reduce((sum, j, i) => sum + (overlap[i][j] ?? 0), 0);
  const gtCount = truth.reduce((sum, f) => sum + f.boxes.length, 0);
  const hypCount = tracks.reduce((sum, t) => sum + t.trajectory.length, 0);
  const [idfn, idfp] = [gtCount - idtp, hypCount - idtp];
  return { idf1: gtCount + hypCount ? (2 * idtp) / (2 * idtp + idfp + idfn) : 1, idtp, idfp, idfn };
}

/**
 * Identity switches (CLEAR MOT): per sample, each truth box keeps its previous track if they
 * still overlap, else takes the best free overlap; a switch is a truth id matched to a track
 * other than the one it was last matched to.
 */
export function identitySwitches(truth: readonly Truth[], tracks: Hypotheses): number {
  const hyps = hypothesesByTime(tracks);
  const last = new Map<number, number>();
  let switches = 0;
  for (const frame of truth) {
    const here = hyps.get(timeKey(frame.timeS)) ?? [];
    const taken = new Set<number>();
    const matched = new Map<number, number>();
    for (const g of frame.boxes) {
      const keep = here.find((h) => h.id === last.get(g.id) && iou(g.box, h.box) >= MATCH_IOU);
      if (keep) [matched.set(g.id, keep.id), taken.add(keep.id)];
    }
    const pairs = frame.boxes.flatMap((g) => (matched.has(g.id) ? [] : here.map((h) => ({ g: g.id, h: h.id, overlap: iou(g.box, h.box) }))))
      .filter((p) => p.overlap >= MATCH_IOU && !taken.has(p.h))
      .sort((a, b) => b.overlap - a.overlap);
    for (const p of pairs) {
      if (matched.has(p.g) || taken.has(p.h)) continue;
      matched.set(p.g, p.h);
      taken.add(p.h);
      if (last.has(p.g) && last.get(p.g) !== p.h) switches++;
    }
    for (const [g, h] of matched) last.set(g, h);
  }
  return switches;
}
