import { clock } from './clock.js';
import type { SegmentActions } from './cards.js';
import type { Page } from './page.js';
import type { View } from './state.js';

/** A span of the video as left and width on the timeline, in percent of the whole. */
function place(el: HTMLElement, startS: number, endS: number, totalS: number) {
  el.style.left = `${(startS / totalS) * 100}%`;
  el.style.width = `${((endS - startS) / totalS) * 100}%`;
}

/** One range per segment on screen, coloured by its first label, replacing the last ones. */
export function renderRanges({ els, colourOf }: Page, v: View, actions: SegmentActions) {
  const { totalS } = v.result.review;
  els.timeline.querySelectorAll('.range, .missed-range').forEach((r) => r.remove());
  for (const s of v.segments) {
    const range = document.createElement('button');
    range.className = 'range';
    range.type = 'button';
    range.tabIndex = -1;
    range.dataset.segment = String(s.index);
    range.dataset.segmentStart = String(s.startS);
    place(range, s.startS, s.endS, totalS);
    range.style.background = colourOf(s.labels[0]?.label ?? '');
    range.setAttribute('aria-label', `Segment ${clock(s.startS)} to ${clock(s.endS)}: ${s.labels.map((l) => l.label).join(', ')}`);
    range.onclick = () => actions.activate(s.index);
    els.timeline.append(range);
  }
}

/**
 * The cue lane under the timeline: speech spans and loud sounds from the audio, shot
 * boundaries and black or frozen spans from the picture, each titled with its kind and time.
 */
export function renderCues({ els }: Page, v: View) {
  const { totalS } = v.result.review;
  const { audio, cues } = v.result;
  const mark = (kind: string, startS: number, endS: number) => {
    const el = document.createElement('div');
    el.className = `cue ${kind}`;
    el.dataset.cue = kind;
    el.title = startS === endS ? `${kind} at ${clock(startS)}` : `${kind} ${clock(startS)} – ${clock(endS)}`;
    place(el, startS, endS, totalS);
    return el;
  };
  const marks = [
    ...(cues?.black ?? []).map((b) => mark('black', b.startS, b.endS)),
    ...(cues?.frozen ?? []).map((f) => mark('frozen', f.startS, f.endS)),
    ...(audio?.speech ?? []).map((s) => mark('speech', s.startS, s.endS)),
    ...(audio?.loud ?? []).map((l) => mark('loud', l.timeS, l.endS)),
    ...(cues?.shots ?? []).map((s) => mark('shot', s.timeS, s.timeS)),
  ];
  els.cueLane.replaceChildren(...marks);
  els.cueLane.hidden = marks.length === 0;
}

/** The ranges marked missed: a bar each on the timeline, and a line each in the list under it. */
export function renderMissed({ els }: Page, v: View) {
  els.timeline.querySelectorAll('.missed-range').forEach((r) => r.remove());
  els.missed.replaceChildren(
    ...v.review.missed.map((m) => {
      const bar = document.createElement('div');
      bar.className = 'missed-range';
      place(bar, m.startS, m.endS, v.result.review.totalS);
      els.timeline.append(bar);
      const li = document.createElement('li');
      li.dataset.missedStart = String(m.startS);
      li.textContent = `Missed ${clock(m.startS)} – ${clock(m.endS)}`;
      return li;
    }),
  );
}

/** The cursor at the player's time. */
export function moveCursor({ els }: Page, v: View, t: number) {
  els.cursor.style.left = `${(t / v.result.review.totalS) * 100}%`;
}
