// The review page's script: plain TypeScript, compiled by the project's build, no framework.
// It talks only to this server's API: /v1/models, predict, /v1/jobs and the review routes.
// When the server asks for an API token (401), the page shows a token field and sends the
// token as a bearer header; it is kept in sessionStorage, so it lasts for this tab only.
// A job's review lives on the server, so a reload or a deep link (#/jobs/<id>) restores it.
import { placeLabels } from '../shared/label-layout.js';
import { foldTerms, textMatches } from '../shared/text-match.js';

interface Box { x: number; y: number; width: number; height: number }
interface Detection { label: string; score: number; box: Box }
interface Segment { index: number; startS: number; endS: number; labels: Array<{ label: string; maxScore: number; trackCount: number }>; texts?: string[]; bestFrame: { timeS: number; detections: Detection[] }; thumbnail: string }
interface VideoResult { jobId: string; segments: Segment[]; review: { totalS: number; flaggedS: number; flaggedRatio: number; segmentCount: number }; video: { width: number; height: number } }
interface Decision { decision: 'confirmed' | 'dismissed'; label?: string; note?: string }
interface Review { status: string; activeS: number; timeSaved: number | null; segments: Array<{ index: number; decision?: Decision }>; missed: Array<{ id: number; startS: number; endS: number }>; counts: { undecided: number } }
interface JobRecord { jobId: string; status: string; createdAt: string; model: { name: string; version: number }; input: { filename?: string }; progress: { framesDone: number; framesTotal: number; percent: number }; result?: VideoResult; error?: { code: string; message: string } }
interface ApiError { error?: { code: string; message: string } }

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const els = {
  model: $<HTMLSelectElement>('model'), token: $<HTMLInputElement>('token'), tokenField: $('token-field'), labels: $<HTMLInputElement>('labels'), fps: $<HTMLInputElement>('fps'), file: $<HTMLInputElement>('file'),
  drop: $('drop'), status: $('status'), phase: $('phase'), progress: $<HTMLProgressElement>('progress'), eta: $('eta'), cancel: $<HTMLButtonElement>('cancel'),
  error: $('error'), videoResult: $('video-result'), summary: $('summary'), player: $<HTMLVideoElement>('player'), overlay: $<HTMLCanvasElement>('overlay'),
  timeline: $('timeline'), cursor: $('cursor'), cards: $<HTMLOListElement>('cards'), imageResult: $('image-result'), imageCanvas: $<HTMLCanvasElement>('image-canvas'),
  detections: document.querySelector('#detections tbody') as HTMLTableSectionElement, reviewState: $('review-state'), markMissed: $<HTMLButtonElement>('mark-missed'),
  speed: $('speed'), missed: $<HTMLUListElement>('missed'), jobs: $('jobs'), jobsBody: document.querySelector('#jobs-table tbody') as HTMLTableSectionElement,
  search: $<HTMLInputElement>('search'), searchJobs: $<HTMLFormElement>('search-jobs'), searchText: $<HTMLInputElement>('search-text'), searchResults: $<HTMLUListElement>('search-results'),
};

const COLOURS = ['#ffd400', '#4fc3f7', '#f06292', '#81c784', '#ffb74d', '#ba68c8'];
const colourOf = (() => {
  const seen = new Map<string, string>();
  return (label: string) => seen.get(label) ?? (seen.set(label, COLOURS[seen.size % COLOURS.length]), seen.get(label)!);
})();
const clock = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
const SPEEDS = [0.5, 1, 1.5, 2, 3, 4];
/** Input gaps longer than this stop the active review clock (unless the video plays). */
const IDLE_LIMIT_MS = 30_000;

/** Plain words for an API error code; the code itself is shown too. */
const PLAIN: Record<string, string> = {
  UNSUPPORTED_MEDIA_TYPE: 'This file is not a video or image framewatch can read.',
  PAYLOAD_TOO_LARGE: 'This file is too large for the server.',
  IMAGE_TOO_LARGE: 'This image has too many pixels.',
  INVALID_MEDIA: 'The video could not be read; it may be truncated or corrupt.',
  NO_VIDEO_STREAM: 'This file has no video in it (audio only?).',
  MODEL_NOT_READY: 'The model is not ready yet. Try again in a moment.',
  QUEUE_FULL: 'The server is busy. Try again in a moment.',
  INVALID_INPUT: 'The request was not valid.',
  CANCELLED: 'The job was cancelled.',
  JOB_NOT_FOUND: 'This job does not exist any more (jobs expire).',
  UNAUTHORIZED: 'This server needs an API token. Enter it above and pick the file again.',
};

