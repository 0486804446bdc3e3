// The rules panel's drawing half: zones and lines clicked out on the paused frame (the overlay
// takes clicks only while a shape is drawn, so the player's controls work the rest of the
// time), and the list of drawn shapes with their names and points (typed points are the
// keyboard's way to draw). The rule form is rule-form.ts; saving is re-review.ts.
import type { Vec } from '../shared/polygon.js';
import { drawOverlay, playerPicture } from './overlay.js';
import type { Page } from './page.js';
import { frameToPlayer, toFrame } from './picture-rect.js';
import { addPoint, finishShape, parsePoints, pointsText, removeShape, renameShape, type ProfileDraft, type ShapeKind } from './profile-draft.js';
import { renderRuleForm, renderRuleList } from './rule-form.js';
import { CLOSE_RADIUS } from './shapes.js';
import type { View } from './state.js';

const HINTS: Record<ShapeKind, string> = {
  zone: 'Click the frame to add corners; click the first corner, or Close the zone, to finish. Esc cancels.',
  line: 'Click the line\'s two ends: from A to B. Crossings are named by that direction. Esc cancels.',
};

/** The buttons, hint and overlay say whether a shape is being drawn. */
function showDrawingState({ els }: Page, draft: ProfileDraft) {
  const drawing = draft.drawing;
  els.overlay.classList.toggle('drawing', drawing !== undefined);
  els.finishShape.hidden = drawing?.kind !== 'zone';
  els.cancelShape.hidden = !drawing;
  els.drawZone.disabled = els.drawLine.disabled = drawing !== undefined;
  els.drawingHint.textContent = drawing ? HINTS[drawing.kind] : '';
}

/** Everything the draft shows: the drawing state, the shapes, the rule form and list, the overlay. */
export function renderDraft(page: Page, v: View) {
  showDrawingState(page, v.draft);
  renderShapes(page, v);
  renderRuleForm(page, v);
  renderRuleList(page, v, () => renderDraft(page, v));
  drawOverlay(page);
}

function startDrawing(page: Page, kind: ShapeKind) {
  const v = page.state.view;
  if (!v) return;
  page.els.player.pause();
  v.draft.drawing = { kind, points: [] };
  renderDraft(page, v);
}

/** Ends the drawing (kept as a shape, or dropped) and puts focus on a new shape's name, to type it. */
function endDrawing(page: Page, v: View, keep: boolean) {
  const kind = keep ? finishShape(v.draft) : (v.draft.drawing = undefined);
  shapeDone(page, v, kind);
}

function shapeDone(page: Page, v: View, kind: ShapeKind | undefined) {
  renderDraft(page, v);
  const names = page.els.shapes.querySelectorAll<HTMLInputElement>(`input[data-shape-kind="${kind}"].shape-name`);
  if (kind) names[names.length - 1]?.focus();
}

/** A click on the frame: a point, or, on the first corner of a zone of three or more, its closing. */
function onFrameClick(page: Page, e: MouseEvent) {
  const v = page.state.view;
  const picture = playerPicture(page);
  const drawing = v?.draft.drawing;
  if (!v || !picture || !drawing) return;
  const first = drawing.points[0];
  if (drawing.kind === 'zone' && first && drawing.points.length >= 3) {
    const [x, y] = frameToPlayer(picture, first);
    if (Math.hypot(e.offsetX - x, e.offsetY - y) <= CLOSE_RADIUS) return endDrawing(page, v, true);
  }
  const finished = addPoint(v.draft, toFrame(picture, e.offsetX, e.offsetY));
  if (finished) return shapeDone(page, v, finished);
  drawOverlay(page);
}

/** A labelled text input in a shape's row. */
function field(text: string, value: string, className: string, kind: ShapeKind, onChange: (input: HTMLInputElement) => void): HTMLLabelElement {
  const label = document.createElement('label');
  const input = document.createElement('input');
  input.className = className;
  input.dataset.shapeKind = kind;
  input.value = value;
  input.autocomplete = 'off';
  input.spellcheck = false;
  input.onchange = () => onChange(input);
  label.append(text, input);
  return label;
}

/** One row per zone and line: its name, its points, and Remove. */
function renderShapes(page: Page, v: View) {
  const rows = [
    ...v.draft.zones.map((z) => shapeRow(page, v, 'zone', z.name, z.polygon)),
    ...v.draft.lines.map((l) => shapeRow(page, v, 'line', l.name, l.points)),
  ];
  page.els.shapes.replaceChildren(...rows);
}

function shapeRow(page: Page, v: View, kind: ShapeKind, name: string, points: readonly Vec[]): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.shape = name;
  const rename = field(kind === 'zone' ? 'Zone name' : 'Line name', name, 'shape-name', kind, (input) => {
    renameShape(v.draft, kind, name, input.value.trim());
    renderDraft(page, v);
  });
  const corners = field(kind === 'zone' ? 'Corners (x,y shares of the frame)' : 'Ends A and B (x,y shares of the frame)', pointsText(points), 'shape-points', kind, (input) => {
    const typed = parsePoints(input.value);
    const fits = typed && (kind === 'zone' || typed.length === 2);
    input.setCustomValidity(fits ? '' : kind === 'zone' ? 'Write corners as x,y pairs between spaces' : 'Write the two ends as x,y x,y');
    if (!input.reportValidity() || !typed) return;
    const shape = kind === 'zone' ? v.draft.zones.find((z) => z.name === name) : v.draft.lines.find((l) => l.name === name);
    if (shape && 'polygon' in shape) shape.polygon = typed;
    else if (shape) shape.points = [typed[0], typed[1]];
    drawOverlay(page);
  });
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.textContent = `Remove ${kind}`;
  remove.onclick = () => {
    removeShape(v.draft, kind, name);
    renderDraft(page, v);
  };
  li.append(rename, corners, remove);
  return li;
}

/** The drawing buttons, clicks on the frame, and Esc; bound once, acting on the job on screen. */
export function bindRulesEditor(page: Page) {
  const { els } = page;
  els.drawZone.onclick = () => startDrawing(page, 'zone');
  els.drawLine.onclick = () => startDrawing(page, 'line');
  els.finishShape.onclick = () => page.state.view && endDrawing(page, page.state.view, true);
  els.cancelShape.onclick = () => page.state.view && endDrawing(page, page.state.view, false);
  els.overlay.onclick = (e) => onFrameClick(page, e);
  document.addEventListener('keydown', (e) => {
    const v = page.state.view;
    if (e.key === 'Escape' && v?.draft.drawing) endDrawing(page, v, false);
  });
}
