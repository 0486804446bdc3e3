// The redaction panel (docs/review.md, Redaction): what to hide (persons, text, faces), how
// (blur, pixelate, fill), what the output holds (the whole video or the confirmed segments),
// and the sound. Its lists are redact-lists.ts, drawing a box redact-draw.ts, running one
// redact-run.ts; the request is built by redact-request.ts. Shown only for a job whose video
// the server kept, since a redaction reads it.
import type { Page } from './page.js';
import { bindBoxDrawing } from './redact-draw.js';
import { renderRedactionBoxes, renderRedactionTracks } from './redact-lists.js';
import type { RedactionDraft } from './redact-request.js';
import { cancelRedaction, resumeLastRedaction, showDraftInForm, showPicturesRedacted, showRunning, startRedaction } from './redact-run.js';
import type { View } from './state.js';

/** Opens the panel for a new job on screen: its tracks listed, nothing drawn, and its last redaction found again. */
export async function openRedactPanel(page: Page, v: View) {
  const { els, api } = page;
  els.redact.hidden = true;
  els.redact.open = false;
  els.redactResult.hidden = true;
  els.redactPhase.textContent = '';
  els.redactPreview.removeAttribute('src');
  els.redactPictures.checked = false;
  // A redaction followed for the job before stops being followed; its buttons are this job's again.
  showRunning(page, false);
  showDraftInForm(page, v.redaction);
  if (!(await api.keptVideo(v.jobId)) || page.state.view !== v) return;
  els.redact.hidden = false;
  renderRedactionTracks(page, v);
  renderRedactionBoxes(page, v);
  await resumeLastRedaction(page, v);
}

/** The panel's controls into the draft of the job on screen; bound once. */
export function bindRedactPanel(page: Page) {
  const { els } = page;
  const draft = (): RedactionDraft | undefined => page.state.view?.redaction;
  els.redactTargets.onchange = (e) => {
    const v = page.state.view;
    const input = e.target;
    if (!v || !(input instanceof HTMLInputElement)) return;
    const target = input.value as Parameters<RedactionDraft['targets']['add']>[0];
    if (input.checked) v.redaction.targets.add(target);
    else v.redaction.targets.delete(target);
    renderRedactionTracks(page, v);
  };
  els.redactStyle.onchange = () => {
    const d = draft();
    if (d) d.style = els.redactStyle.value as RedactionDraft['style'];
  };
  els.redactSpan.onchange = () => {
    const d = draft();
    if (d) d.span = els.redactSpan.value as RedactionDraft['span'];
  };
  els.redactAudio.onchange = () => {
    const d = draft();
    if (d) d.audio = els.redactAudio.checked;
  };
  els.startRedaction.onclick = () => void startRedaction(page);
  els.cancelRedaction.onclick = () => void cancelRedaction(page);
  els.redactPictures.onchange = () => {
    const v = page.state.view;
    if (v) showPicturesRedacted(page, v, els.redactPictures.checked);
  };
  bindBoxDrawing(page);
}
