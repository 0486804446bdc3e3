import type { JobView } from '../shared/job-result.js';
import type { PageElements } from './elements.js';
import { showApiError, showError } from './error-banner.js';
import type { Page } from './page.js';

/** How often a running job's progress is read. */
const POLL_MS = 400;

/** Shows a phase (uploading, analysing) with its percentage and an estimate. */
export function setProgress(els: PageElements, phase: string, percent: number, eta: string) {
  els.status.hidden = false;
  els.phase.textContent = `${phase} ${Math.round(percent)}%`;
  els.progress.value = percent;
  els.eta.textContent = eta;
}

/** Waits for a job to end, showing its progress; the final view of it, or undefined after an error. */
export async function pollJob({ els, state, api }: Page, jobId: string): Promise<JobView | undefined> {
  state.pollingJob = jobId;
  els.cancel.hidden = false;
  const started = Date.now();
  try {
    for (;;) {
      const answer = await api.job(jobId);
      if (!answer.ok) return void showApiError(els, answer, 'the job could not be read');
      const job = answer.body;
      if (job.status === 'succeeded') return job;
      if (job.status === 'failed' || job.status === 'cancelled') return void showError(els, job.error?.code ?? 'FAILED', job.error?.message ?? job.status);
      const { framesDone, framesTotal, percent } = job.progress;
      const elapsed = (Date.now() - started) / 1000;
      const eta = framesDone > 0 ? `${framesDone} of ${framesTotal} frames, about ${Math.ceil((elapsed / framesDone) * (framesTotal - framesDone))} s left` : 'starting';
      setProgress(els, 'Analysing', percent, eta);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    els.cancel.hidden = true;
    state.pollingJob = undefined;
  }
}
