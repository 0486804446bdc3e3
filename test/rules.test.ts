import { describe, expect, it } from 'vitest';
import { evaluateProfile, ruleSegments, type RuleTrack, type TrajectoryPoint } from '../src/pipeline/index.js';
import { profileSchema, unknownLabels, type ProfileInput } from '../src/shared/profile.js';
import { colourOfPixel } from '../src/shared/colour.js';

const FRAME = { width: 1000, height: 500 };

/**
 * A track whose box's bottom-centre walks the given frame-relative waypoints, one sample every
 * `stepS` seconds from `startS`, interpolating between waypoints `samplesPerLeg` samples each.
 */
function walker(id: number, label: string, waypoints: Array<[number, number]>, o: { startS?: number; stepS?: number; samplesPerLeg?: number; score?: number } = {}): RuleTrack {
  const { startS = 0, stepS = 0.5, samplesPerLeg = 4, score = 0.8 } = o;
  const points: Array<[number, number]> = [waypoints[0]];
  for (let leg = 1; leg < waypoints.length; leg++) {
    const [a, b] = [waypoints[leg - 1], waypoints[leg]];
    for (let k = 1; k <= samplesPerLeg; k++) points.push([a[0] + ((b[0] - a[0]) * k) / samplesPerLeg, a[1] + ((b[1] - a[1]) * k) / samplesPerLeg]);
  }
  const w = 40;
  const h = 100;
  const trajectory: TrajectoryPoint[] = points.map(([x, y], i) => [startS + i * stepS, x * FRAME.width - w / 2, y * FRAME.height - h, w, h, score]);
  return { id, label, startS, endS: trajectory.at(-1)![0], maxScore: score, trajectory };
}

const door = { name: 'door', polygon: [[0.4, 0.2], [0.6, 0.2], [0.6, 0.8], [0.4, 0.8]] as Array<[number, number]> };
const parse = (p: ProfileInput) => profileSchema.parse(p);

describe('review profiles: validation', () => {
  it("accepts the issue's door-watch example and applies defaults", () => {
    const profile = parse({ name: 'door-watch', zones: [door], rules: [{ name: 'at-door', kind: 'zone', zone: 'door', labels: ['person'], alert: true }] });
    expect(profile.rules[0]).toMatchObject({ kind: 'zone', alert: true, enabled: true });
    expect(profile.lines).toEqual([]);
  });

  const bad: Array<[string, unknown, string]> = [
    ['a self-intersecting zone', { name: 'p', zones: [{ name: 'z', polygon: [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]] }], rules: [{ name: 'r', kind: 'zone', zone: 'z' }] }, 'zones.0.polygon'],
    ['a degenerate zone', { name: 'p', zones: [{ name: 'z', polygon: [[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]] }], rules: [{ name: 'r', kind: 'zone', zone: 'z' }] }, 'zones.0.polygon'],
    ['a coordinate outside [0,1]', { name: 'p', zones: [{ name: 'z', polygon: [[0.1, 0.1], [1.5, 0.1], [0.5, 0.9]] }], rules: [{ name: 'r', kind: 'zone', zone: 'z' }] }, 'zones.0.polygon.1.0'],
    ['10,000 vertices', { name: 'p', zones: [{ name: 'z', polygon: Array.from({ length: 10_000 }, (_, i) => [0.5 + 0.4 * Math.cos(i), 0.5 + 0.4 * Math.sin(i)]) }], rules: [{ name: 'r', kind: 'zone', zone: 'z' }] }, 'zones.0.polygon'],
    ['a rule naming no zone', { name: 'p', zones: [door], rules: [{ name: 'r', kind: 'zone', zone: 'gate' }] }, 'rules.0.zone'],
    ['deep nesting', { name: 'p', zones: [door], rules: [{ name: 'r', kind: 'zone', zone: 'door', extra: { a: { b: { c: {} } } } }] }, 'rules.0'],
    ['an unknown rule kind', { name: 'p', rules: [{ name: 'r', kind: 'teleport' }] }, 'rules.0.kind'],
    ['a colour (not supported yet)', { name: 'p', rules: [{ name: 'r', kind: 'match', colour: 'white' }] }, 'rules.0'],
    ['a zero-length line', { name: 'p', lines: [{ name: 'l', points: [[0.5, 0.5], [0.5, 0.5]] }], rules: [{ name: 'r', kind: 'line', line: 'l' }] }, 'lines.0.points'],
    ['a zone named twice', { name: 'p', zones: [door, door], rules: [{ name: 'r', kind: 'zone', zone: 'door' }] }, 'zones.1.name'],
  ];
  it.each(bad)('refuses %s, naming the field', (_, input, path) => {
    const parsed = profileSchema.safeParse(input);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join('.'))).toContain(path);
  });

  it('names labels the model does not have', () => {
    const profile = parse({ name: 'p', rules: [{ name: 'r', kind: 'match', labels: ['person', 'unicorn'] }] });
    expect(unknownLabels(profile, ['person', 'car'])).toEqual([{ path: 'rules.0.labels.1', message: "'unicorn' is not a label of this model" }]);
  });
});

