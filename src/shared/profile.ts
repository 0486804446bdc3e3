import { z } from 'zod';
import { COLOURS } from './colour.js';
import { isSimplePolygon, polygonArea, type Vec } from './polygon.js';

// A review profile: what a reviewer looks for, as zones, lines and rules over a job's tracks.
// Validated with this schema wherever one arrives (inline, stored, from the page); the page
// imports the types. Coordinates are frame-relative: [0,1] on both axes, y down. Pure.

/** Bounds that keep validation and evaluation cheap: a profile is a handful of shapes, not a map. */
export const PROFILE_LIMITS = { vertices: 64, zones: 32, lines: 32, rules: 64, labels: 100 } as const;
/** A zone smaller than this share of the frame, or a line shorter than this, is degenerate. */
const MIN_ZONE_AREA = 1e-4;
const MIN_LINE_LENGTH = 0.01;

const name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be lowercase kebab-case, at most 64 characters');
const coordinate = z.number().min(0).max(1);
const point = z.tuple([coordinate, coordinate]);

export const zoneSchema = z
  .strictObject({ name, polygon: z.array(point).min(3).max(PROFILE_LIMITS.vertices) })
  .refine((zone) => polygonArea(zone.polygon as Vec[]) >= MIN_ZONE_AREA, { message: 'is degenerate (no area)', path: ['polygon'] })
  .refine((zone) => isSimplePolygon(zone.polygon as Vec[]), { message: 'intersects itself', path: ['polygon'] });
export type Zone = z.infer<typeof zoneSchema>;

/** A line from its first point to its second: side A is on the left of that walk as drawn on screen, B on the right. */
export const lineSchema = z
  .strictObject({ name, points: z.tuple([point, point]) })
  .refine((line) => Math.hypot(line.points[1][0] - line.points[0][0], line.points[1][1] - line.points[0][1]) >= MIN_LINE_LENGTH, { message: 'is degenerate (too short)', path: ['points'] });
export type Line = z.infer<typeof lineSchema>;

/** Which tracks a rule looks at: every condition given must hold. */
const attributes = {
  labels: z.array(z.string().min(1).max(100)).min(1).max(PROFILE_LIMITS.labels).optional(),
  /** The track's best score. */
  minScore: z.number().min(0).max(1).optional(),
  /** The track's median box area, as a share of the frame. */
  minSize: z.number().min(0).max(1).optional(),
  maxSize: z.number().min(0).max(1).optional(),
  /** Seconds from the track's first sample to its last. */
  minTrackS: z.number().min(0).max(86_400).optional(),
  /** The track's dominant colour is one of these (shared/colour.ts names the palette). */
  colours: z.array(z.enum(COLOURS)).min(1).max(COLOURS.length).optional(),
};
const common = { name, ...attributes, /** Alerts are what a reviewer must see; the rest are detections. */ alert: z.boolean().default(false), enabled: z.boolean().default(true) };

/**
 * Cues a rule (or `labels=`) can ask for beside the model's labels: speech and loud sounds
 * from the audio track, black and frozen spans of the picture.
 */
export const CUE_KINDS = ['speech', 'loud', 'black', 'frozen'] as const;
export type CueKind = (typeof CUE_KINDS)[number];

export const ruleSchema = z.discriminatedUnion('kind', [
  /** Objects while they are in the zone (by their box's bottom-centre): `enter` and `exit` events. */
  z.strictObject({ ...common, kind: z.literal('zone'), zone: name }),
  /** Objects crossing the line: `cross` events, in one direction or both. */
  z.strictObject({ ...common, kind: z.literal('line'), line: name, direction: z.enum(['a-to-b', 'b-to-a', 'both']).default('both') }),
  /** Objects in the zone for at least `minS` seconds at a stretch: a `dwell` event. */
  z.strictObject({ ...common, kind: z.literal('dwell'), zone: name, minS: z.number().positive().max(86_400) }),
  /** At least `min` objects in the zone at once: a `count` event. */
  z.strictObject({ ...common, kind: z.literal('count'), zone: name, min: z.number().int().min(1).max(1000) }),
  /** Any object with these attributes: a `match` event. */
  z.strictObject({ ...common, kind: z.literal('match') }),
  /** Text readers: lines whose reading contains one of the terms (case and spacing folded). */
  z.strictObject({ ...common, kind: z.literal('text'), query: z.array(z.string().trim().min(1).max(200)).min(1).max(50) }),
  /**
   * An audio or picture cue: `cue` events over its spans; with `during`, only the parts of
   * them while another (non-cue) rule flags, with that rule's tracks (speech while a person is at the door).
   */
  z.strictObject({ name, alert: common.alert, enabled: common.enabled, kind: z.literal('cue'), cue: z.enum(CUE_KINDS), during: name.optional() }),
]);
export type Rule = z.infer<typeof ruleSchema>;
export type RuleKind = Rule['kind'];

export const profileSchema = z
  .strictObject({
    name,
    /** Set by the server when a profile is stored: 1, 2, ... per name. */
    version: z.number().int().positive().optional(),
    description: z.string().max(2000).optional(),
    zones: z.array(zoneSchema).max(PROFILE_LIMITS.zones).default([]),
    lines: z.array(lineSchema).max(PROFILE_LIMITS.lines).default([]),
    rules: z.array(ruleSchema).min(1).max(PROFILE_LIMITS.rules),
  })
  .superRefine((profile, ctx) => {
    const unique = (items: ReadonlyArray<{ name: string }>, field: string) =>
      items.forEach((item, i) => {
        if (items.findIndex((other) => other.name === item.name) !== i) ctx.addIssue({ code: 'custom', message: `'${item.name}' is named twice`, path: [field, i, 'name'] });
      });
    unique(profile.zones, 'zones');
    unique(profile.lines, 'lines');
    unique(profile.rules, 'rules');
    const zones = new Set(profile.zones.map((z) => z.name));
    const lines = new Set(profile.lines.map((l) => l.name));
    profile.rules.forEach((rule, i) => {
      if ('zone' in rule && !zones.has(rule.zone)) ctx.addIssue({ code: 'custom', message: `names no zone '${rule.zone}'`, path: ['rules', i, 'zone'] });
      if ('line' in rule && !lines.has(rule.line)) ctx.addIssue({ code: 'custom', message: `names no line '${rule.line}'`, path: ['rules', i, 'line'] });
      if ('minSize' in rule && rule.minSize !== undefined && rule.maxSize !== undefined && rule.minSize > rule.maxSize) ctx.addIssue({ code: 'custom', message: 'must not exceed maxSize', path: ['rules', i, 'minSize'] });
      if (rule.kind === 'cue' && rule.during !== undefined && !profile.rules.some((r) => r.name === rule.during && r.kind !== 'cue')) {
        ctx.addIssue({ code: 'custom', message: `names no rule '${rule.during}' that is not a cue`, path: ['rules', i, 'during'] });
      }
    });
  });
export type Profile = z.infer<typeof profileSchema>;
/** A profile as it is written, before defaults are applied. */
export type ProfileInput = z.input<typeof profileSchema>;

/** Issues for labels a profile's rules name that the model does not have (checked where the model is known). */
export function unknownLabels(profile: Profile, modelLabels: readonly string[]): Array<{ path: string; message: string }> {
  const known = new Set(modelLabels);
  return profile.rules.flatMap((rule, i) =>
    ('labels' in rule ? rule.labels ?? [] : []).flatMap((label, j) => (known.has(label) ? [] : [{ path: `rules.${i}.labels.${j}`, message: `'${label}' is not a label of this model` }])),
  );
}
