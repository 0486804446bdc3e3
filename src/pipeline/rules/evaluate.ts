import type { RuleEvent, TrackSummary } from '../../shared/job-result.js';
import { cross, pointInPolygon, segmentsIntersect, type Vec } from '../../shared/polygon.js';
import type { CueKind, Line, Profile, Rule, Zone } from '../../shared/profile.js';
import { foldTerms, textMatches } from '../../shared/text-match.js';
import type { TrajectoryPoint } from '../tracker.js';

/** What rules read of a track: its summary and its trajectory, as the job result keeps them. */
export type RuleTrack = Pick<TrackSummary, 'id' | 'label' | 'text' | 'startS' | 'endS' | 'maxScore' | 'colour'> & { trajectory: readonly TrajectoryPoint[] };

/** A stretch of time a rule flags, with the tracks behind it. */
export interface RuleSpan {
  rule: string;
  alert: boolean;
  startS: number;
  endS: number;
  trackIds: number[];
}

export interface RuleFrame {
  width: number;
  height: number;
}

/** A sample's anchor as DeepStream and Frigate place an object: its box's bottom-centre, frame-relative. */
const anchor = (p: TrajectoryPoint, f: RuleFrame): Vec => [(p[1] + p[3] / 2) / f.width, (p[2] + p[4]) / f.height];
const areaShare = (p: TrajectoryPoint, f: RuleFrame) => (p[3] * p[4]) / (f.width * f.height);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0;
}

/** A rule over tracks (every kind but `cue`). */
type TrackRule = Exclude<Rule, { kind: 'cue' }>;
type CueRule = Extract<Rule, { kind: 'cue' }>;

/** The spans of each cue a job found (cueSpans), as rules read them. */
export type CueSpans = Record<CueKind, ReadonlyArray<{ startS: number; endS: number }>>;

/** Whether a track has every attribute the rule asks for. */
export function hasAttributes(rule: TrackRule, track: RuleTrack, frame: RuleFrame): boolean {
  if (rule.labels && !rule.labels.includes(track.label)) return false;
  if (rule.minScore !== undefined && track.maxScore < rule.minScore) return false;
  if (rule.minTrackS !== undefined && track.endS - track.startS < rule.minTrackS) return false;
  if (rule.colours && !(track.colour && rule.colours.includes(track.colour))) return false;
  if (rule.minSize === undefined && rule.maxSize === undefined) return true;
  const size = median(track.trajectory.map((p) => areaShare(p, frame)));
  return size >= (rule.minSize ?? 0) && size <= (rule.maxSize ?? 1);
}

/** The stretches a track spends in a zone: runs of consecutive samples whose anchor is inside. */
export function zoneVisits(track: RuleTrack, zone: Zone, frame: RuleFrame): Array<{ startS: number; endS: number }> {
  const visits: Array<{ startS: number; endS: number }> = [];
  let open: { startS: number; endS: number } | undefined;
  for (const p of track.trajectory) {
    if (pointInPolygon(anchor(p, frame), zone.polygon)) {
      if (open) open.endS = p[0];
      else open = { startS: p[0], endS: p[0] };
    } else if (open) {
      visits.push(open);
      open = undefined;
    }
  }
  if (open) visits.push(open);
  return visits;
}

/** Each time the track's anchor path crosses the line, with its direction and the interpolated time. */
export function lineCrossings(track: RuleTrack, line: Line, frame: RuleFrame): Array<{ timeS: number; direction: 'a-to-b' | 'b-to-a' }> {
  const [l1, l2] = line.points;
  const crossings: Array<{ timeS: number; direction: 'a-to-b' | 'b-to-a' }> = [];
  for (let i = 1; i < track.trajectory.length; i++) {
    const p = anchor(track.trajectory[i - 1], frame);
    const q = anchor(track.trajectory[i], frame);
    const before = cross(l1, l2, p);
    const after = cross(l1, l2, q);
    // A side is left of the walk l1 -> l2 on screen (y down): cross < 0.
    if (Math.sign(before) === Math.sign(after) || before === 0 || !segmentsIntersect(p, q, l1, l2)) continue;
    const share = before / (before - after);
    const t0 = track.trajectory[i - 1][0];
    crossings.push({ timeS: t0 + share * (track.trajectory[i][0] - t0), direction: before < 0 ? 'a-to-b' : 'b-to-a' });
  }
  return crossings;
}

/** Stretches where at least `min` of the visits overlap, with the tracks inside. */
export function crowdedSpans(visits: ReadonlyArray<{ trackId: number; startS: number; endS: number }>, min: number): Array<{ startS: number; endS: number; trackIds: number[]; peak: number }> {
  // Closed intervals: at one time, arrivals count before departures.
  const edges = visits.flatMap((v) => [{ t: v.startS, delta: 1, v }, { t: v.endS, delta: -1, v }]).sort((a, b) => a.t - b.t || b.delta - a.delta);
  const spans: Array<{ startS: number; endS: number; trackIds: number[]; peak: number }> = [];
  const inside = new Set<number>();
  let current: (typeof spans)[number] | undefined;
  for (const edge of edges) {
    if (edge.delta > 0) inside.add(edge.v.trackId);
    if (inside.size >= min) {
      current ??= { startS: edge.t, endS: edge.t, trackIds: [], peak: 0 };
      for (const id of inside) if (!current.trackIds.includes(id)) current.trackIds.push(id);
      current.peak = Math.max(current.peak, inside.size);
    }
    if (edge.delta < 0) {
      if (current && inside.size >= min) current.endS = edge.t;
      inside.delete(edge.v.trackId);
      if (current && inside.size < min) {
        spans.push(current);
        current = undefined;
      }
    }
  }
  return spans;
}

