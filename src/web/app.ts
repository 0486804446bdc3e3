// The review page's entry: plain TypeScript compiled for the browser (src/web/tsconfig.json), no
// framework. It talks only to this server's API: /v1/models, predict, /v1/jobs, the review
// routes and redaction. When the server asks for an API token (401), the page shows a token
// field and sends the token as a bearer header. A job's review lives on the server, so a reload or a deep link
// (#/jobs/<id>) restores it. This module only wires the parts together.
import { flushActivity, startActivityClock } from './activity.js';
import { markMissed } from './decisions.js';
import { searchJobs, showJobs } from './jobs-view.js';
import { bindKeys } from './keys.js';
import { drawOverlay } from './overlay.js';
import { createPage, showSection, type Page } from './page.js';
import { watchPlayer } from './player.js';
import { bindReReview } from './re-review.js';
import { bindRedactPanel } from './redact-panel.js';
import { bindRuleForm } from './rule-form.js';
import { bindRulesEditor, renderDraft } from './rules-editor.js';
import { bindUploadForm, loadModels } from './upload-form.js';
import { openJob, renderVideo } from './video-view.js';

const JOB_LINK = /^#\/jobs\/([0-9a-f-]{36})$/;

/** #/jobs/<id>: that job's review; #/jobs: the list; else the upload form. */
async function route(page: Page) {
  const match = JOB_LINK.exec(location.hash);
  if (match) return openJob(page, match[1]);
  page.state.view = undefined;
  if (location.hash === '#/jobs') return showJobs(page);
  showSection(page.els, 'home');
}

const page = createPage();
bindUploadForm(page);
watchPlayer(page);
bindKeys(page);
bindRulesEditor(page);
bindRuleForm(page, (v) => renderDraft(page, v));
bindRedactPanel(page);
bindReReview(page, { segments: (v) => renderVideo(page, v), draft: (v) => renderDraft(page, v) });
page.els.showPaths.onchange = () => drawOverlay(page);
startActivityClock(page);
page.els.markMissed.onclick = () => void markMissed(page);
page.els.searchJobs.onsubmit = (e) => {
  e.preventDefault();
  void searchJobs(page);
};
// The time spent on a job is sent before another one opens.
addEventListener('hashchange', () => void flushActivity(page).then(() => route(page)));
void loadModels(page).then(() => route(page));