const TOKEN_KEY = 'framewatch-api-token';
els.token.value = sessionStorage.getItem(TOKEN_KEY) ?? '';
els.tokenField.hidden = !els.token.value;
els.token.oninput = () => sessionStorage.setItem(TOKEN_KEY, els.token.value.trim());

/** The bearer header for protected routes, when a token was entered. */
const authHeaders = (): Record<string, string> => (els.token.value.trim() ? { Authorization: `Bearer ${els.token.value.trim()}` } : {});

/** Calls a protected route with the token. */
const api = (url: string, init: RequestInit = {}) => fetch(url, { ...init, headers: { ...authHeaders(), ...init.headers } });
const sendJson = (url: string, method: string, body: unknown) => api(url, { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, keepalive: true });

/** Protected files (thumbnails, the video) cannot load by URL with a token: fetch, then show a blob. */
async function protectedUrl(url: string): Promise<string | undefined> {
  if (!authHeaders().Authorization) return url;
  const res = await api(url);
  return res.ok ? URL.createObjectURL(await res.blob()) : undefined;
}

function showError(code: string, message: string) {
  if (code === 'UNAUTHORIZED') {
    els.tokenField.hidden = false;
    els.token.focus();
  }
  els.error.hidden = false;
  els.error.textContent = `${PLAIN[code] ?? 'Something went wrong.'} (${code}: ${message})`;
  els.status.hidden = true;
}

/** An API answer that failed: its error code and message, or the HTTP status and what was being done. */
const showApiError = (status: number, body: ApiError, doing: string) => showError(body.error?.code ?? `HTTP_${status}`, body.error?.message ?? doing);

async function loadModels() {
  try {
    const res = await fetch('/v1/models');
    const body = (await res.json()) as { models: Array<{ name: string; versions: Array<{ version: number; status: string; task: string; review?: { labels?: string[] } }> }> };
    els.model.replaceChildren();
    for (const m of body.models) {
      for (const v of m.versions.filter((v) => v.status === 'READY')) {
        const option = new Option(`${m.name} v${v.version}`, `${m.name}/versions/${v.version}`);
        option.title = `${m.name} version ${v.version} (${v.task})`;
        option.dataset.labels = v.review?.labels?.join(',') ?? '';
        els.model.append(option);
      }
    }
    const preferred = [...els.model.options].find((o) => o.value.startsWith('object-detector/'));
    if (preferred) els.model.value = preferred.value;
    prefillLabels();
  } catch {
    showError('UNAVAILABLE', 'the model list could not be loaded');
  }
}

/** The model's review defaults (its manifest's review.labels) fill the label filter, unless the reviewer typed their own. */
let prefilled = '';
function prefillLabels() {
  const defaults = els.model.selectedOptions[0]?.dataset.labels ?? '';
  if (els.labels.value.trim() === '' || els.labels.value === prefilled) els.labels.value = defaults;
  prefilled = defaults;
}
els.model.onchange = prefillLabels;

/** POSTs the file with upload progress (XMLHttpRequest reports it; fetch does not). */
function upload(file: File, url: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) setProgress('Uploading', (e.loaded / e.total) * 100, '');
    };
    xhr.onload = () => {
      try {
        resolve({ status: xhr.status, body: JSON.parse(xhr.responseText) });
      } catch {
        reject(new Error(`HTTP ${xhr.status}`));
      }
    };
    xhr.onerror = () => reject(new Error('the upload failed'));
    const form = new FormData();
    form.append('file', file);
    xhr.send(form);
  });
}

function setProgress(phase: string, percent: number, eta: string) {
  els.status.hidden = false;
  els.phase.textContent = `${phase} ${Math.round(percent)}%`;
  els.progress.value = percent;
  els.eta.textContent = eta;
}

let pollingJob: string | undefined;

