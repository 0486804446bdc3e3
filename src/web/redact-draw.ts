// Drawing a box to hide: the reviewer pauses on a frame, presses Draw a box, and drags a
// rectangle over the picture. It becomes a `boxes` entry from the player's time to a few
// seconds later (its end can be set in its row). The overlay takes the pointer only while a
// box is drawn, so the player's controls work the rest of the time.
import { drawOverlay, playerPicture } from './overlay.js';
import type { Page } from './page.js';
import { toFrame } from './picture-rect.js';
import { renderRedactionBoxes } from './redact-lists.js';
import { boxBetween, drawnBox } from './redact-request.js';

const HINT = 'Drag a rectangle over the frame: it is hidden from this moment for a few seconds (set its end below). Esc cancels.';

/** The overlay, buttons and hint say whether a box is being drawn. */
function showBoxDrawing({ els }: Page, on: boolean) {
  els.overlay.classList.toggle('drawing-box', on);
  els.drawBox.disabled = on;
  els.cancelBox.hidden = !on;
  els.boxHint.textContent = on ? HINT : '';
}

function endBoxDrawing(page: Page) {
  const v = page.state.view;
  if (v) v.redaction.drawing = undefined;
  showBoxDrawing(page, false);
  drawOverlay(page);
}

/** The corner of a pointer event on the picture, frame-relative. */
function frameCorner(page: Page, e: PointerEvent) {
  const picture = playerPicture(page);
  return picture ? toFrame(picture, e.offsetX, e.offsetY) : undefined;
}

/** Draw a box, Cancel, Esc, and the drag on the overlay; bound once, acting on the job on screen. */
export function bindBoxDrawing(page: Page) {
  const { els } = page;
  const drawingBox = () => els.overlay.classList.contains('drawing-box');
  els.drawBox.onclick = () => {
    if (!page.state.view) return;
    els.player.pause();
    showBoxDrawing(page, true);
  };
  els.cancelBox.onclick = () => endBoxDrawing(page);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && drawingBox()) endBoxDrawing(page);
  });
  els.overlay.addEventListener('pointerdown', (e) => {
    const v = page.state.view;
    const corner = frameCorner(page, e);
    if (!drawingBox() || !v || !corner) return;
    els.overlay.setPointerCapture(e.pointerId);
    v.redaction.drawing = { from: corner, to: corner };
  });
  els.overlay.addEventListener('pointermove', (e) => {
    const drawing = page.state.view?.redaction.drawing;
    const corner = frameCorner(page, e);
    if (!drawing || !corner) return;
    drawing.to = corner;
    drawOverlay(page);
  });
  els.overlay.addEventListener('pointerup', (e) => {
    const v = page.state.view;
    const drawing = v?.redaction.drawing;
    if (!v || !drawing) return;
    const box = boxBetween(drawing.from, frameCorner(page, e) ?? drawing.to);
    // A click without a drag draws nothing; the drawing goes on.
    v.redaction.drawing = undefined;
    if (!box) return drawOverlay(page);
    v.redaction.boxes.push(drawnBox(box, els.player.currentTime, v.result.video.durationS));
    renderRedactionBoxes(page, v);
    endBoxDrawing(page);
  });
}
