import { segmentElements } from './cards.js';
import { context2d } from './dom.js';
import { drawBoxes } from './draw.js';
import type { Page } from './page.js';
import type { View } from './state.js';
import { moveCursor } from './timeline.js';

const SPEEDS = [0.5, 1, 1.5, 2, 3, 4];

/** Makes segment n the active one (highlighted; keys act on it); `seek` moves the player to its start. */
export function activate({ els, state }: Page, n: number, seek: boolean) {
  const v = state.view;
  if (!v || !v.result.segments[n]) return;
  v.active = n;
  for (const el of segmentElements()) el.classList.toggle('active', Number(el.dataset.segment) === n);
  document.querySelector(`#cards .card[data-segment="${n}"]`)?.scrollIntoView({ block: 'nearest' });
  if (seek) {
    v.playing = undefined;
    els.player.pause();
    els.player.currentTime = v.result.segments[n].startS;
  }
}

/** Plays segment n from its start and stops at its end. */
export function playSegment(page: Page, n: number) {
  const v = page.state.view;
  if (!v) return;
  activate(page, n, true);
  v.playing = v.result.segments[n];
  void page.els.player.play().catch(() => undefined);
}

/** One step faster (+1) or slower (-1) through SPEEDS. */
export function setSpeed({ els }: Page, step: number) {
  const i = Math.max(0, Math.min(SPEEDS.length - 1, SPEEDS.indexOf(els.player.playbackRate) + step));
  els.player.playbackRate = SPEEDS[i] ?? 1;
  els.speed.textContent = `${els.player.playbackRate}x`;
}

/** Moves the player by seconds, within the video. */
export function seekBy({ els }: Page, seconds: number) {
  const t = els.player.currentTime + seconds;
  els.player.currentTime = seconds > 0 ? Math.min(els.player.duration || Infinity, t) : Math.max(0, t);
}

/** A segment played alone stops at its end; the cursor follows the player. */
function followPlayer(page: Page, v: View, t: number) {
  const { player } = page.els;
  if (v.playing && t >= v.playing.endS) {
    player.pause();
    player.currentTime = v.playing.endS;
    v.playing = undefined;
  }
  moveCursor(page, v, t);
}

/** The best frame's boxes while its moment is on screen, the cursor, and the end of a segment played alone. */
function onTime(page: Page) {
  const { els, state } = page;
  const v = state.view;
  if (!v) return;
  const t = els.player.currentTime;
  followPlayer(page, v, t);
  const rect = els.player.getBoundingClientRect();
  // Setting a canvas's size clears it; only when the player's size changed (a canvas keeps the
  // whole part of the size it is given).
  if (els.overlay.width !== Math.trunc(rect.width) || els.overlay.height !== Math.trunc(rect.height)) {
    els.overlay.width = rect.width;
    els.overlay.height = rect.height;
  }
  const ctx = context2d(els.overlay);
  ctx.clearRect(0, 0, rect.width, rect.height);
  const best = v.result.segments.find((s) => Math.abs(s.bestFrame.timeS - t) < 0.5);
  if (!best) return;
  const { width, height } = v.result.video;
  const scale = Math.min(rect.width / width, rect.height / height);
  ctx.save();
  ctx.translate((rect.width - width * scale) / 2, (rect.height - height * scale) / 2);
  drawBoxes(ctx, best.bestFrame.detections, scale, { width: width * scale, height: height * scale }, page.colourOf);
  ctx.restore();
}

/** Follows the player: boxes and cursor on each time update, and a frame callback while it plays. */
export function watchPlayer(page: Page) {
  const { els, state } = page;
  els.player.ontimeupdate = () => onTime(page);
  els.player.onseeked = () => onTime(page);
  // timeupdate comes about every 250 ms; a frame callback stops a played segment closer to its
  // end and moves the cursor smoothly (the boxes are drawn on timeupdate). One chain at a time.
  const watchFrames = () => {
    state.frameWatch = undefined;
    if (state.view) followPlayer(page, state.view, els.player.currentTime);
    if (!els.player.paused) state.frameWatch = els.player.requestVideoFrameCallback?.(watchFrames);
  };
  els.player.onplay = () => {
    if (state.frameWatch !== undefined) els.player.cancelVideoFrameCallback?.(state.frameWatch);
    state.frameWatch = els.player.requestVideoFrameCallback?.(watchFrames);
  };
}