/** Waits for a job to end, showing its progress; the final record, or undefined after an error. */
async function pollJob(jobId: string): Promise<JobRecord | undefined> {
  pollingJob = jobId;
  els.cancel.hidden = false;
  const started = Date.now();
  try {
    for (;;) {
      const res = await api(`/v1/jobs/${jobId}`);
      const job = (await res.json()) as JobRecord;
      if (!res.ok) return void showApiError(res.status, job, 'the job could not be read');
      if (job.status === 'succeeded') return job;
      if (job.status === 'failed' || job.status === 'cancelled') return void showError(job.error?.code ?? 'FAILED', job.error?.message ?? job.status);
      const { framesDone, framesTotal, percent } = job.progress;
      const elapsed = (Date.now() - started) / 1000;
      const eta = framesDone > 0 ? `${framesDone} of ${framesTotal} frames, about ${Math.ceil((elapsed / framesDone) * (framesTotal - framesDone))} s left` : 'starting';
      setProgress('Analysing', percent, eta);
      await new Promise((r) => setTimeout(r, 400));
    }
  } finally {
    els.cancel.hidden = true;
    pollingJob = undefined;
  }
}

/** Boxes with their labels; labels never cover each other. */
function drawBoxes(ctx: CanvasRenderingContext2D, detections: Detection[], scale: number, picture: { width: number; height: number }) {
  ctx.lineWidth = 3;
  ctx.font = '16px system-ui, sans-serif';
  const texts = detections.map((d) => `${d.label} ${(d.score * 100).toFixed(0)}%`);
  const spots = placeLabels(detections.map((d, i) => ({ x: d.box.x * scale, y: d.box.y * scale, width: ctx.measureText(texts[i]).width + 8, height: 20 })), picture);
  for (const [i, d] of detections.entries()) {
    const c = colourOf(d.label);
    ctx.strokeStyle = c;
    ctx.strokeRect(d.box.x * scale, d.box.y * scale, d.box.width * scale, d.box.height * scale);
    ctx.fillStyle = c;
    ctx.fillRect(spots[i].x, spots[i].y, spots[i].width, spots[i].height);
    ctx.fillStyle = '#000';
    ctx.fillText(texts[i], spots[i].x + 4, spots[i].y + 15);
  }
}

function download(name: string, type: string, text: string) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** The job on screen: its result, its review as the server last answered, and the reviewer's place in it. */
interface View {
  jobId: string;
  result: VideoResult;
  review: Review;
  active: number;
  /** The segment playing until its end, if any. */
  playing?: Segment;
  missedStart?: number;
}
let view: View | undefined;

/** Files picked in this tab, by job: played locally when the server kept no video. */
const localFiles = new Map<string, File>();

function showSection(section: 'home' | 'video' | 'image' | 'jobs') {
  els.videoResult.hidden = section !== 'video';
  els.imageResult.hidden = section !== 'image';
  els.jobs.hidden = section !== 'jobs';
  document.body.classList.toggle('reviewing', section === 'video' || section === 'image');
}

async function openJob(jobId: string) {
  els.error.hidden = true;
  const job = await pollJob(jobId);
  if (!job?.result) return;
  const reviewRes = await api(`/v1/jobs/${jobId}/review`);
  if (!reviewRes.ok) return showError('JOB_NOT_FOUND', `the review of job ${jobId} could not be read`);
  view = { jobId, result: job.result, review: (await reviewRes.json()) as Review, active: 0 };
  els.status.hidden = true;
  showSection('video');
  const local = localFiles.get(jobId);
  els.player.src = local ? URL.createObjectURL(local) : (await protectedUrl(`/v1/jobs/${jobId}/video`)) ?? '';
  renderVideo(view);
  // The keys act on the review from here: focus leaves the file picker.
  els.videoResult.focus({ preventScroll: true });
}

