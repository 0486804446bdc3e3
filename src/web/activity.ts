import type { Page } from './page.js';

/** Input gaps longer than this stop the active review clock (unless the video plays). */
const IDLE_LIMIT_MS = 30_000;
/** Counted time is sent once this much has built up (and before each decision). */
const SEND_AFTER_MS = 10_000;
/** The server takes at most a minute in one slice. */
const MAX_SLICE_MS = 60_000;

/** Sends the active time counted so far for the job on screen. */
export async function flushActivity({ state, api }: Page) {
  if (!state.view || state.activeMs === 0) return;
  const slice = Math.min(state.activeMs, MAX_SLICE_MS);
  state.activeMs -= slice;
  await api.reportActivity(state.view.jobId, slice);
}

/**
 * Active review time: counted each second the page is visible and focused and the reviewer
 * is busy (the video plays, or some input came within IDLE_LIMIT_MS), sent every 10 s, before
 * each decision, and when the tab is hidden or left.
 */
export function startActivityClock(page: Page) {
  const { els, state } = page;
  for (const type of ['keydown', 'pointerdown', 'pointermove', 'wheel']) addEventListener(type, () => (state.lastInput = Date.now()), { passive: true });
  setInterval(() => {
    if (!state.view || els.videoResult.hidden) return;
    const visible = document.visibilityState === 'visible' && document.hasFocus();
    if (visible && (!els.player.paused || Date.now() - state.lastInput < IDLE_LIMIT_MS)) state.activeMs += 1000;
    if (state.activeMs >= SEND_AFTER_MS) void flushActivity(page);
  }, 1000);
  addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && void flushActivity(page));
  addEventListener('pagehide', () => void flushActivity(page));
}