/** One rule over the tracks: its events and the spans it flags. */
function evaluateRule(rule: TrackRule, profile: Profile, tracks: readonly RuleTrack[], frame: RuleFrame): { events: RuleEvent[]; spans: RuleSpan[] } {
  const events: RuleEvent[] = [];
  const spans: RuleSpan[] = [];
  const flag = (startS: number, endS: number, trackIds: number[]) => spans.push({ rule: rule.name, alert: rule.alert, startS, endS, trackIds });
  const candidates = tracks.filter((t) => hasAttributes(rule, t, frame));
  const zone = 'zone' in rule ? profile.zones.find((z) => z.name === rule.zone)! : undefined;
  switch (rule.kind) {
    case 'zone':
      for (const t of candidates) {
        for (const v of zoneVisits(t, zone!, frame)) {
          events.push({ rule: rule.name, kind: 'enter', timeS: v.startS, trackIds: [t.id] }, { rule: rule.name, kind: 'exit', timeS: v.endS, trackIds: [t.id] });
          flag(v.startS, v.endS, [t.id]);
        }
      }
      break;
    case 'dwell':
      for (const t of candidates) {
        for (const v of zoneVisits(t, zone!, frame).filter((v) => v.endS - v.startS >= rule.minS)) {
          events.push({ rule: rule.name, kind: 'dwell', timeS: v.startS + rule.minS, trackIds: [t.id] });
          flag(v.startS, v.endS, [t.id]);
        }
      }
      break;
    case 'count': {
      const visits = candidates.flatMap((t) => zoneVisits(t, zone!, frame).map((v) => ({ trackId: t.id, ...v })));
      for (const s of crowdedSpans(visits, rule.min)) {
        events.push({ rule: rule.name, kind: 'count', timeS: s.startS, trackIds: s.trackIds, count: s.peak });
        flag(s.startS, s.endS, s.trackIds);
      }
      break;
    }
    case 'line': {
      const line = profile.lines.find((l) => l.name === rule.line)!;
      for (const t of candidates) {
        for (const c of lineCrossings(t, line, frame).filter((c) => rule.direction === 'both' || c.direction === rule.direction)) {
          events.push({ rule: rule.name, kind: 'cross', timeS: c.timeS, trackIds: [t.id], direction: c.direction });
          flag(c.timeS, c.timeS, [t.id]);
        }
      }
      break;
    }
    case 'match':
    case 'text': {
      const terms = rule.kind === 'text' ? foldTerms(rule.query) : undefined;
      for (const t of candidates.filter((t) => !terms || (t.text !== undefined && textMatches(t.text, terms)))) {
        events.push({ rule: rule.name, kind: 'match', timeS: t.startS, trackIds: [t.id] });
        flag(t.startS, t.endS, [t.id]);
      }
      break;
    }
  }
  return { events, spans };
}

/** Where two sets of spans overlap, with the tracks of `during`'s spans. */
function overlaps(cues: ReadonlyArray<{ startS: number; endS: number }>, during: readonly RuleSpan[]): Array<{ startS: number; endS: number; trackIds: number[] }> {
  return cues.flatMap((c) =>
    during.flatMap((d) => {
      const startS = Math.max(c.startS, d.startS), endS = Math.min(c.endS, d.endS);
      return startS <= endS ? [{ startS, endS, trackIds: d.trackIds }] : [];
    }),
  );
}

/** A cue rule: the cue's spans (those while `during` flags, when given), each a `cue` event. */
function evaluateCueRule(rule: CueRule, cues: CueSpans | undefined, during: readonly RuleSpan[] | undefined): { events: RuleEvent[]; spans: RuleSpan[] } {
  const found = cues?.[rule.cue] ?? [];
  const spans = (during ? overlaps(found, during) : found.map((c) => ({ ...c, trackIds: [] as number[] }))).map((s) => ({ rule: rule.name, alert: rule.alert, ...s }));
  const events = spans.map((s): RuleEvent => ({ rule: rule.name, kind: 'cue', cue: rule.cue, timeS: s.startS, trackIds: s.trackIds }));
  return { events, spans };
}

/**
 * Every enabled rule of the profile over a job's tracks (and, for cue rules, its audio and
 * picture cues): the events, in time order, and the spans they flag.
 */
export function evaluateProfile(profile: Profile, tracks: readonly RuleTrack[], frame: RuleFrame, cues?: CueSpans): { events: RuleEvent[]; spans: RuleSpan[] } {
  const byRule = new Map<string, { events: RuleEvent[]; spans: RuleSpan[] }>();
  // A cue rule's `during` names a track rule, enabled or not: track rules run first.
  for (const rule of profile.rules) if (rule.kind !== 'cue') byRule.set(rule.name, evaluateRule(rule, profile, tracks, frame));
  for (const rule of profile.rules) if (rule.kind === 'cue') byRule.set(rule.name, evaluateCueRule(rule, cues, rule.during ? byRule.get(rule.during)?.spans ?? [] : undefined));
  const all = profile.rules.filter((r) => r.enabled).map((rule) => byRule.get(rule.name)!);
  return {
    events: all.flatMap((r) => r.events).sort((a, b) => a.timeS - b.timeS || a.rule.localeCompare(b.rule)),
    spans: all.flatMap((r) => r.spans),
  };
}