function renderVideo(v: View) {
  const { review, segments } = v.result;
  els.summary.textContent = `Watch ${clock(review.flaggedS)} of ${clock(review.totalS)} (${Math.round(review.flaggedRatio * 100)}%) — ${review.segmentCount} segment${review.segmentCount === 1 ? '' : 's'}`;
  els.timeline.querySelectorAll('.range, .missed-range').forEach((r) => r.remove());
  els.cards.replaceChildren();
  for (const s of segments) {
    const range = document.createElement('button');
    range.className = 'range';
    range.type = 'button';
    range.tabIndex = -1;
    range.dataset.segment = String(s.index);
    range.dataset.segmentStart = String(s.startS);
    range.style.left = `${(s.startS / review.totalS) * 100}%`;
    range.style.width = `${((s.endS - s.startS) / review.totalS) * 100}%`;
    range.style.background = colourOf(s.labels[0]?.label ?? '');
    range.setAttribute('aria-label', `Segment ${clock(s.startS)} to ${clock(s.endS)}: ${s.labels.map((l) => l.label).join(', ')}`);
    range.onclick = () => activate(s.index, true);
    els.timeline.append(range);
    els.cards.append(card(s));
  }
  renderReview(v);
  activate(v.active, false);
  els.search.value = '';
  els.search.oninput = () => filterSegments(v, els.search.value);
  $('download-json').onclick = () => download(`framewatch-${v.jobId}.json`, 'application/json', JSON.stringify(v.result, null, 2));
  $('download-csv').onclick = () =>
    download(`framewatch-${v.jobId}-segments.csv`, 'text/csv', ['index,startS,endS,labels,bestFrameS,decision', ...segments.map((s) => `${s.index},${s.startS},${s.endS},"${s.labels.map((l) => l.label).join(' ')}",${s.bestFrame.timeS},${decisionOf(v, s.index)?.decision ?? ''}`)].join('\n'));
}

function card(s: Segment): HTMLLIElement {
  const item = document.createElement('li');
  item.className = 'card';
  item.dataset.segment = String(s.index);
  item.dataset.segmentStart = String(s.startS);
  const img = document.createElement('img');
  // A blob (token set) is let go once the image has it, as before the page learned deep links.
  img.onload = () => img.src.startsWith('blob:') && URL.revokeObjectURL(img.src);
  void protectedUrl(s.thumbnail).then((url) => url && (img.src = url));
  img.alt = `Best frame at ${clock(s.bestFrame.timeS)}`;
  // A click on the card (not on its buttons) makes it active and seeks to it.
  item.onclick = (e) => void (e.target instanceof HTMLButtonElement || activate(s.index, true));
  const time = document.createElement('div');
  time.className = 'time';
  time.textContent = `${clock(s.startS)} – ${clock(s.endS)}`;
  const labels = document.createElement('div');
  labels.className = 'labels';
  labels.textContent = s.labels.map((l) => `${l.label} ${(l.maxScore * 100).toFixed(0)}%`).join(', ') + (s.texts?.length ? `: “${s.texts.join('”, “')}”` : '');
  const state = document.createElement('div');
  state.className = 'state';
  const decide = document.createElement('div');
  decide.className = 'decide';
  for (const [decision, text] of [['confirmed', 'Confirm (y)'], ['dismissed', 'Dismiss (x)']] as const) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = text;
    button.dataset.decision = decision;
    button.onclick = () => void decideSegment(s.index, decision);
    decide.append(button);
  }
  const play = document.createElement('button');
  play.type = 'button';
  play.textContent = 'Play segment';
  play.className = 'play';
  play.onclick = () => playSegment(s.index);
  decide.append(play);
  item.append(img, time, labels, state, decide);
  return item;
}

const decisionOf = (v: View, n: number) => v.review.segments[n]?.decision;

/** Shows only the segments whose texts or labels contain the term (case and spacing folded). */
function filterSegments(v: View, term: string) {
  const wanted = foldTerms([term]);
  for (const el of document.querySelectorAll<HTMLElement>('#cards .card, #timeline .range')) {
    const s = v.result.segments[Number(el.dataset.segment)];
    el.hidden = wanted.length > 0 && ![...(s.texts ?? []), ...s.labels.map((l) => l.label)].some((t) => textMatches(t, wanted));
  }
}

/** Decision states on cards and timeline, the missed ranges, and the review's numbers. */
function renderReview(v: View) {
  for (const el of document.querySelectorAll<HTMLElement>('#cards .card, #timeline .range')) {
    const decision = decisionOf(v, Number(el.dataset.segment))?.decision;
    el.classList.toggle('confirmed', decision === 'confirmed');
    el.classList.toggle('dismissed', decision === 'dismissed');
    el.dataset.decision = decision ?? '';
    const state = el.querySelector('.state');
    if (state) state.textContent = decision ? `${decision}${decisionOf(v, Number(el.dataset.segment))?.label ? ` as ${decisionOf(v, Number(el.dataset.segment))!.label}` : ''}` : 'undecided';
  }
  els.timeline.querySelectorAll('.missed-range').forEach((r) => r.remove());
  els.missed.replaceChildren(
    ...v.review.missed.map((m) => {
      const bar = document.createElement('div');
      bar.className = 'missed-range';
      bar.style.left = `${(m.startS / v.result.review.totalS) * 100}%`;
      bar.style.width = `${((m.endS - m.startS) / v.result.review.totalS) * 100}%`;
      els.timeline.append(bar);
      const li = document.createElement('li');
      li.dataset.missedStart = String(m.startS);
      li.textContent = `Missed ${clock(m.startS)} – ${clock(m.endS)}`;
      return li;
    }),
  );
  const r = v.review;
  els.reviewState.textContent = `Review: ${r.status}${r.counts.undecided ? `, ${r.counts.undecided} undecided` : ''}${r.timeSaved !== null ? `, ${Math.round(r.timeSaved * 100)}% of the video's time saved` : ''}`;
  els.reviewState.dataset.status = r.status;
}

