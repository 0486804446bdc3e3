// The rules panel's rule half: a short form (kind, its zone or line, labels from the job, the
// objects' attributes, alert, and what the kind needs: seconds, a count, terms, a cue) and the
// list of the draft's rules.
import { COLOURS, type ColourName } from '../shared/colour.js';
import type { CueKind, RuleKind } from '../shared/profile.js';
import type { Page } from './page.js';
import { freeName, type DraftRule } from './profile-draft.js';
import type { View } from './state.js';

const FORM_KINDS: readonly string[] = ['zone', 'line', 'dwell', 'count', 'match', 'text', 'cue'] satisfies RuleKind[];
const formKind = (value: string): RuleKind => (FORM_KINDS.includes(value) ? (value as RuleKind) : 'zone');
/** Kinds over a zone, and the kind over a line; the rest need no shape. */
const ZONE_KINDS: readonly RuleKind[] = ['zone', 'dwell', 'count'];
const shapeOf = (kind: RuleKind) => (ZONE_KINDS.includes(kind) ? 'zone' : kind === 'line' ? 'line' : undefined);

/** A default name from the kind and what it looks at: `in-door`, `crosses-line-1`, `any-car`, `reads-exit`, `speech`. */
const NAME_PREFIX: Record<RuleKind, string> = { zone: 'in', line: 'crosses', dwell: 'stays-in', count: 'crowd-in', match: 'any', text: 'reads', cue: '' };

/** A rule name from free text: lowercase kebab-case, as the contract wants. */
const kebab = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'rule';

/** The labels a rule can name: every label the job's tracks and segments have. */
export const jobLabels = (v: View) => [...new Set([...v.result.tracks.map((t) => t.label), ...v.result.segments.flatMap((s) => s.labels.map((l) => l.label))])].sort();

/** One checkbox per value in `box` (its legend kept); ticks already made are kept. */
function renderChecks(box: HTMLFieldSetElement, values: readonly string[]) {
  const ticked = new Set(checked(box));
  const legend = box.querySelector(':scope > legend');
  const choices = values.map((value) => {
    const choice = document.createElement('label');
    choice.className = 'check';
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.value = value;
    input.checked = ticked.has(value);
    choice.append(input, ` ${value}`);
    return choice;
  });
  box.replaceChildren(...(legend ? [legend] : []), ...choices);
}

const checked = (box: HTMLFieldSetElement) => [...box.querySelectorAll<HTMLInputElement>(':scope > label > input:checked')].map((i) => i.value);

/** The shape choices, the rules a cue can be limited to, and the fields the chosen kind needs. */
export function renderRuleForm(page: Page, v: View) {
  const { els } = page;
  const kind = formKind(els.ruleKind.value);
  const shape = shapeOf(kind);
  const shapes = shape === 'line' ? v.draft.lines : shape === 'zone' ? v.draft.zones : [];
  const chosen = els.ruleShape.value;
  els.ruleShape.replaceChildren(...shapes.map((s) => new Option(s.name, s.name)));
  if (shapes.some((s) => s.name === chosen)) els.ruleShape.value = chosen;
  els.ruleShape.required = shape !== undefined;
  const during = els.ruleDuring.value;
  els.ruleDuring.replaceChildren(new Option('(any time)', ''), ...v.draft.rules.filter((r) => r.kind !== 'cue').map((r) => new Option(r.name, r.name)));
  if (v.draft.rules.some((r) => r.name === during)) els.ruleDuring.value = during;
  els.ruleShapeField.hidden = shape === undefined;
  els.ruleDirectionField.hidden = kind !== 'line';
  els.ruleMinSField.hidden = kind !== 'dwell';
  els.ruleMinField.hidden = kind !== 'count';
  els.ruleQueryField.hidden = kind !== 'text';
  els.ruleQuery.required = kind === 'text';
  els.ruleCueField.hidden = els.ruleDuringField.hidden = kind !== 'cue';
  els.ruleLabels.hidden = kind === 'cue' || kind === 'text';
  els.ruleAttributes.hidden = kind === 'cue';
  if (els.ruleLabels.querySelectorAll('input').length === 0) renderChecks(els.ruleLabels, jobLabels(v));
  if (els.ruleColours.querySelectorAll('input').length === 0) renderChecks(els.ruleColours, COLOURS);
}

/** A number field's value, or nothing when it is empty; `scale` turns percent into a share. */
const optionalNumber = (input: HTMLInputElement, scale = 1) => (input.value.trim() === '' ? undefined : Number(input.value) * scale);

