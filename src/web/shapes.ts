// A profile's zones and lines over the player, the shape being drawn, and the boxes drawn to
// be redacted. Lines show their
// direction: an arrow from A (the first point) to B, as rules name the crossings.
import type { Vec } from '../shared/polygon.js';
import { frameToPlayer, type PictureRect } from './picture-rect.js';
import type { ProfileDraft } from './profile-draft.js';
import type { RedactionDraft } from './redact-request.js';

/** Shapes are white with a dark edge: apart from every label colour, readable on any picture. */
const SHAPE = '#ffffff';
const EDGE = 'rgba(0, 0, 0, 0.7)';
/** How near the first point a click closes a zone, in CSS pixels. */
export const CLOSE_RADIUS = 10;

function label(ctx: CanvasRenderingContext2D, text: string, [x, y]: Vec) {
  ctx.font = '14px system-ui, sans-serif';
  ctx.lineWidth = 3;
  ctx.strokeStyle = EDGE;
  ctx.strokeText(text, x + 6, y - 6);
  ctx.fillStyle = SHAPE;
  ctx.fillText(text, x + 6, y - 6);
}

function polyline(ctx: CanvasRenderingContext2D, points: readonly Vec[], close: boolean) {
  ctx.beginPath();
  for (const p of points) ctx.lineTo(p[0], p[1]);
  if (close) ctx.closePath();
  ctx.lineWidth = 4;
  ctx.strokeStyle = EDGE;
  ctx.stroke();
  ctx.lineWidth = 2;
  ctx.strokeStyle = SHAPE;
  ctx.stroke();
}

function arrowHead(ctx: CanvasRenderingContext2D, [ax, ay]: Vec, [bx, by]: Vec) {
  const angle = Math.atan2(by - ay, bx - ax);
  ctx.beginPath();
  ctx.moveTo(bx, by);
  for (const side of [-1, 1]) ctx.lineTo(bx - 14 * Math.cos(angle + side * 0.4), by - 14 * Math.sin(angle + side * 0.4));
  ctx.closePath();
  ctx.fillStyle = SHAPE;
  ctx.fill();
}

/** The draft's zones (outlined, lightly filled), lines (A→B arrows) and the shape being drawn (its points dotted). */
export function drawShapes(ctx: CanvasRenderingContext2D, r: PictureRect, draft: ProfileDraft) {
  const onPlayer = (points: readonly Vec[]) => points.map((p) => frameToPlayer(r, p));
  for (const zone of draft.zones) {
    const points = onPlayer(zone.polygon);
    polyline(ctx, points, true);
    ctx.fillStyle = 'rgba(255, 255, 255, 0.12)';
    ctx.fill();
    label(ctx, zone.name, points[0]);
  }
  for (const line of draft.lines) {
    const [a, b] = onPlayer(line.points);
    polyline(ctx, [a, b], false);
    arrowHead(ctx, a, b);
    label(ctx, `${line.name} A→B`, a);
  }
  if (!draft.drawing) return;
  const points = onPlayer(draft.drawing.points);
  polyline(ctx, points, false);
  ctx.fillStyle = SHAPE;
  for (const [i, [x, y]] of points.entries()) {
    ctx.beginPath();
    // The first point is drawn as big as the click that closes the zone on it.
    ctx.arc(x, y, i === 0 && draft.drawing.kind === 'zone' ? CLOSE_RADIUS / 2 : 3, 0, 2 * Math.PI);
    ctx.fill();
  }
}

/** Boxes drawn to hide: those masked at `t` (dashed, shaded) and the one being drawn. */
export function drawRedactionBoxes(ctx: CanvasRenderingContext2D, r: PictureRect, draft: Pick<RedactionDraft, 'boxes' | 'drawing'>, t: number) {
  const rect = (from: Vec, to: Vec) => {
    const [[ax, ay], [bx, by]] = [frameToPlayer(r, from), frameToPlayer(r, to)];
    ctx.setLineDash([6, 4]);
    polyline(ctx, [[ax, ay], [bx, ay], [bx, by], [ax, by]], true);
    ctx.setLineDash([]);
    ctx.fillStyle = 'rgba(0, 0, 0, 0.35)';
    ctx.fill();
  };
  for (const [i, b] of draft.boxes.entries()) {
    if (t < b.timeS || t > b.endS) continue;
    rect([b.box.x, b.box.y], [b.box.x + b.box.width, b.box.y + b.box.height]);
    label(ctx, `box ${i + 1}`, frameToPlayer(r, [b.box.x, b.box.y]));
  }
  if (draft.drawing) rect(draft.drawing.from, draft.drawing.to);
}
