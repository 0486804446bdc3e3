// Running a redaction: Redact POSTs the panel's request, then the record is polled, its stage
// and percent shown, with Cancel (DELETE). A failure goes to the page's error banner with the
// API's code. Once it has succeeded: a preview of the redacted video, a choice of segment to
// jump to, download links for the video and its audit, the segments' pictures as it masked
// them on request (`redaction=`), and the face tracks it found join the
// list (to untick one for the next redaction). After a reload the job's newest redaction is
// found again (GET /v1/jobs/:id/redactions) and its settings restored.
import type { ErrorCode } from '../shared/error-catalogue.js';
import type { ServedRedaction } from './api.js';
import { refreshCardPictures } from './cards.js';
import { clock } from './clock.js';
import { showApiError, showError } from './error-banner.js';
import type { Page } from './page.js';
import { renderRedactionBoxes, renderRedactionTracks } from './redact-lists.js';
import { auditFaceTracks, outputTimeOf, redactionRequest, type RedactionDraft } from './redact-request.js';
import type { View } from './state.js';

/** How often a running redaction's record is read. */
const POLL_MS = 400;

const STAGE_WORDS = { detect: 'Finding faces and text', track: 'Following drawn boxes', encode: 'Masking and encoding' } as const;

/** The panel's controls as the draft has them (a new job's, or the settings restored from its last redaction). */
export function showDraftInForm({ els }: Page, draft: RedactionDraft) {
  for (const input of els.redactTargets.querySelectorAll('input')) input.checked = draft.targets.has(input.value as never);
  els.redactStyle.value = draft.style;
  els.redactSpan.value = draft.span;
  els.redactAudio.checked = draft.audio;
}

/** Running or not: Redact waits, Cancel and the progress show. */
export function showRunning({ els }: Page, running: boolean) {
  els.startRedaction.disabled = running;
  els.cancelRedaction.hidden = !running;
  els.redactProgress.hidden = !running;
}

/** The redacted video to preview, the segments to jump to (where the output holds them), and the download links. */
async function showRedacted(page: Page, v: View, r: ServedRedaction) {
  const { els, api } = page;
  const audit = r.audit;
  if (!audit || !r.links.video || !r.links.audit) return;
  els.redactPhase.textContent = `Redacted: ${audit.frames.masked} of ${audit.frames.encoded} frames masked, ${audit.tracks.filter((t) => !t.kept).length} tracks hidden, ${audit.tracks.filter((t) => t.kept).length} kept`;
  const choices = v.result.segments.flatMap((s) => {
    const at = outputTimeOf(s.startS, audit.spans);
    return at === undefined ? [] : [new Option(`Segment ${s.index + 1} (${clock(s.startS)})`, String(at))];
  });
  els.redactSeek.replaceChildren(new Option('The start', '0'), ...choices);
  els.redactSeek.onchange = () => {
    els.redactPreview.currentTime = Number(els.redactSeek.value);
  };
  const [video, auditUrl] = await Promise.all([api.protectedUrl(r.links.video), api.protectedUrl(r.links.audit)]);
  if (page.state.view !== v) return;
  els.redactPreview.src = video ?? '';
  els.redactVideoLink.href = video ?? r.links.video;
  els.redactVideoLink.download = `framewatch-${v.jobId}-redacted.mp4`;
  els.redactAuditLink.href = auditUrl ?? r.links.audit;
  els.redactAuditLink.download = `framewatch-${v.jobId}-redaction-audit.json`;
  els.redactResult.hidden = false;
  // Pictures shown as redacted follow the newest redaction.
  if (els.redactPictures.checked) showPicturesRedacted(page, v, true);
  if (audit.faces) {
    v.redaction.faceTracks = auditFaceTracks(audit, v.result.video.durationS);
    renderRedactionTracks(page, v);
  }
}