describe('review rules: events', () => {
  it('a zone rule gives enter and exit at the samples where the bottom-centre is inside', () => {
    // From x=0.125 to 0.925 at y=0.5 in steps of 0.05, 0.5 s apart; the door spans x in (0.4, 0.6).
    const track = walker(1, 'person', [[0.125, 0.5], [0.925, 0.5]], { samplesPerLeg: 16 });
    const { events } = evaluateProfile(parse({ name: 'p', zones: [door], rules: [{ name: 'at-door', kind: 'zone', zone: 'door' }] }), [track], FRAME);
    // x = 0.125 + 0.05 i: inside for i = 6..9 (0.425 to 0.575), at 3 s to 4.5 s.
    expect(events).toEqual([
      { rule: 'at-door', kind: 'enter', timeS: 3, trackIds: [1] },
      { rule: 'at-door', kind: 'exit', timeS: 4.5, trackIds: [1] },
    ]);
  });

  it('counts line crossings exactly in both directions', () => {
    const line = { name: 'gate', points: [[0.5, 0], [0.5, 1]] as [[number, number], [number, number]] };
    const tracks = [
      walker(1, 'person', [[0.2, 0.5], [0.8, 0.5]]), // left to right
      walker(2, 'person', [[0.8, 0.6], [0.2, 0.6]]), // right to left
      walker(3, 'person', [[0.2, 0.7], [0.8, 0.7], [0.2, 0.7]]), // there and back
      walker(4, 'person', [[0.1, 0.4], [0.3, 0.4]]), // never crosses
    ];
    const profile = parse({ name: 'p', lines: [line], rules: [{ name: 'in', kind: 'line', line: 'gate', direction: 'a-to-b' }, { name: 'out', kind: 'line', line: 'gate', direction: 'b-to-a' }] });
    const { events } = evaluateProfile(profile, tracks, FRAME);
    // Walking the line top to bottom on screen, its left (A) is x > 0.5 (east is left when facing south).
    const by = (rule: string) => events.filter((e) => e.rule === rule).map((e) => e.trackIds[0]).sort();
    expect(by('in')).toEqual([2, 3]);
    expect(by('out')).toEqual([1, 3]);
    // Track 1 crosses x=0.5 halfway along its 4 samples: at 1.0 s.
    expect(events.find((e) => e.rule === 'out' && e.trackIds[0] === 1)!.timeS).toBeCloseTo(1.0, 6);
  });

  it('a dwell rule fires once an object has stayed minS in the zone, and not for one passing through', () => {
    const stays = walker(1, 'car', [[0.5, 0.5], [0.5, 0.5]], { samplesPerLeg: 20 }); // 10 s standing in the door
    const passes = walker(2, 'car', [[0.1, 0.5], [0.9, 0.5]], { samplesPerLeg: 16 });
    const profile = parse({ name: 'p', zones: [door], rules: [{ name: 'parked', kind: 'dwell', zone: 'door', minS: 3 }] });
    expect(evaluateProfile(profile, [stays, passes], FRAME).events).toEqual([{ rule: 'parked', kind: 'dwell', timeS: 3, trackIds: [1] }]);
  });

  it('a count rule fires while at least K are in the zone at once', () => {
    const tracks = [
      walker(1, 'person', [[0.5, 0.5], [0.5, 0.5]], { startS: 0, samplesPerLeg: 12 }), // 0-6 s
      walker(2, 'person', [[0.45, 0.5], [0.45, 0.5]], { startS: 2, samplesPerLeg: 12 }), // 2-8 s
      walker(3, 'person', [[0.55, 0.5], [0.55, 0.5]], { startS: 4, samplesPerLeg: 12 }), // 4-10 s
    ];
    const { events, spans } = evaluateProfile(parse({ name: 'p', zones: [door], rules: [{ name: 'crowd', kind: 'count', zone: 'door', min: 3 }] }), tracks, FRAME);
    expect(events).toEqual([{ rule: 'crowd', kind: 'count', timeS: 4, trackIds: [1, 2, 3], count: 3 }]);
    expect(spans.map((s) => [s.startS, s.endS])).toEqual([[4, 6]]);
  });

  it('attributes: labels, minimum score, size and track duration', () => {
    const tracks = [walker(1, 'person', [[0.5, 0.5], [0.5, 0.5]], { score: 0.9 }), walker(2, 'car', [[0.5, 0.5], [0.5, 0.5]], { score: 0.9 }), walker(3, 'person', [[0.5, 0.5], [0.5, 0.5]], { score: 0.3 })];
    const matched = (rule: object) => evaluateProfile(parse({ name: 'p', rules: [{ name: 'r', kind: 'match', ...rule }] }), tracks, FRAME).events.map((e) => e.trackIds[0]);
    expect(matched({ labels: ['person'] })).toEqual([1, 3]);
    expect(matched({ labels: ['person'], minScore: 0.5 })).toEqual([1]);
    // Each box is 40x100 of 1000x500: 0.8% of the frame.
    expect(matched({ minSize: 0.01 })).toEqual([]);
    expect(matched({ maxSize: 0.01 })).toEqual([1, 2, 3]);
    expect(matched({ minTrackS: 5 })).toEqual([]);
  });
});

