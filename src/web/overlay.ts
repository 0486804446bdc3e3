// The canvas over the player, drawn in layers: the zones and lines of the profile being drawn,
// the boxes drawn to be redacted, the tracks' paths (unless hidden), and the best frame's boxes
// while its moment is on screen.
import { context2d } from './dom.js';
import { drawBoxes } from './draw.js';
import type { Page } from './page.js';
import { drawTrackPaths } from './paths.js';
import { pictureRect, type PictureRect } from './picture-rect.js';
import { drawRedactionBoxes, drawShapes } from './shapes.js';

/** Where the video's picture is inside the player now (the overlay covers the player exactly). */
export function playerPicture({ els, state }: Page): PictureRect | undefined {
  const v = state.view;
  if (!v) return undefined;
  const box = els.player.getBoundingClientRect();
  return pictureRect(box, v.result.video);
}

/** Redraws the overlay for the player's time. */
export function drawOverlay(page: Page) {
  const { els, state } = page;
  const v = state.view;
  if (!v) return;
  const box = els.player.getBoundingClientRect();
  // Setting a canvas's size clears it; only when the player's size changed (a canvas keeps the
  // whole part of the size it is given).
  if (els.overlay.width !== Math.trunc(box.width) || els.overlay.height !== Math.trunc(box.height)) {
    els.overlay.width = box.width;
    els.overlay.height = box.height;
  }
  const ctx = context2d(els.overlay);
  ctx.clearRect(0, 0, box.width, box.height);
  const t = els.player.currentTime;
  const picture = pictureRect(box, v.result.video);
  drawShapes(ctx, picture, v.draft);
  drawRedactionBoxes(ctx, picture, v.redaction, t);
  if (els.showPaths.checked) drawTrackPaths(ctx, picture, v.result.tracks, t, page.colourOf);
  const best = v.segments.find((s) => Math.abs(s.bestFrame.timeS - t) < 0.5);
  if (!best) return;
  ctx.save();
  ctx.translate(picture.x, picture.y);
  drawBoxes(ctx, best.bestFrame.detections, picture.scale, { width: picture.width, height: picture.height }, page.colourOf);
  ctx.restore();
}
