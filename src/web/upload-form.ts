import { showApiError, showError } from './error-banner.js';
import { showImage } from './image-view.js';
import { showSection, type Page } from './page.js';
import { setProgress } from './progress.js';

const TOKEN_KEY = 'framewatch-api-token';
const VIDEO_NAME = /\.(mp4|mov|mkv|webm|avi|m4v)$/i;

/** The model's review defaults (its manifest's review.labels) fill the label filter, unless the reviewer typed their own. */
function prefillLabels({ els, state }: Page) {
  const defaults = els.model.selectedOptions[0]?.dataset.labels ?? '';
  if (els.labels.value.trim() === '' || els.labels.value === state.prefilledLabels) els.labels.value = defaults;
  state.prefilledLabels = defaults;
}

/** The ready model versions as options, the object detector chosen when there is one. */
export async function loadModels(page: Page) {
  const { els, api } = page;
  try {
    const answer = await api.models();
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    els.model.replaceChildren();
    for (const m of answer.body.models) {
      for (const v of m.versions.filter((v) => v.status === 'READY')) {
        const option = new Option(`${m.name} v${v.version}`, `${m.name}/versions/${v.version}`);
        option.title = `${m.name} version ${v.version} (${v.task})`;
        option.dataset.labels = v.review?.labels?.join(',') ?? '';
        els.model.append(option);
      }
    }
    const preferred = [...els.model.options].find((o) => o.value.startsWith('object-detector/'));
    if (preferred) els.model.value = preferred.value;
    prefillLabels(page);
  } catch {
    showError(els, 'UNAVAILABLE', 'the model list could not be loaded');
  }
}

/** Uploads a file to the chosen model: a video becomes a job (opened by its link), an image shows its boxes. */
async function analyse(page: Page, file: File) {
  const { els, state, api } = page;
  els.error.hidden = true;
  showSection(els, 'home');
  if (!els.model.value) return showError(els, 'MODEL_NOT_READY', 'no model is ready');
  const isVideo = file.type.startsWith('video/') || VIDEO_NAME.test(file.name);
  const query = new URLSearchParams({ frames: 'false' });
  if (isVideo) {
    query.set('mode', 'async');
    query.set('fps', els.fps.value || '2');
    if (els.labels.value.trim()) query.set('labels', els.labels.value.trim());
  }
  try {
    const answer = await api.upload(file, `/v1/models/${els.model.value}/predict?${query}`, (percent) => setProgress(els, 'Uploading', percent, ''));
    if (!answer.ok) return showApiError(els, answer, 'request failed');
    if ('jobId' in answer.body) {
      state.localFiles.set(answer.body.jobId, file);
      location.hash = `#/jobs/${answer.body.jobId}`; // the router opens it; a reload comes back to it
    } else showImage(page, file, answer.body);
  } catch (err) {
    showError(els, 'NETWORK', err instanceof Error ? err.message : String(err));
  }
}

/**
 * The upload form: the API token (kept in sessionStorage, so for this tab only, and shown once
 * the server asks for one), the model's label defaults, the file picker, drag and drop, and Cancel.
 */
export function bindUploadForm(page: Page) {
  const { els, state, api } = page;
  els.token.value = sessionStorage.getItem(TOKEN_KEY) ?? '';
  els.tokenField.hidden = !els.token.value;
  els.token.oninput = () => sessionStorage.setItem(TOKEN_KEY, els.token.value.trim());
  els.model.onchange = () => prefillLabels(page);
  els.cancel.onclick = () => {
    if (state.pollingJob) void api.cancel(state.pollingJob);
  };
  els.file.onchange = () => {
    const file = els.file.files?.[0];
    if (file) void analyse(page, file);
  };
  els.drop.onkeydown = (e) => {
    if (e.key === 'Enter' || e.key === ' ') els.file.click();
  };
  els.drop.onclick = () => els.file.click();
  els.drop.ondragover = (e) => {
    e.preventDefault();
    els.drop.classList.add('over');
  };
  els.drop.ondragleave = () => els.drop.classList.remove('over');
  els.drop.ondrop = (e) => {
    e.preventDefault();
    els.drop.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file) void analyse(page, file);
  };
}
