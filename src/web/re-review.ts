// Save and re-review: the draft is stored as a profile (POST /v1/profiles, judged by the
// server's schema), then the job is re-reviewed with that stored version (POST
// /v1/jobs/:id/evaluate: from the job's tracks, no inference), and its segments replace the
// job's own on screen. Decisions stay on the job's own segments (cards.ts carries them
// across by each segment's `overlaps`). Stored profiles can be loaded, drawn and re-run.
import type { ApiError } from './api.js';
import { showApiError, showError } from './error-banner.js';
import type { Page } from './page.js';
import { draftProfile, profileDraft, type ProfileDraft } from './profile-draft.js';
import type { View } from './state.js';

/** What to re-render once the segments on screen change, and once the draft does. */
export interface ReReviewRender { segments(v: View): void; draft(v: View): void }

const SINGULAR: Record<string, string> = { zones: 'zone', lines: 'line', rules: 'rule' };

/** A field's path in the profile (`zones.0.polygon`) in the reviewer's words: `zone 'door' (polygon)`. */
export function fieldInWords(draft: ProfileDraft, path: string): string {
  if (path === 'name') return 'the profile name';
  const [list, index, ...rest] = path.split('.');
  const items: ReadonlyArray<{ name: string }> | undefined = list === 'zones' ? draft.zones : list === 'lines' ? draft.lines : list === 'rules' ? draft.rules : undefined;
  const item = index === undefined ? undefined : items?.[Number(index)];
  if (!item) return items ? `the ${list}` : `'${path}'`;
  return `${SINGULAR[list]} '${item.name}'${rest.length ? ` (${rest.join('.')})` : ''}`;
}

/** The server's issues, each naming its field in words; the server's message when it sent none. */
function issuesInWords(draft: ProfileDraft, error: ApiError): string {
  const issues = (error.details as { issues?: Array<{ path: string; message: string }> } | undefined)?.issues;
  return issues?.length ? issues.map((i) => `${fieldInWords(draft, i.path)}: ${i.message}`).join('; ') : error.message;
}

/** Shows what is on screen again: the job's own segments, or a re-review's. */
function showSegments(page: Page, v: View, render: ReReviewRender) {
  v.active = 0;
  v.playing = undefined;
  page.els.ownSegments.hidden = v.reReviewedWith === undefined;
  render.segments(v);
}

/** Re-reviews the job with a stored profile version; its segments go on screen. */
async function reReview(page: Page, v: View, ref: { profile: string; version?: number }, render: ReReviewRender) {
  const answer = await page.api.evaluate(v.jobId, ref);
  if (!answer.ok) return showApiError(page.els, answer, 'the re-review failed');
  if (page.state.view !== v) return;
  v.segments = answer.body.segments;
  v.summary = answer.body.review;
  v.reReviewedWith = answer.body.profile;
  showSegments(page, v, render);
}

/** The stored profiles as the select's choices, `selected` chosen. */
export async function listStoredProfiles({ els, api }: Page, selected = '') {
  const answer = await api.profiles();
  if (!answer.ok) return; // the select stays as it was; saving still works
  const choices = answer.body.profiles.map((p) => new Option(`${p.name} v${p.version} (${p.rules} rule${p.rules === 1 ? '' : 's'})`, p.name));
  els.storedProfiles.replaceChildren(new Option('Pick one…', ''), ...choices);
  els.storedProfiles.value = selected;
}

/** Stores the draft under the typed name, then re-reviews with the version stored; a refusal names its fields. */
async function saveAndReReview(page: Page, render: ReReviewRender) {
  const { els, api, state } = page;
  const v = state.view;
  if (!v) return;
  els.error.hidden = true;
  const saved = await api.saveProfile(draftProfile(v.draft, els.profileName.value.trim()));
  if (!saved.ok) {
    if (saved.error?.code !== 'INVALID_INPUT') return showApiError(els, saved, 'the profile was not saved');
    return showError(els, 'INVALID_INPUT', `the profile was not saved: ${issuesInWords(v.draft, saved.error)}`);
  }
  await reReview(page, v, { profile: saved.body.name, version: saved.body.version }, render);
  await listStoredProfiles(page, saved.body.name);
}

/** Loads the chosen stored profile: its shapes drawn, its rules listed, and the job re-reviewed with it. */
async function loadStoredProfile(page: Page, render: ReReviewRender) {
  const { els, api, state } = page;
  const v = state.view;
  const name = els.storedProfiles.value;
  if (!v || !name) return;
  const answer = await api.profile(name);
  if (!answer.ok) return showApiError(els, answer, `the profile '${name}' could not be read`);
  if (state.view !== v) return;
  v.draft = profileDraft(answer.body);
  els.profileName.value = answer.body.name;
  render.draft(v);
  await reReview(page, v, { profile: answer.body.name, version: answer.body.version }, render);
}

/** The job's own segments back on screen. */
function showOwnSegments(page: Page, render: ReReviewRender) {
  const v = page.state.view;
  if (!v) return;
  v.segments = v.result.segments;
  v.summary = v.result.review;
  v.reReviewedWith = undefined;
  showSegments(page, v, render);
}

/** Save and re-review, the stored profiles' select, and the way back; bound once, acting on the job on screen. */
export function bindReReview(page: Page, render: ReReviewRender) {
  const { els } = page;
  els.saveProfile.onclick = () => void saveAndReReview(page, render);
  els.storedProfiles.onchange = () => void loadStoredProfile(page, render);
  els.ownSegments.onclick = () => showOwnSegments(page, render);
}