/** Makes segment n the active one (highlighted; keys act on it); `seek` moves the player to its start. */
function activate(n: number, seek: boolean) {
  if (!view || !view.result.segments[n]) return;
  view.active = n;
  for (const el of document.querySelectorAll<HTMLElement>('#cards .card, #timeline .range')) el.classList.toggle('active', Number(el.dataset.segment) === n);
  document.querySelector(`#cards .card[data-segment="${n}"]`)?.scrollIntoView({ block: 'nearest' });
  if (seek) {
    view.playing = undefined;
    els.player.pause();
    els.player.currentTime = view.result.segments[n].startS;
  }
}

/** Plays segment n from its start and stops at its end. */
function playSegment(n: number) {
  if (!view) return;
  activate(n, true);
  view.playing = view.result.segments[n];
  void els.player.play().catch(() => undefined);
}

async function decideSegment(n: number, decision: Decision['decision']) {
  if (!view) return;
  const v = view;
  await flushActivity();
  const current = decisionOf(v, n)?.decision;
  // The same key again takes the decision back.
  const res = current === decision ? await api(`/v1/jobs/${v.jobId}/segments/${n}/decision`, { method: 'DELETE' }) : await sendJson(`/v1/jobs/${v.jobId}/segments/${n}/decision`, 'PUT', { decision });
  const body = (await res.json()) as Review & ApiError;
  if (!res.ok) return showApiError(res.status, body, 'the decision was not saved');
  if (view === v) {
    v.review = body;
    renderReview(v);
  }
}

/** First press: a missed range starts here; second press: it ends here and is saved. */
async function markMissed() {
  if (!view) return;
  const v = view;
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
  const res = await sendJson(`/v1/jobs/${v.jobId}/missed`, 'POST', { startS, endS });
  const body = (await res.json()) as { review: Review } & ApiError;
  if (!res.ok) return showApiError(res.status, body, 'the missed range was not saved');
  v.review = body.review;
  renderReview(v);
}

function setSpeed(step: number) {
  const i = Math.max(0, Math.min(SPEEDS.length - 1, SPEEDS.indexOf(els.player.playbackRate) + step));
  els.player.playbackRate = SPEEDS[i] ?? 1;
  els.speed.textContent = `${els.player.playbackRate}x`;
}

/** A segment played alone stops at its end; the cursor follows the player. */
function followPlayer(v: View, t: number) {
  if (v.playing && t >= v.playing.endS) {
    els.player.pause();
    els.player.currentTime = v.playing.endS;
    v.playing = undefined;
  }
  els.cursor.style.left = `${(t / v.result.review.totalS) * 100}%`;
}

/** The best frame's boxes while its moment is on screen, the cursor, and the end of a segment played alone. */
function onTime() {
  if (!view) return;
  const v = view;
  const t = els.player.currentTime;
  followPlayer(v, t);
  const rect = els.player.getBoundingClientRect();
  // Setting a canvas's size clears it; only when the player's size changed (a canvas keeps the
  // whole part of the size it is given).
  if (els.overlay.width !== Math.trunc(rect.width) || els.overlay.height !== Math.trunc(rect.height)) {
    els.overlay.width = rect.width;
    els.overlay.height = rect.height;
  }
  const ctx = els.overlay.getContext('2d')!;
  ctx.clearRect(0, 0, rect.width, rect.height);
  const best = v.result.segments.find((s) => Math.abs(s.bestFrame.timeS - t) < 0.5);
  if (!best) return;
  const { width, height } = v.result.video;
  const scale = Math.min(rect.width / width, rect.height / height);
  ctx.save();
  ctx.translate((rect.width - width * scale) / 2, (rect.height - height * scale) / 2);
  drawBoxes(ctx, best.bestFrame.detections, scale, { width: width * scale, height: height * scale });
  ctx.restore();
}
els.player.ontimeupdate = onTime;
els.player.onseeked = onTime;
// timeupdate comes about every 250 ms; a frame callback stops a played segment closer to its
// end and moves the cursor smoothly (the boxes are drawn on timeupdate). One chain at a time.
let frameWatch: number | undefined;
const watchFrames = () => {
  frameWatch = undefined;
  if (view) followPlayer(view, els.player.currentTime);
  if (!els.player.paused) frameWatch = els.player.requestVideoFrameCallback?.(watchFrames);
};
els.player.onplay = () => {
  if (frameWatch !== undefined) els.player.cancelVideoFrameCallback?.(frameWatch);
  frameWatch = els.player.requestVideoFrameCallback?.(watchFrames);
};