/** Which objects the rule looks at: the ticked labels and the attributes filled in. */
function objectConditions({ els }: Page, kind: RuleKind) {
  const labels = kind === 'text' ? [] : checked(els.ruleLabels);
  const colours = checked(els.ruleColours);
  const numbers = {
    minScore: optionalNumber(els.ruleMinScore), minTrackS: optionalNumber(els.ruleMinTrackS),
    minSize: optionalNumber(els.ruleMinSize, 0.01), maxSize: optionalNumber(els.ruleMaxSize, 0.01),
  };
  return {
    ...(labels.length ? { labels } : {}),
    ...Object.fromEntries(Object.entries(numbers).filter(([, n]) => n !== undefined)),
    ...(colours.length ? { colours: colours as ColourName[] } : {}),
  };
}

/** The name the form gives a rule when none is typed: from the kind and what it looks at, unique in the draft. */
function defaultName(kind: RuleKind, subject: string, v: View) {
  const base = kebab(NAME_PREFIX[kind] ? `${NAME_PREFIX[kind]}-${subject}` : subject);
  return v.draft.rules.some((r) => r.name === base) ? freeName(base, v.draft.rules) : base;
}

/** The rule the form describes. */
function ruleFromForm(page: Page, v: View): DraftRule {
  const { els } = page;
  const kind = formKind(els.ruleKind.value);
  const terms = els.ruleQuery.value.split(',').map((t) => t.trim()).filter(Boolean);
  const conditions = objectConditions(page, kind);
  const subject = shapeOf(kind) ? els.ruleShape.value : kind === 'text' ? terms[0] ?? 'text' : kind === 'cue' ? els.ruleCue.value : conditions.labels?.[0] ?? 'object';
  const name = els.ruleName.value.trim() || defaultName(kind, subject, v);
  const alert = els.ruleAlert.checked;
  if (kind === 'cue') return { name, alert, kind, cue: els.ruleCue.value as CueKind, ...(els.ruleDuring.value ? { during: els.ruleDuring.value } : {}) };
  const common = { name, alert, ...conditions };
  const shape = els.ruleShape.value;
  if (kind === 'line') return { ...common, kind, line: shape, direction: els.ruleDirection.value as 'both' | 'a-to-b' | 'b-to-a' };
  if (kind === 'dwell') return { ...common, kind, zone: shape, minS: Number(els.ruleMinS.value) };
  if (kind === 'count') return { ...common, kind, zone: shape, min: Number(els.ruleMin.value) };
  if (kind === 'match') return { ...common, kind };
  if (kind === 'text') return { ...common, kind, query: terms };
  return { ...common, kind, zone: shape };
}

/** The attributes a rule asks of its objects, in words: ` (white or grey, score 0.6+, tracked 2 s+)`. */
function describeConditions(r: DraftRule): string {
  if (r.kind === 'cue') return '';
  const pct = (share: number) => `${Math.round(share * 1000) / 10}%`;
  const parts = [
    r.colours?.length ? r.colours.join(' or ') : '',
    r.minScore !== undefined ? `score ${r.minScore}+` : '',
    r.minTrackS !== undefined ? `tracked ${r.minTrackS} s+` : '',
    r.minSize !== undefined || r.maxSize !== undefined ? `size ${pct(r.minSize ?? 0)}-${pct(r.maxSize ?? 1)} of the frame` : '',
  ].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** A rule in words: who, where, and whether it alerts. */
export function describeRule(r: DraftRule): string {
  const who = 'labels' in r && r.labels?.length ? r.labels.join(' or ') : 'any object';
  const what =
    r.kind === 'zone' ? `${who} in ${r.zone}`
    : r.kind === 'line' ? `${who} crosses ${r.line}${r.direction && r.direction !== 'both' ? ` ${r.direction}` : ''}`
    : r.kind === 'dwell' ? `${who} stays in ${r.zone} ${r.minS} s`
    : r.kind === 'count' ? `${r.min} or more of ${who} in ${r.zone}`
    : r.kind === 'match' ? `${who} anywhere`
    : r.kind === 'text' ? `text reads ${r.query.map((q) => `"${q}"`).join(' or ')}`
    : `${r.cue}${r.during ? ` while ${r.during}` : ''}`;
  return `${r.name}: ${what}${describeConditions(r)}${r.alert ? ' (alert)' : ''}`;
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

/** A new job's form: its own labels, nothing ticked or filled in. */
export function resetRuleForm({ els }: Page) {
  els.ruleLabels.querySelectorAll('label').forEach((l) => l.remove());
  els.ruleColours.querySelectorAll('input').forEach((i) => (i.checked = false));
  for (const input of [els.ruleName, els.ruleQuery, els.ruleMinScore, els.ruleMinTrackS, els.ruleMinSize, els.ruleMaxSize]) input.value = '';
  els.ruleAlert.checked = false;
}
