import { decisionOf, filterSegments, renderCards, type SegmentActions } from './cards.js';
import { clock } from './clock.js';
import { decideSegment, renderReview } from './decisions.js';
import { showError } from './error-banner.js';
import { showSection, type Page } from './page.js';
import { activate, playSegment } from './player.js';
import { emptyDraft } from './profile-draft.js';
import { pollJob } from './progress.js';
import { openRedactPanel } from './redact-panel.js';
import { emptyRedactionDraft } from './redact-request.js';
import { listStoredProfiles } from './re-review.js';
import { resetRuleForm } from './rule-form.js';
import { renderDraft } from './rules-editor.js';
import type { View } from './state.js';
import { renderCues, renderRanges } from './timeline.js';
import { segmentsWebVtt } from '../shared/webvtt.js';

/** Saves text as a file through a temporary link. */
function download(name: string, type: string, text: string) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** The segments on screen as CSV, one line each with the reviewer's decision. */
const segmentsCsv = (v: View) =>
  ['index,startS,endS,labels,bestFrameS,decision', ...v.segments.map((s) => `${s.index},${s.startS},${s.endS},"${s.labels.map((l) => l.label).join(' ')}",${s.bestFrame.timeS},${decisionOf(v, s.index)?.decision ?? ''}`)].join('\n');

/** Which profile's re-review is on screen, if one is. */
const reReviewWords = (v: View) => (v.reReviewedWith ? `, re-reviewed with ${v.reReviewedWith.name}${v.reReviewedWith.version ? ` v${v.reReviewedWith.version}` : ''}` : '');

/** The segments on screen: summary, timeline, cards and review, with the active segment highlighted. */
export function renderVideo(page: Page, v: View) {
  const { els } = page;
  const review = v.summary;
  els.summary.textContent = `Watch ${clock(review.flaggedS)} of ${clock(review.totalS)} (${Math.round(review.flaggedRatio * 100)}%) — ${review.segmentCount} segment${review.segmentCount === 1 ? '' : 's'}${reReviewWords(v)}`;
  const actions: SegmentActions = {
    activate: (n) => activate(page, n, true),
    play: (n) => playSegment(page, n),
    decide: (n, decision) => void decideSegment(page, n, decision),
  };
  renderRanges(page, v, actions);
  renderCues(page, v);
  renderCards(page, v, actions);
  renderReview(page, v);
  activate(page, v.active, false);
  els.search.value = '';
  els.search.oninput = () => filterSegments(v, els.search.value);
  els.downloadJson.onclick = () => download(`framewatch-${v.jobId}.json`, 'application/json', JSON.stringify(v.result, null, 2));
  els.downloadCsv.onclick = () => download(`framewatch-${v.jobId}-segments.csv`, 'text/csv', segmentsCsv(v));
  els.downloadVtt.onclick = () => download(`framewatch-${v.jobId}-segments.vtt`, 'text/vtt', segmentsWebVtt({ segments: v.segments }));
}

/** A new job's rules panel: nothing drawn, its own labels, the stored profiles to load. */
function openRulesPanel(page: Page, v: View) {
  resetRuleForm(page);
  renderDraft(page, v);
  page.els.ownSegments.hidden = true;
  void listStoredProfiles(page);
}

/** Opens a video job's review: waits for the job, reads its review, and plays its video (this tab's file, else the server's copy). */
export async function openJob(page: Page, jobId: string) {
  const { els, state, api } = page;
  els.error.hidden = true;
  const job = await pollJob(page, jobId);
  if (!job?.result) return;
  const review = await api.review(jobId);
  if (!review.ok) return showError(els, 'JOB_NOT_FOUND', `the review of job ${jobId} could not be read`);
  const v: View = { jobId, result: job.result, review: review.body, segments: job.result.segments, summary: job.result.review, draft: emptyDraft(), redaction: emptyRedactionDraft(), active: 0 };
  state.view = v;
  els.status.hidden = true;
  showSection(els, 'video');
  const local = state.localFiles.get(jobId);
  els.player.src = local ? URL.createObjectURL(local) : ((await api.protectedUrl(`/v1/jobs/${jobId}/video`)) ?? '');
  renderVideo(page, v);
  openRulesPanel(page, v);
  void openRedactPanel(page, v);
  // The keys act on the review from here: focus leaves the file picker.
  els.videoResult.focus({ preventScroll: true });
}
