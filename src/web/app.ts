// The review page's script: plain TypeScript, compiled by the project's build, no framework.
// It talks only to this server's API: /v1/models, predict, /v1/jobs. When the server asks for
// an API token (401), the page shows a token field and sends the token as a bearer header;
// it is kept in sessionStorage, so it lasts for this tab only.

interface Box { x: number; y: number; width: number; height: number }
interface Detection { label: string; score: number; box: Box }
interface Segment { index: number; startS: number; endS: number; labels: Array<{ label: string; maxScore: number; trackCount: number }>; bestFrame: { timeS: number; detections: Detection[] }; thumbnail: string }
interface VideoResult { jobId: string; segments: Segment[]; review: { totalS: number; flaggedS: number; flaggedRatio: number; segmentCount: number }; video: { width: number; height: number } }
interface ApiError { error?: { code: string; message: string } }

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const els = {
  model: $<HTMLSelectElement>('model'), token: $<HTMLInputElement>('token'), tokenField: $('token-field'), labels: $<HTMLInputElement>('labels'), fps: $<HTMLInputElement>('fps'), file: $<HTMLInputElement>('file'),
  drop: $('drop'), status: $('status'), phase: $('phase'), progress: $<HTMLProgressElement>('progress'), eta: $('eta'), cancel: $<HTMLButtonElement>('cancel'),
  error: $('error'), videoResult: $('video-result'), summary: $('summary'), player: $<HTMLVideoElement>('player'), overlay: $<HTMLCanvasElement>('overlay'),
  timeline: $('timeline'), cursor: $('cursor'), cards: $<HTMLOListElement>('cards'), imageResult: $('image-result'), imageCanvas: $<HTMLCanvasElement>('image-canvas'),
  detections: document.querySelector('#detections tbody') as HTMLTableSectionElement,
};

const COLOURS = ['#ffd400', '#4fc3f7', '#f06292', '#81c784', '#ffb74d', '#ba68c8'];
const colourOf = (() => {
  const seen = new Map<string, string>();
  return (label: string) => seen.get(label) ?? (seen.set(label, COLOURS[seen.size % COLOURS.length]), seen.get(label)!);
})();
const clock = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

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
  UNAUTHORIZED: 'This server needs an API token. Enter it above and pick the file again.',
};

const TOKEN_KEY = 'framewatch-api-token';
els.token.value = sessionStorage.getItem(TOKEN_KEY) ?? '';
els.tokenField.hidden = !els.token.value;
els.token.oninput = () => sessionStorage.setItem(TOKEN_KEY, els.token.value.trim());

/** The bearer header for protected routes, when a token was entered. */
const authHeaders = (): Record<string, string> => (els.token.value.trim() ? { Authorization: `Bearer ${els.token.value.trim()}` } : {});

/** GETs or DELETEs a protected route with the token. */
const api = (url: string, init: RequestInit = {}) => fetch(url, { ...init, headers: { ...authHeaders(), ...init.headers } });

