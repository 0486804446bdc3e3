import { decideSegment, markMissed } from './decisions.js';
import type { Page } from './page.js';
import { activate, playSegment, seekBy, setSpeed } from './player.js';
import type { View } from './state.js';

type KeyAction = (page: Page, v: View, e: KeyboardEvent) => void;

const step = (e: KeyboardEvent) => (e.shiftKey ? 5 : 1);

/** The review's keys, as index.html's hint lists them. */
const KEYS: Record<string, KeyAction> = {
  n: (page, v) => activate(page, (v.active + 1) % v.segments.length, true),
  p: (page, v) => activate(page, (v.active - 1 + v.segments.length) % v.segments.length, true),
  Enter: (page, v) => playSegment(page, v.active),
  y: (page, v) => void decideSegment(page, v.active, 'confirmed'),
  x: (page, v) => void decideSegment(page, v.active, 'dismissed'),
  m: (page) => void markMissed(page),
  ArrowRight: (page, _v, e) => seekBy(page, step(e)),
  ArrowLeft: (page, _v, e) => seekBy(page, -step(e)),
  ']': (page) => setSpeed(page, 1),
  '[': (page) => setSpeed(page, -1),
};

/** Keys that mean something in a result without segments. */
const WITHOUT_SEGMENTS = new Set(['m', 'ArrowRight', 'ArrowLeft', '[', ']']);

/** Listens for the review's keys while a video result is on screen. */
export function bindKeys(page: Page) {
  document.addEventListener('keydown', (e) => {
    const v = page.state.view;
    const typing = (e.target instanceof HTMLInputElement && e.target.type !== 'file') || e.target instanceof HTMLSelectElement;
    // The rules panel is a form: its buttons and summary keep Enter and Space.
    const editing = e.target instanceof Element && e.target.closest('#rules') !== null;
    // Keys belong to the review while a video result is on screen, not to a focused button or the player.
    if (typing || editing || page.els.videoResult.hidden || !v || e.ctrlKey || e.metaKey || e.altKey) return;
    const action = Object.hasOwn(KEYS, e.key) ? KEYS[e.key] : undefined;
    if (!action || (!v.segments.length && !WITHOUT_SEGMENTS.has(e.key))) return;
    e.preventDefault();
    action(page, v, e);
  });
}
