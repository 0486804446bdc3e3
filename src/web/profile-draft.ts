// The profile a reviewer is drawing: zones, lines and rules in the shape of the shared contract
// (src/shared/profile.ts), plus the shape being drawn now. Pure: the editor's DOM is in
// rules-editor.ts and rule-form.ts. The page checks nothing the server checks: the server's
// schema is the one validator, and its INVALID_INPUT message is shown as it names the field.
import type { Line, Profile, ProfileInput, Zone } from '../shared/profile.js';
import type { Vec } from '../shared/polygon.js';

/** A rule as the page writes it: the contract's input (alert and enabled may be left to defaults). */
export type DraftRule = ProfileInput['rules'][number];
export type ShapeKind = 'zone' | 'line';

export interface ProfileDraft {
  zones: Zone[];
  lines: Line[];
  rules: DraftRule[];
  /** The shape being clicked out on the frame, in frame-relative points. */
  drawing?: { kind: ShapeKind; points: Array<[number, number]> };
}

export const emptyDraft = (): ProfileDraft => ({ zones: [], lines: [], rules: [] });

/** The first of `prefix-1`, `prefix-2`, ... that no item has: default names are already kebab-case. */
export function freeName(prefix: string, taken: ReadonlyArray<{ name: string }>): string {
  for (let n = 1; ; n++) if (!taken.some((t) => t.name === `${prefix}-${n}`)) return `${prefix}-${n}`;
}

/** Frame-relative points to 4 decimals: a tenth of a pixel at 4K, and short JSON. */
const rounded = ([x, y]: Vec): [number, number] => [Math.round(x * 1e4) / 1e4, Math.round(y * 1e4) / 1e4];

/** Adds a clicked point; a line is done at its second point. Answers the finished shape's kind, if one was finished. */
export function addPoint(draft: ProfileDraft, point: Vec): ShapeKind | undefined {
  const drawing = draft.drawing;
  if (!drawing) return undefined;
  drawing.points.push(rounded(point));
  if (drawing.kind === 'line' && drawing.points.length === 2) return finishShape(draft);
  return undefined;
}

/** Ends the shape being drawn as a named zone or line (a line needs both ends; a zone of any points is kept, for the server to judge). */
export function finishShape(draft: ProfileDraft): ShapeKind | undefined {
  const drawing = draft.drawing;
  draft.drawing = undefined;
  if (!drawing || drawing.points.length < (drawing.kind === 'line' ? 2 : 1)) return undefined;
  if (drawing.kind === 'zone') draft.zones.push({ name: freeName('zone', draft.zones), polygon: drawing.points });
  else draft.lines.push({ name: freeName('line', draft.lines), points: [drawing.points[0], drawing.points[1]] });
  return drawing.kind;
}

/** Renames a zone or line, and every rule that names it, so rules keep pointing at their shape. */
export function renameShape(draft: ProfileDraft, kind: ShapeKind, from: string, to: string) {
  const shape = (kind === 'zone' ? draft.zones : draft.lines).find((s) => s.name === from);
  if (!shape) return;
  shape.name = to;
  for (const rule of draft.rules) {
    if (kind === 'zone' && 'zone' in rule && rule.zone === from) rule.zone = to;
    if (kind === 'line' && 'line' in rule && rule.line === from) rule.line = to;
  }
}

/** Removes a zone or line and the rules that name it (they could not run without it). */
export function removeShape(draft: ProfileDraft, kind: ShapeKind, name: string) {
  if (kind === 'zone') draft.zones = draft.zones.filter((z) => z.name !== name);
  else draft.lines = draft.lines.filter((l) => l.name !== name);
  draft.rules = draft.rules.filter((r) => !(kind === 'zone' ? 'zone' in r && r.zone === name : 'line' in r && r.line === name));
}

/** "x,y x,y ...": how a shape's points are shown and typed (the keyboard's way to draw). */
export const pointsText = (points: readonly Vec[]) => points.map(([x, y]) => `${x},${y}`).join(' ');

/** Parses "x,y x,y ..."; undefined when a pair is not two numbers (the range is the server's to check). */
export function parsePoints(text: string): Array<[number, number]> | undefined {
  const pairs = text.trim().split(/\s+/).filter(Boolean).map((pair) => pair.split(',').map(Number));
  return pairs.every((p) => p.length === 2 && p.every(Number.isFinite)) ? pairs.map((p) => rounded([p[0], p[1]])) : undefined;
}

/** The draft as a profile body under `name`, as POST /v1/profiles takes it. */
export const draftProfile = (draft: ProfileDraft, name: string): ProfileInput => ({ name, zones: draft.zones, lines: draft.lines, rules: draft.rules });

/** A stored profile as a draft, so its shapes are drawn and its rules listed (and can be changed and saved as its next version). */
export const profileDraft = (profile: Profile): ProfileDraft => structuredClone({ zones: profile.zones, lines: profile.lines, rules: profile.rules });