/** Thumbnails are behind the token too, so an <img> cannot load them by URL: fetch, then show a blob. */
async function loadThumbnail(img: HTMLImageElement, url: string) {
  if (!authHeaders().Authorization) {
    img.src = url;
    return;
  }
  const res = await api(url);
  if (!res.ok) return;
  img.onload = () => URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(await res.blob());
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

async function loadModels() {
  try {
    const res = await fetch('/v1/models');
    const body = (await res.json()) as { models: Array<{ name: string; versions: Array<{ version: number; status: string; task: string }> }> };
    els.model.replaceChildren();
    for (const m of body.models) {
      for (const v of m.versions.filter((v) => v.status === 'READY')) {
        els.model.append(new Option(`${m.name} v${v.version} (${v.task})`, `${m.name}/versions/${v.version}`));
      }
    }
    const preferred = [...els.model.options].find((o) => o.value.startsWith('object-detector/'));
    if (preferred) els.model.value = preferred.value;
  } catch {
    showError('UNAVAILABLE', 'the model list could not be loaded');
  }
}

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

let currentJob: string | undefined;

async function pollJob(jobId: string): Promise<VideoResult | undefined> {
  currentJob = jobId;
  els.cancel.hidden = false;
  const started = Date.now();
  for (;;) {
    const res = await api(`/v1/jobs/${jobId}`);
    const job = (await res.json()) as { status: string; progress: { framesDone: number; framesTotal: number; percent: number }; result?: VideoResult; error?: { code: string; message: string } };
    if (!res.ok) {
      showError(job.error?.code ?? `HTTP_${res.status}`, job.error?.message ?? 'the job could not be read');
      return undefined;
    }
    const { framesDone, framesTotal, percent } = job.progress;
    const elapsed = (Date.now() - started) / 1000;
    const eta = framesDone > 0 ? `${framesDone} of ${framesTotal} frames, about ${Math.ceil((elapsed / framesDone) * (framesTotal - framesDone))} s left` : 'starting';
    setProgress('Analysing', percent, eta);
    if (job.status === 'succeeded') return job.result;
    if (job.status === 'failed' || job.status === 'cancelled') {
      showError(job.error?.code ?? 'FAILED', job.error?.message ?? job.status);
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 400));
  }
}

function drawBoxes(ctx: CanvasRenderingContext2D, detections: Detection[], scaleX: number, scaleY: number) {
  ctx.lineWidth = 3;
  ctx.font = '16px system-ui, sans-serif';
  for (const d of detections) {
    const c = colourOf(d.label);
    ctx.strokeStyle = c;
    ctx.strokeRect(d.box.x * scaleX, d.box.y * scaleY, d.box.width * scaleX, d.box.height * scaleY);
    const text = `${d.label} ${(d.score * 100).toFixed(0)}%`;
    ctx.fillStyle = c;
    ctx.fillRect(d.box.x * scaleX, Math.max(0, d.box.y * scaleY - 20), ctx.measureText(text).width + 8, 20);
    ctx.fillStyle = '#000';
    ctx.fillText(text, d.box.x * scaleX + 4, Math.max(15, d.box.y * scaleY - 5));
  }
}

