import { flushActivity } from './activity.js';
import type { DecisionKind } from './api.js';
import { decisionOf, jobSegmentsOf, markDecisions } from './cards.js';
import { clock } from './clock.js';
import { showApiError } from './error-banner.js';
import type { Page } from './page.js';
import type { View } from './state.js';
import { renderMissed } from './timeline.js';

/** The review as the server last answered: decision states, missed ranges, and its numbers. */
export function renderReview(page: Page, v: View) {
  markDecisions(v);
  renderMissed(page, v);
  const r = v.review;
  const { reviewState } = page.els;
  reviewState.textContent = `Review: ${r.status}${r.counts.undecided ? `, ${r.counts.undecided} undecided` : ''}${r.timeSaved !== null ? `, ${Math.round(r.timeSaved * 100)}% of the video's time saved` : ''}`;
  reviewState.dataset.status = r.status;
}

/**
 * Confirms or dismisses segment n; the same decision again takes it back. A re-review's
 * segment decides the job's own segments it overlaps, where the server keeps decisions.
 */
export async function decideSegment(page: Page, n: number, decision: DecisionKind) {
  const v = page.state.view;
  if (!v) return;
  // The server's numbers for this decision include the time spent reaching it.
  await flushActivity(page);
  const takeBack = decisionOf(v, n)?.decision === decision;
  for (const own of jobSegmentsOf(v, n)) {
    const answer = takeBack ? await page.api.undecide(v.jobId, own) : await page.api.decide(v.jobId, own, decision);
    if (!answer.ok) return showApiError(page.els, answer, 'the decision was not saved');
    // The reviewer may have opened another job while this was saved.
    if (page.state.view !== v) return;
    v.review = answer.body;
  }
  renderReview(page, v);
}

/** First press: a missed range starts here; second press: it ends here and is saved. */
export async function markMissed(page: Page) {
  const { els, state, api } = page;
  const v = state.view;
  if (!v) return;
  const t = Math.round(els.player.currentTime * 10) / 10;
  if (v.missedStart === undefined) {
    v.missedStart = t;
    els.markMissed.textContent = `Missed from ${clock(t)}: mark the end`;
    return;
  }
  const [startS, endS] = [Math.min(v.missedStart, t), Math.max(v.missedStart, t)];
  v.missedStart = undefined;
  els.markMissed.textContent = 'Mark missed from here';
  if (endS - startS < 0.1) return;
  const answer = await api.addMissed(v.jobId, { startS, endS });
  if (!answer.ok) return showApiError(els, answer, 'the missed range was not saved');
  v.review = answer.body.review;
  renderReview(page, v);
}