/** The cards' pictures masked as the redaction on screen masked its video (`redaction=`), or plain again. */
export function showPicturesRedacted(page: Page, v: View, redacted: boolean) {
  v.picturesRedactedBy = redacted ? v.redactionId : undefined;
  refreshCardPictures(page, v);
}

/** Follows a redaction until it ends: its stage and percent while it runs, then its result or its error. */
async function followRedaction(page: Page, v: View, first: ServedRedaction) {
  const { els, api } = page;
  v.redactionId = first.redactionId;
  els.redactResult.hidden = true;
  showRunning(page, true);
  try {
    for (let r = first; ;) {
      if (page.state.view !== v || v.redactionId !== r.redactionId) return;
      if (r.status === 'succeeded') return await showRedacted(page, v, r);
      if (r.status === 'cancelled') return void (els.redactPhase.textContent = 'The redaction was cancelled: it left no video.');
      if (r.status === 'failed') {
        els.redactPhase.textContent = 'The redaction failed.';
        return showError(els, (r.error?.code as ErrorCode | undefined) ?? 'FAILED', r.error?.message ?? 'the redaction failed');
      }
      els.redactPhase.textContent = `${STAGE_WORDS[r.progress.stage ?? 'encode']} ${Math.round(r.progress.percent)}%`;
      els.redactProgress.value = r.progress.percent;
      await new Promise((done) => setTimeout(done, POLL_MS));
      const next = await api.redaction(v.jobId, r.redactionId);
      if (!next.ok) return showApiError(els, next, 'the redaction could not be read');
      r = next.body;
    }
  } finally {
    if (page.state.view === v) showRunning(page, false);
  }
}

/** Starts a redaction of the job on screen with the panel's request; a refusal (NO_CONFIRMED_SEGMENTS, INVALID_INPUT, ...) goes to the banner. */
export async function startRedaction(page: Page) {
  const { els, api, state } = page;
  const v = state.view;
  if (!v) return;
  els.error.hidden = true;
  const answer = await api.redact(v.jobId, redactionRequest(v.redaction));
  if (!answer.ok) return showApiError(els, answer, 'the redaction did not start');
  await followRedaction(page, v, answer.body);
}

/** Cancels the redaction being followed; the poll sees it end. */
export async function cancelRedaction(page: Page) {
  const v = page.state.view;
  if (!v?.redactionId) return;
  const answer = await page.api.cancelRedaction(v.jobId, v.redactionId);
  if (!answer.ok) showApiError(page.els, answer, 'the redaction could not be cancelled');
}

/** The settings of a redaction as the panel's draft (its boxes masked to their end, or for the hold when it had none). */
function draftOf(settings: NonNullable<ServedRedaction['audit']>['settings'], draft: RedactionDraft): RedactionDraft {
  return {
    ...draft,
    targets: new Set(settings.targets), style: settings.style, span: settings.span, audio: settings.audio, keep: new Set(settings.keep),
    boxes: settings.boxes.map((b) => ({ timeS: b.timeS, endS: b.endS ?? b.timeS, track: b.track, box: { ...b.box } })),
  };
}

/** After a reload: the job's newest redaction, followed if it runs, shown (with its settings restored) if it succeeded. */
export async function resumeLastRedaction(page: Page, v: View) {
  const answer = await page.api.redactions(v.jobId);
  const last = answer.ok ? answer.body.redactions[0] : undefined;
  if (!last || page.state.view !== v) return;
  // The job has been redacted: the panel opens on it.
  page.els.redact.open = true;
  if (last.status === 'running') return followRedaction(page, v, last);
  if (last.status !== 'succeeded' || !last.audit) {
    page.els.redactPhase.textContent = `The last redaction ${last.status}${last.error ? ` (${last.error.code})` : ''}.`;
    return;
  }
  v.redaction = draftOf(last.audit.settings, v.redaction);
  showDraftInForm(page, v.redaction);
  renderRedactionTracks(page, v);
  renderRedactionBoxes(page, v);
  await followRedaction(page, v, last);
}
