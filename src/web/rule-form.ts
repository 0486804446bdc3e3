// The rules panel's rule half: a short form (kind, its zone or line, labels from the job, alert,
// and the seconds or the count the kind needs) and the list of the draft's rules.
import type { Page } from './page.js';
import { freeName, type DraftRule } from './profile-draft.js';
import type { View } from './state.js';

/** The rule kinds the form writes (src/shared/profile.ts has more; a stored profile's others are listed and kept). */
type FormKind = 'zone' | 'line' | 'dwell' | 'count';
const FORM_KINDS: readonly string[] = ['zone', 'line', 'dwell', 'count'] satisfies FormKind[];
const formKind = (value: string): FormKind => (FORM_KINDS.includes(value) ? (value as FormKind) : 'zone');

/** A default name from the kind and the shape: `in-door`, `crosses-line-1`. */
const NAME_PREFIX: Record<FormKind, string> = { zone: 'in', line: 'crosses', dwell: 'stays-in', count: 'crowd-in' };

/** The labels a rule can name: every label the job's tracks and segments have. */
export const jobLabels = (v: View) => [...new Set([...v.result.tracks.map((t) => t.label), ...v.result.segments.flatMap((s) => s.labels.map((l) => l.label))])].sort();

/** One checkbox per job label; ticks already made are kept. */
function renderLabelChoices({ els }: Page, v: View) {
  const ticked = new Set([...els.ruleLabels.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => i.value));
  const legend = els.ruleLabels.querySelector('legend');
  const choices = jobLabels(v).map((label) => {
    const choice = document.createElement('label');
    choice.className = 'check';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = label;
    box.checked = ticked.has(label);
    choice.append(box, ` ${label}`);
    return choice;
  });
  els.ruleLabels.replaceChildren(...(legend ? [legend] : []), ...choices);
}

/** The shape choices and the fields the chosen kind needs. */
export function renderRuleForm(page: Page, v: View) {
  const { els } = page;
  const kind = formKind(els.ruleKind.value);
  const shapes = kind === 'line' ? v.draft.lines : v.draft.zones;
  const chosen = els.ruleShape.value;
  els.ruleShape.replaceChildren(...shapes.map((s) => new Option(s.name, s.name)));
  if (shapes.some((s) => s.name === chosen)) els.ruleShape.value = chosen;
  els.ruleDirectionField.hidden = kind !== 'line';
  els.ruleMinSField.hidden = kind !== 'dwell';
  els.ruleMinField.hidden = kind !== 'count';
  if (els.ruleLabels.querySelectorAll('input').length === 0) renderLabelChoices(page, v);
}

/** The rule the form describes. */
function ruleFromForm({ els }: Page, v: View): DraftRule {
  const kind = formKind(els.ruleKind.value);
  const shape = els.ruleShape.value;
  const base = `${NAME_PREFIX[kind]}-${shape}`;
  const name = els.ruleName.value.trim() || (v.draft.rules.some((r) => r.name === base) ? freeName(base, v.draft.rules) : base);
  const labels = [...els.ruleLabels.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => i.value);
  const common = { name, alert: els.ruleAlert.checked, ...(labels.length ? { labels } : {}) };
  if (kind === 'line') return { ...common, kind, line: shape, direction: els.ruleDirection.value as 'both' | 'a-to-b' | 'b-to-a' };
  if (kind === 'dwell') return { ...common, kind, zone: shape, minS: Number(els.ruleMinS.value) };
  if (kind === 'count') return { ...common, kind, zone: shape, min: Number(els.ruleMin.value) };
  return { ...common, kind, zone: shape };
}

/** A rule in words: who, where, and whether it alerts. */
export function describeRule(r: DraftRule): string {
  const who = 'labels' in r && r.labels?.length ? r.labels.join(' or ') : 'any object';
  const what =
    r.kind === 'zone' ? `${who} in ${r.zone}`
    : r.kind === 'line' ? `${who} crosses ${r.line}${r.direction && r.direction !== 'both' ? ` ${r.direction}` : ''}`
    : r.kind === 'dwell' ? `${who} stays in ${r.zone} ${r.minS} s`
    : r.kind === 'count' ? `${r.min} or more of ${who} in ${r.zone}`
    : `a ${r.kind} rule`;
  return `${r.name}: ${what}${r.alert ? ' (alert)' : ''}`;
}

/** The draft's rules, each with Remove; `changed` re-renders what depends on them. */
export function renderRuleList({ els }: Page, v: View, changed: () => void) {
  els.ruleList.replaceChildren(
    ...v.draft.rules.map((rule) => {
      const li = document.createElement('li');
      li.dataset.rule = rule.name;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = 'Remove';
      remove.setAttribute('aria-label', `Remove rule ${rule.name}`);
      remove.onclick = () => {
        v.draft.rules = v.draft.rules.filter((r) => r !== rule);
        changed();
      };
      li.append(describeRule(rule), ' ', remove);
      return li;
    }),
  );
}

/** The form's kind choice and its submit (Add the rule); bound once, acting on the job on screen. */
export function bindRuleForm(page: Page, changed: (v: View) => void) {
  const { els } = page;
  els.ruleKind.onchange = () => page.state.view && renderRuleForm(page, page.state.view);
  els.ruleForm.onsubmit = (e) => {
    e.preventDefault();
    const v = page.state.view;
    if (!v) return;
    v.draft.rules.push(ruleFromForm(page, v));
    els.ruleName.value = '';
    changed(v);
  };
}

/** A new job's form: its own labels, nothing ticked. */
export function resetRuleForm({ els }: Page) {
  els.ruleLabels.querySelectorAll('label').forEach((l) => l.remove());
  els.ruleName.value = '';
  els.ruleAlert.checked = false;
}
