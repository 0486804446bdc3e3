// The redaction panel's two lists: the tracks it can hide (each with a picture of a moment it
// is seen, its label and time range, and a tick: unticked is kept), and the boxes drawn by
// hand (each with its end, which the reviewer can set, and Remove).
import { clock } from './clock.js';
import { drawOverlay } from './overlay.js';
import type { Page } from './page.js';
import { jobRedactionTracks, type RedactionTrack } from './redact-request.js';
import type { View } from './state.js';

/** Loads the pictures one after another: the frames route cuts a few at a time and answers QUEUE_FULL past that. */
async function loadInTurn(page: Page, pictures: Array<{ img: HTMLImageElement; url: string }>) {
  for (const { img, url } of pictures) {
    const src = await page.api.protectedUrl(url);
    if (!src || !img.isConnected) continue;
    await new Promise<void>((done) => {
      img.onload = img.onerror = () => done();
      img.src = src;
    });
    if (src.startsWith('blob:')) URL.revokeObjectURL(src);
  }
}

const TARGET_WORDS = { persons: 'person', text: 'text', faces: 'face' } as const;

function trackRow(page: Page, v: View, track: RedactionTrack): { row: HTMLLIElement; img: HTMLImageElement } {
  const draft = v.redaction;
  const row = document.createElement('li');
  row.dataset.trackId = String(track.trackId);
  const hidden = draft.targets.has(track.target);
  row.classList.toggle('off', !hidden);
  const tick = document.createElement('input');
  tick.type = 'checkbox';
  tick.checked = !draft.keep.has(track.trackId);
  tick.disabled = !hidden;
  const words = `${TARGET_WORDS[track.target]} track ${track.trackId}${track.text ? ` “${track.text}”` : ''}`;
  tick.setAttribute('aria-label', `Hide ${words}`);
  tick.onchange = () => {
    if (tick.checked) draft.keep.delete(track.trackId);
    else draft.keep.add(track.trackId);
  };
  const img = document.createElement('img');
  img.alt = `${words} at ${clock(track.seenMs / 1000)}`;
  const text = document.createElement('span');
  text.textContent = `${track.label}${track.text ? ` “${track.text}”` : ''} ${clock(track.startS)} – ${clock(track.endS)}${hidden ? '' : ` (${track.target} not hidden)`}`;
  const label = document.createElement('label');
  label.className = 'check';
  label.append(tick, img, text);
  row.append(label);
  return { row, img };
}

/** The job's person and text tracks, then the face tracks the last redaction found; pictures load after. */
export function renderRedactionTracks(page: Page, v: View) {
  const tracks = [...jobRedactionTracks(v.result.tracks, v.result.video.durationS), ...v.redaction.faceTracks];
  const rows = tracks.map((t) => ({ ...trackRow(page, v, t), url: `/v1/jobs/${v.jobId}/frames/${t.seenMs}.jpg` }));
  page.els.redactTracks.replaceChildren(...rows.map((r) => r.row));
  if (!rows.length) page.els.redactTracks.append(Object.assign(document.createElement('li'), { textContent: 'No person or text tracks in this job: draw boxes, or hide faces.' }));
  void loadInTurn(page, rows);
}

/** One row per drawn box: where and from when, its end (editable), and Remove. */
export function renderRedactionBoxes(page: Page, v: View) {
  const draft = v.redaction;
  const durationS = v.result.video.durationS;
  page.els.redactBoxes.replaceChildren(...draft.boxes.map((b, i) => {
    const row = document.createElement('li');
    row.dataset.box = String(i);
    const where = document.createElement('span');
    const pct = (share: number) => `${Math.round(share * 100)}%`;
    where.textContent = `Box ${i + 1} at ${pct(b.box.x)}, ${pct(b.box.y)} (${pct(b.box.width)} × ${pct(b.box.height)} of the frame) from ${b.timeS.toFixed(1)} s`;
    const until = document.createElement('input');
    until.type = 'number';
    until.className = 'box-end';
    until.min = String(b.timeS);
    until.max = String(durationS);
    until.step = '0.1';
    until.value = String(b.endS);
    until.onchange = () => {
      const end = Number(until.value);
      if (Number.isFinite(end)) b.endS = Math.min(durationS, Math.max(b.timeS, end));
      until.value = String(b.endS);
      drawOverlay(page);
    };
    const endLabel = document.createElement('label');
    endLabel.append('until (s)', until);
    const toEnd = document.createElement('button');
    toEnd.type = 'button';
    toEnd.textContent = 'To the end';
    toEnd.onclick = () => {
      b.endS = durationS;
      until.value = String(b.endS);
      drawOverlay(page);
    };
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Remove';
    remove.setAttribute('aria-label', `Remove box ${i + 1}`);
    remove.onclick = () => {
      draft.boxes = draft.boxes.filter((other) => other !== b);
      renderRedactionBoxes(page, v);
      drawOverlay(page);
    };
    row.append(where, endLabel, toEnd, remove);
    return row;
  }));
}
