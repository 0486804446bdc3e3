import { segmentElements } from './cards.js';
import { drawOverlay } from './overlay.js';
import type { Page } from './page.js';
import type { View } from './state.js';
import { moveCursor } from './timeline.js';

const SPEEDS = [0.5, 1, 1.5, 2, 3, 4];

/** Makes segment n the active one (highlighted; keys act on it); `seek` moves the player to its start. */
export function activate({ els, state }: Page, n: number, seek: boolean) {
  const v = state.view;
  if (!v || !v.segments[n]) return;
  v.active = n;
  for (const el of segmentElements()) el.classList.toggle('active', Number(el.dataset.segment) === n);
  document.querySelector(`#cards .card[data-segment="${n}"]`)?.scrollIntoView({ block: 'nearest' });
  if (seek) {
    v.playing = undefined;
    els.player.pause();
    els.player.currentTime = v.segments[n].startS;
  }
}

/** Plays segment n from its start and stops at its end. */
export function playSegment(page: Page, n: number) {
  const v = page.state.view;
  if (!v) return;
  activate(page, n, true);
  v.playing = v.segments[n];
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

/** The overlay and the cursor at the player's time, and the end of a segment played alone. */
function onTime(page: Page) {
  const v = page.state.view;
  if (!v) return;
  followPlayer(page, v, page.els.player.currentTime);
  drawOverlay(page);
}

/** Follows the player: the overlay and cursor on each time update, and a frame callback while it plays. */
export function watchPlayer(page: Page) {
  const { els, state } = page;
  els.player.ontimeupdate = () => onTime(page);
  els.player.onseeked = () => onTime(page);
  // Paths and shapes are drawn on the first frame too, before any time update.
  els.player.onloadeddata = () => onTime(page);
  // A paused frame's overlay follows the player's new size (a phone turned, a window resized).
  addEventListener('resize', () => onTime(page));
  // timeupdate comes about every 250 ms; a frame callback stops a played segment closer to its
  // end and moves the cursor smoothly (the overlay is drawn on timeupdate). One chain at a time.
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