function download(name: string, type: string, text: string) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function showVideo(file: File, result: VideoResult) {
  els.status.hidden = true;
  els.videoResult.hidden = false;
  els.player.src = URL.createObjectURL(file); // played from the local file; the server keeps nothing for playback
  const { review, segments } = result;
  els.summary.textContent = `Watch ${clock(review.flaggedS)} of ${clock(review.totalS)} (${Math.round(review.flaggedRatio * 100)}%) — ${review.segmentCount} segment${review.segmentCount === 1 ? '' : 's'}`;
  els.timeline.querySelectorAll('.range').forEach((r) => r.remove());
  els.cards.replaceChildren();
  const seek = (s: Segment) => {
    els.player.currentTime = s.startS;
    void els.player.play().catch(() => undefined);
  };
  for (const s of segments) {
    const range = document.createElement('button');
    range.className = 'range';
    range.type = 'button';
    range.dataset.segmentStart = String(s.startS);
    range.style.left = `${(s.startS / review.totalS) * 100}%`;
    range.style.width = `${((s.endS - s.startS) / review.totalS) * 100}%`;
    range.style.background = colourOf(s.labels[0]?.label ?? '');
    range.setAttribute('aria-label', `Segment ${clock(s.startS)} to ${clock(s.endS)}: ${s.labels.map((l) => l.label).join(', ')}`);
    range.onclick = () => seek(s);
    els.timeline.append(range);

    const item = document.createElement('li');
    const card = document.createElement('button');
    card.type = 'button';
    card.className = 'card';
    card.dataset.segmentStart = String(s.startS);
    const img = document.createElement('img');
    void loadThumbnail(img, s.thumbnail);
    img.alt = `Best frame at ${clock(s.bestFrame.timeS)}`;
    const time = document.createElement('div');
    time.className = 'time';
    time.textContent = `${clock(s.startS)} – ${clock(s.endS)}`;
    const labels = document.createElement('div');
    labels.className = 'labels';
    labels.textContent = s.labels.map((l) => `${l.label} ${(l.maxScore * 100).toFixed(0)}%`).join(', ');
    card.append(img, time, labels);
    card.onclick = () => seek(s);
    item.append(card);
    els.cards.append(item);
  }
  const ctx = els.overlay.getContext('2d')!;
  const render = () => {
    const t = els.player.currentTime;
    els.cursor.style.left = `${(t / review.totalS) * 100}%`;
    const rect = els.player.getBoundingClientRect();
    els.overlay.width = rect.width;
    els.overlay.height = rect.height;
    ctx.clearRect(0, 0, rect.width, rect.height);
    // The best frame's boxes while its moment is on screen (letterboxed inside the element).
    const best = segments.find((s) => Math.abs(s.bestFrame.timeS - t) < 0.5);
    if (best) {
      const scale = Math.min(rect.width / result.video.width, rect.height / result.video.height);
      ctx.save();
      ctx.translate((rect.width - result.video.width * scale) / 2, (rect.height - result.video.height * scale) / 2);
      drawBoxes(ctx, best.bestFrame.detections, scale, scale);
      ctx.restore();
    }
  };
  els.player.ontimeupdate = render;
  els.player.onseeked = render;
  document.onkeydown = (e) => {
    if (e.target instanceof HTMLInputElement || !segments.length) return;
    const t = els.player.currentTime;
    if (e.key === 'n') {
      const next = segments.find((s) => s.startS > t + 0.01) ?? segments[0];
      seek(next);
    } else if (e.key === 'p') {
      const prev = [...segments].reverse().find((s) => s.startS < t - 0.5) ?? segments[segments.length - 1];
      seek(prev);
    }
  };
  $('download-json').onclick = () => download(`framewatch-${result.jobId}.json`, 'application/json', JSON.stringify(result, null, 2));
  $('download-csv').onclick = () =>
    download(`framewatch-${result.jobId}-segments.csv`, 'text/csv', ['index,startS,endS,labels,bestFrameS', ...segments.map((s) => `${s.index},${s.startS},${s.endS},"${s.labels.map((l) => l.label).join(' ')}",${s.bestFrame.timeS}`)].join('\n'));
}

function showImage(file: File, result: { detections: Detection[]; image: { width: number; height: number } }) {
  els.status.hidden = true;
  els.imageResult.hidden = false;
  const img = new Image();
  img.onload = () => {
    const canvas = els.imageCanvas;
    canvas.width = result.image.width;
    canvas.height = result.image.height;
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    drawBoxes(ctx, result.detections, 1, 1);
    canvas.dataset.boxes = String(result.detections.length);
  };
  img.src = URL.createObjectURL(file);
  els.detections.replaceChildren(
    ...result.detections.map((d) => {
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
  els.videoResult.hidden = true;
  els.imageResult.hidden = true;
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
    if (status >= 400 || error) return showError(error?.code ?? `HTTP_${status}`, error?.message ?? 'request failed');
    if (status === 202) {
      const result = await pollJob((body as { jobId: string }).jobId);
      if (result) showVideo(file, result);
    } else if ((body as VideoResult).segments) showVideo(file, body as VideoResult);
    else showImage(file, body as { detections: Detection[]; image: { width: number; height: number } });
  } catch (err) {
    showError('NETWORK', (err as Error).message);
  } finally {
    els.cancel.hidden = true;
    currentJob = undefined;
  }
}

els.cancel.onclick = () => {
  if (currentJob) void api(`/v1/jobs/${currentJob}`, { method: 'DELETE' });
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
void loadModels();