describe('review rules: segments', () => {
  it('merges the spans of the rules that are on, naming the rules and tracks behind each segment', () => {
    const inDoor = walker(1, 'person', [[0.5, 0.5], [0.5, 0.5]], { startS: 10, samplesPerLeg: 8 }); // 10-14 s in the door
    const car = walker(2, 'car', [[0.1, 0.9], [0.2, 0.9]], { startS: 30, samplesPerLeg: 4 }); // 30-32 s, outside
    const profile = parse({
      name: 'p', zones: [door],
      rules: [{ name: 'at-door', kind: 'zone', zone: 'door', alert: true }, { name: 'cars', kind: 'match', labels: ['car'] }, { name: 'off', kind: 'match', enabled: false }],
    });
    const { spans } = evaluateProfile(profile, [inDoor, car], FRAME);
    const segments = ruleSegments(spans, [inDoor, car], 60, { pad: 1, mergeGap: 2, classIdOf: (l) => (l === 'person' ? 0 : 2) });
    expect(segments.map(({ startS, endS, rules, alert, trackIds }) => ({ startS, endS, rules, alert, trackIds }))).toEqual([
      { startS: 9, endS: 15, rules: ['at-door'], alert: true, trackIds: [1] },
      { startS: 29, endS: 33, rules: ['cars'], alert: false, trackIds: [2] },
    ]);
    expect(segments[0].labels).toEqual([{ label: 'person', maxScore: 0.8, trackCount: 1 }]);
    expect(segments[1].bestFrame.detections[0]).toMatchObject({ label: 'car', classId: 2 });
  });
});

