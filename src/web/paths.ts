// Track paths over the player: where each tracked object went, by its boxes' bottom-centres
// (its feet: the point zone and line rules test, src/pipeline/rules/evaluate.ts), in its
// label's colour, with the object's place at the player's time marked.
import type { TrackSummary } from '../shared/job-result.js';
import type { Vec } from '../shared/polygon.js';
import type { Colours } from './draw.js';
import { sourceToPlayer, type PictureRect } from './picture-rect.js';

type Sample = TrackSummary['trajectory'][number];

/** A trajectory sample's bottom-centre, in source pixels. */
const footOf = ([, x, y, w, h]: Sample): Vec => [x + w / 2, y + h];

/** Where the track's bottom-centre was at time t, between the two samples around it; undefined outside the track's time. */
export function footAt(trajectory: readonly Sample[], t: number): Vec | undefined {
  const after = trajectory.findIndex((s) => s[0] >= t);
  if (after < 0 || (after === 0 && trajectory[0][0] > t)) return undefined;
  if (after === 0) return footOf(trajectory[0]);
  const [a, b] = [trajectory[after - 1], trajectory[after]];
  const k = (t - a[0]) / (b[0] - a[0]);
  const [fa, fb] = [footOf(a), footOf(b)];
  return [fa[0] + (fb[0] - fa[0]) * k, fa[1] + (fb[1] - fa[1]) * k];
}

/** Every track's path as a polyline, and a dot where it is at time t. */
export function drawTrackPaths(ctx: CanvasRenderingContext2D, r: PictureRect, tracks: readonly TrackSummary[], t: number, colourOf: Colours) {
  ctx.lineWidth = 2;
  ctx.lineJoin = 'round';
  for (const track of tracks.filter((tr) => tr.trajectory.length > 0)) {
    const colour = colourOf(track.label);
    ctx.strokeStyle = colour;
    ctx.beginPath();
    for (const sample of track.trajectory) ctx.lineTo(...sourceToPlayer(r, ...footOf(sample)));
    ctx.stroke();
    const now = footAt(track.trajectory, t);
    if (!now) continue;
    ctx.fillStyle = colour;
    ctx.beginPath();
    ctx.arc(...sourceToPlayer(r, ...now), 5, 0, 2 * Math.PI);
    ctx.fill();
  }
}
