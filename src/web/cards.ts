import { foldTerms, textMatches } from '../shared/text-match.js';
import type { DecisionKind } from './api.js';
import { clock } from './clock.js';
import { queryElements } from './dom.js';
import type { Page } from './page.js';
import type { ShownSegment, View } from './state.js';

/** What a segment's card and timeline range can ask for; the caller wires them to the player and the review. */
export interface SegmentActions {
  /** Make segment n active and seek to its start. */
  activate(n: number): void;
  play(n: number): void;
  decide(n: number, decision: DecisionKind): void;
}

/** Each segment's card and its timeline range: both carry data-segment and its decision state. */
export const segmentElements = () => queryElements('#cards .card, #timeline .range', HTMLElement);

/**
 * The job's own segments that segment n on screen stands for: itself, or, for a re-review's
 * segment, the job's segments it overlaps (decisions stay on those: docs/review.md).
 */
export const jobSegmentsOf = (v: View, n: number): number[] => v.segments[n]?.overlaps ?? [n];

/** The decision on segment n: the reviewer's on it, or the one every job segment a re-review's segment overlaps carries. */
export function decisionOf(v: View, n: number) {
  const decisions = jobSegmentsOf(v, n).map((i) => v.review.segments[i]?.decision);
  const first = decisions[0];
  return first && decisions.every((d) => d?.decision === first.decision) ? first : undefined;
}

/** The card's picture: the thumbnail, or, for a re-review's segment of a job whose video was not kept, a placeholder naming the best frame's time. */
function picture(page: Page, s: ShownSegment): HTMLElement {
  const words = `Best frame at ${clock(s.bestFrame.timeS)}`;
  if (!s.thumbnail) {
    const none = document.createElement('div');
    none.className = 'no-thumbnail';
    none.textContent = `${words} (no picture: the video was not kept)`;
    return none;
  }
  const img = document.createElement('img');
  // A blob (token set) is let go once the image has it.
  img.onload = () => img.src.startsWith('blob:') && URL.revokeObjectURL(img.src);
  img.alt = words;
  loadPicture(page, img, pictureUrl(page.state.view, s.thumbnail));
  return img;
}

/** Where a card's picture comes from: its thumbnail, masked as a redaction masked the video when the reviewer asks (`redaction=`). */
const pictureUrl = (v: View | undefined, thumbnail: string) =>
  v?.picturesRedactedBy ? `${thumbnail}${thumbnail.includes('?') ? '&' : '?'}redaction=${encodeURIComponent(v.picturesRedactedBy)}` : thumbnail;

function loadPicture({ api }: Page, img: HTMLImageElement, url: string) {
  void api.protectedUrl(url).then((src) => src && (img.src = src));
}

/** The cards' pictures again, plain or redacted as the view asks (the reviewer ticked or unticked "as redacted"). */
export function refreshCardPictures(page: Page, v: View) {
  for (const img of queryElements('#cards .card img', HTMLImageElement)) {
    const s = v.segments[Number(img.closest<HTMLElement>('.card')?.dataset.segment)];
    if (s?.thumbnail) loadPicture(page, img, pictureUrl(v, s.thumbnail));
  }
}

/** A re-review's segment names the job's segments its decision goes to; none: nothing to decide. */
function decidesText(s: ShownSegment): string {
  if (!s.overlaps) return '';
  if (!s.overlaps.length) return 'Overlaps none of the job\'s segments: nothing to decide here';
  return `Decides the job's segment${s.overlaps.length > 1 ? 's' : ''} ${s.overlaps.map((n) => n + 1).join(', ')}`;
}

function card(page: Page, s: ShownSegment, actions: SegmentActions): HTMLLIElement {
  const item = document.createElement('li');
  item.className = 'card';
  item.dataset.segment = String(s.index);
  item.dataset.segmentStart = String(s.startS);
  item.dataset.segmentEnd = String(s.endS);
  // A click on the card (not on its buttons) makes it active and seeks to it.
  item.onclick = (e) => void (e.target instanceof HTMLButtonElement || actions.activate(s.index));
  const time = document.createElement('div');
  time.className = 'time';
  time.textContent = `${clock(s.startS)} – ${clock(s.endS)}`;
  const labels = document.createElement('div');
  labels.className = 'labels';
  labels.textContent = s.labels.map((l) => `${l.label} ${(l.maxScore * 100).toFixed(0)}%`).join(', ') + (s.texts?.length ? `: “${s.texts.join('”, “')}”` : '');
  // A profile's segment says which rules fired, and whether one is an alert.
  const rules = document.createElement('div');
  rules.className = s.alert ? 'rules alert' : 'rules';
  rules.textContent = s.rules?.length ? `${s.alert ? 'Alert' : 'Rule'}: ${s.rules.join(', ')}` : '';
  rules.hidden = !s.rules?.length;
  const decides = document.createElement('div');
  decides.className = 'decides';
  decides.textContent = decidesText(s);
  decides.hidden = !s.overlaps;
  const state = document.createElement('div');
  state.className = 'state';
  const decide = document.createElement('div');
  decide.className = 'decide';
  for (const [decision, text] of [['confirmed', 'Confirm (y)'], ['dismissed', 'Dismiss (x)']] as const) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = text;
    button.dataset.decision = decision;
    button.disabled = s.overlaps?.length === 0;
    button.onclick = () => actions.decide(s.index, decision);
    decide.append(button);
  }
  const play = document.createElement('button');
  play.type = 'button';
  play.textContent = 'Play segment';
  play.className = 'play';
  play.onclick = () => actions.play(s.index);
  decide.append(play);
  item.append(picture(page, s), time, labels, rules, decides, state, decide);
  return item;
}

/** One card per segment on screen, in order, replacing the last ones. */
export function renderCards(page: Page, v: View, actions: SegmentActions) {
  page.els.cards.replaceChildren(...v.segments.map((s) => card(page, s, actions)));
}

/** Each card's and range's decision state (class, data-decision, and the card's words). */
export function markDecisions(v: View) {
  for (const el of segmentElements()) {
    const decision = decisionOf(v, Number(el.dataset.segment));
    el.classList.toggle('confirmed', decision?.decision === 'confirmed');
    el.classList.toggle('dismissed', decision?.decision === 'dismissed');
    el.dataset.decision = decision?.decision ?? '';
    const state = el.querySelector('.state');
    if (state) state.textContent = decision ? `${decision.decision}${decision.label ? ` as ${decision.label}` : ''}` : 'undecided';
  }
}

/** Shows only the segments whose texts or labels contain the term (case and spacing folded). */
export function filterSegments(v: View, term: string) {
  const wanted = foldTerms([term]);
  for (const el of segmentElements()) {
    const s = v.segments[Number(el.dataset.segment)];
    el.hidden = wanted.length > 0 && ![...(s.texts ?? []), ...s.labels.map((l) => l.label)].some((t) => textMatches(t, wanted));
  }
}