const KEYS: Record<string, (e: KeyboardEvent) => void> = {
  n: () => view && activate((view.active + 1) % view.result.segments.length, true),
  p: () => view && activate((view.active - 1 + view.result.segments.length) % view.result.segments.length, true),
  Enter: () => view && playSegment(view.active),
  y: () => view && void decideSegment(view.active, 'confirmed'),
  x: () => view && void decideSegment(view.active, 'dismissed'),
  m: () => void markMissed(),
  ArrowRight: (e) => (els.player.currentTime = Math.min(els.player.duration || Infinity, els.player.currentTime + (e.shiftKey ? 5 : 1))),
  ArrowLeft: (e) => (els.player.currentTime = Math.max(0, els.player.currentTime - (e.shiftKey ? 5 : 1))),
  ']': () => setSpeed(1),
  '[': () => setSpeed(-1),
};
document.addEventListener('keydown', (e) => {
  const typing = (e.target instanceof HTMLInputElement && e.target.type !== 'file') || e.target instanceof HTMLSelectElement;
  // Keys belong to the review while a video result is on screen, not to a focused button or the player.
  if (typing || els.videoResult.hidden || !view || e.ctrlKey || e.metaKey || e.altKey) return;
  const action = KEYS[e.key];
  if (!action || (!view.result.segments.length && !['m', 'ArrowRight', 'ArrowLeft', '[', ']'].includes(e.key))) return;
  e.preventDefault();
  action(e);
});
els.markMissed.onclick = () => void markMissed();

/**
 * Active review time: counted each second the page is visible and focused and the reviewer
 * is busy (the video plays, or some input came within IDLE_LIMIT_MS), sent every 10 s and
 * before each decision.
 */
let activeMs = 0;
let lastInput = Date.now();
for (const type of ['keydown', 'pointerdown', 'pointermove', 'wheel']) addEventListener(type, () => (lastInput = Date.now()), { passive: true });
setInterval(() => {
  if (!view || els.videoResult.hidden) return;
  const visible = document.visibilityState === 'visible' && document.hasFocus();
  if (visible && (!els.player.paused || Date.now() - lastInput < IDLE_LIMIT_MS)) activeMs += 1000;
  if (activeMs >= 10_000) void flushActivity();
}, 1000);
async function flushActivity() {
  if (!view || activeMs === 0) return;
  const slice = Math.min(activeMs, 60_000);
  activeMs -= slice;
  await sendJson(`/v1/jobs/${view.jobId}/review/activity`, 'POST', { activeMs: slice }).catch(() => undefined);
}
addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && void flushActivity());
addEventListener('pagehide', () => void flushActivity());

async function showJobs() {
  showSection('jobs');
  const res = await api('/v1/jobs');
  const body = (await res.json()) as { jobs: JobRecord[] } & ApiError;
  if (!res.ok) return showApiError(res.status, body, 'the jobs could not be listed');
  const recent = body.jobs.slice(-50).reverse();
  const reviews = await Promise.all(recent.map((j) => (j.status === 'succeeded' ? api(`/v1/jobs/${j.jobId}/review`).then((r) => (r.ok ? (r.json() as Promise<Review>) : undefined)) : undefined)));
  els.jobsBody.replaceChildren(
    ...recent.map((j, i) => {
      const tr = document.createElement('tr');
      const link = document.createElement('a');
      link.href = `#/jobs/${j.jobId}`;
      link.textContent = new Date(j.createdAt).toLocaleString();
      const cells = [link, `${j.model.name} v${j.model.version}`, j.input.filename ?? '', j.status, reviews[i]?.status ?? ''];
      for (const c of cells) {
        const td = document.createElement('td');
        td.append(c);
        tr.append(td);
      }
      return tr;
    }),
  );
}