describe('review rules: audio and picture cues', () => {
  const speech = [{ startS: 2, endS: 5 }, { startS: 11, endS: 13 }, { startS: 20, endS: 22 }];
  const cues = { speech, loud: [{ startS: 30, endS: 30.2 }], black: [], frozen: [] };

  it('a cue rule flags each span of its cue, as cue events', () => {
    const profile = parse({ name: 'p', rules: [{ name: 'talk', kind: 'cue', cue: 'speech' }, { name: 'bang', kind: 'cue', cue: 'loud', alert: true }] });
    const { events, spans } = evaluateProfile(profile, [], FRAME, cues);
    expect(events.map((e) => [e.rule, e.kind, e.cue, e.timeS])).toEqual([['talk', 'cue', 'speech', 2], ['talk', 'cue', 'speech', 11], ['talk', 'cue', 'speech', 20], ['bang', 'cue', 'loud', 30]]);
    expect(spans.find((s) => s.rule === 'bang')).toMatchObject({ startS: 30, endS: 30.2, alert: true });
  });

  it("with 'during': only speech while a person is at the door, with that person's track", () => {
    const inDoor = walker(1, 'person', [[0.5, 0.5], [0.5, 0.5]], { startS: 10, samplesPerLeg: 8 }); // 10-14 s in the door
    const profile = parse({
      name: 'p', zones: [door],
      rules: [{ name: 'at-door', kind: 'zone', zone: 'door', enabled: false }, { name: 'talk-at-door', kind: 'cue', cue: 'speech', during: 'at-door', alert: true }],
    });
    const { events, spans } = evaluateProfile(profile, [inDoor], FRAME, cues);
    // The disabled zone rule makes no events of its own, but still bounds the cue rule.
    expect(events).toEqual([{ rule: 'talk-at-door', kind: 'cue', cue: 'speech', timeS: 11, trackIds: [1] }]);
    expect(spans).toEqual([{ rule: 'talk-at-door', alert: true, startS: 11, endS: 13, trackIds: [1] }]);
  });

  it("refuses a cue that is not one, and a 'during' that names no track rule", () => {
    const bad = (rules: object[]) => profileSchema.safeParse({ name: 'p', zones: [door], rules }).error?.issues.map((i) => i.path.join('.'));
    expect(bad([{ name: 'r', kind: 'cue', cue: 'music' }])).toEqual(['rules.0.cue']);
    expect(bad([{ name: 'r', kind: 'cue', cue: 'speech', during: 'nowhere' }])).toEqual(['rules.0.during']);
    expect(bad([{ name: 'a', kind: 'cue', cue: 'speech' }, { name: 'b', kind: 'cue', cue: 'loud', during: 'a' }])).toEqual(['rules.1.during']);
    expect(bad([{ name: 'r', kind: 'cue', cue: 'speech', labels: ['person'] }])).toEqual(['rules.0']);
  });
});

describe('the colour palette', () => {
  it.each([
    [[250, 250, 250], 'white'], [[128, 128, 130], 'grey'], [[15, 15, 20], 'black'], [[210, 30, 30], 'red'], [[240, 140, 20], 'orange'],
    [[230, 220, 40], 'yellow'], [[40, 160, 60], 'green'], [[40, 70, 200], 'blue'], [[0, 180, 180], 'blue'], [[130, 40, 190], 'purple'],
    [[230, 90, 170], 'pink'], [[110, 70, 30], 'brown'],
  ])('names rgb %j %s', (rgb, name) => expect(colourOfPixel(rgb[0], rgb[1], rgb[2])).toBe(name));
});
