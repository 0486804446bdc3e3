import { clock } from './clock.js';
import { showApiError } from './error-banner.js';
import { showSection, type Page } from './page.js';

/** How many of the newest jobs the list shows. */
const LISTED_JOBS = 50;

/** The jobs list, newest first, each linked to its review and showing the review's status. */
export async function showJobs({ els, api }: Page) {
  showSection(els, 'jobs');
  const answer = await api.jobs();
  if (!answer.ok) return showApiError(els, answer, 'the jobs could not be listed');
  const recent = answer.body.jobs.slice(-LISTED_JOBS).reverse();
  const reviews = await Promise.all(recent.map(async (j) => (j.status === 'succeeded' ? await api.review(j.jobId) : undefined)));
  els.jobsBody.replaceChildren(
    ...recent.map((j, i) => {
      const tr = document.createElement('tr');
      const link = document.createElement('a');
      link.href = `#/jobs/${j.jobId}`;
      link.textContent = new Date(j.createdAt).toLocaleString();
      const review = reviews[i];
      const cells = [link, `${j.model.name} v${j.model.version}`, j.input.filename ?? '', j.status, review?.ok ? review.body.status : ''];
      for (const c of cells) {
        const td = document.createElement('td');
        td.append(c);
        tr.append(td);
      }
      return tr;
    }),
  );
}

/** Finds finished jobs whose segments show the text: a link to each, with the times and texts. */
export async function searchJobs({ els, api }: Page) {
  const answer = await api.search(els.searchText.value);
  if (!answer.ok) return showApiError(els, answer, 'the search failed');
  const { results } = answer.body;
  if (!results.length) {
    const li = document.createElement('li');
    li.textContent = 'No finished job shows that text.';
    return els.searchResults.replaceChildren(li);
  }
  els.searchResults.replaceChildren(
    ...results.map((r) => {
      const li = document.createElement('li');
      const link = document.createElement('a');
      link.href = `#/jobs/${r.jobId}`;
      link.textContent = r.filename ?? r.jobId;
      li.append(link, ` — ${r.segments.map((s) => `${clock(s.startS)}–${clock(s.endS)} “${s.texts.join('”, “')}”`).join('; ')}`);
      return li;
    }),
  );
}