els.searchJobs.onsubmit = async (e) => {
  e.preventDefault();
  const res = await api(`/v1/search?text=${encodeURIComponent(els.searchText.value)}`);
  const body = (await res.json()) as { results: Array<{ jobId: string; filename?: string; segments: Array<{ startS: number; endS: number; texts: string[] }> }> } & ApiError;
  if (!res.ok) return showApiError(res.status, body, 'the search failed');
  els.searchResults.replaceChildren(
    ...(body.results.length ? body.results : [undefined]).map((r) => {
      const li = document.createElement('li');
      if (!r) return (li.textContent = 'No finished job shows that text.'), li;
      const link = document.createElement('a');
      link.href = `#/jobs/${r.jobId}`;
      link.textContent = r.filename ?? r.jobId;
      li.append(link, ` — ${r.segments.map((s) => `${clock(s.startS)}–${clock(s.endS)} “${s.texts.join('”, “')}”`).join('; ')}`);
      return li;
    }),
  );
};

function showImage(file: File, result: { detections: Detection[]; image: { width: number; height: number } }) {
  els.status.hidden = true;
  showSection('image');
  // The label filter applies to images as to videos.
  const wanted = els.labels.value.split(',').map((l) => l.trim()).filter(Boolean);
  const detections = wanted.length ? result.detections.filter((d) => wanted.includes(d.label)) : result.detections;
  const img = new Image();
  img.onload = () => {
    const canvas = els.imageCanvas;
    canvas.width = result.image.width;
    canvas.height = result.image.height;
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    drawBoxes(ctx, detections, 1, result.image);
    canvas.dataset.boxes = String(detections.length);
  };
  img.src = URL.createObjectURL(file);
  els.detections.replaceChildren(
    ...detections.map((d) => {
      const tr = document.createElement('tr');
      for (const v of [d.label, (d.score * 100).toFixed(1) + '%', d.box.x, d.box.y, d.box.width, d.box.height].map((x) => (typeof x === 'number' ? Math.round(x) : x))) {
        const td = document.createElement('td');
        td.textContent = String(v);
        tr.append(td);
      }
      return tr;
    }),
  );
}

async function analyse(file: File) {
  els.error.hidden = true;
  showSection('home');
  if (!els.model.value) return showError('MODEL_NOT_READY', 'no model is ready');
  const isVideo = file.type.startsWith('video/') || /\.(mp4|mov|mkv|webm|avi|m4v)$/i.test(file.name);
  const query = new URLSearchParams({ frames: 'false' });
  if (isVideo) {
    query.set('mode', 'async');
    query.set('fps', els.fps.value || '2');
    if (els.labels.value.trim()) query.set('labels', els.labels.value.trim());
  }
  try {
    const { status, body } = await upload(file, `/v1/models/${els.model.value}/predict?${query}`);
    const error = (body as ApiError).error;
    if (status >= 400 || error) return showApiError(status, body as ApiError, 'request failed');
    const jobId = (body as { jobId?: string }).jobId;
    if (jobId) {
      localFiles.set(jobId, file);
      location.hash = `#/jobs/${jobId}`; // the router opens it; a reload comes back to it
    } else showImage(file, body as { detections: Detection[]; image: { width: number; height: number } });
  } catch (err) {
    showError('NETWORK', (err as Error).message);
  }
}

/** #/jobs/<id>: that job's review; #/jobs: the list; else the upload form. */
async function route() {
  const match = /^#\/jobs\/([0-9a-f-]{36})$/.exec(location.hash);
  if (match) return openJob(match[1]);
  view = undefined;
  if (location.hash === '#/jobs') return showJobs();
  showSection('home');
}
addEventListener('hashchange', () => void flushActivity().then(route));

els.cancel.onclick = () => {
  if (pollingJob) void api(`/v1/jobs/${pollingJob}`, { method: 'DELETE' });
};
els.file.onchange = () => {
  const file = els.file.files?.[0];
  if (file) void analyse(file);
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
  if (file) void analyse(file);
};
void loadModels().then(route);
