import { describe, expect, it } from 'vitest';
import { redactionRequestSchema } from '../src/shared/redaction.js';
import { FACE_TRACK_ID_BASE } from '../src/shared/redaction-tracks.js';
import { auditFaceTracks, boxBetween, drawnBox, emptyRedactionDraft, jobRedactionTracks, outputTimeOf, redactionRequest, seenAtMs } from '../src/web/redact-request.js';

// The redaction panel's pure half (src/web/redact-request.ts): the request it sends, the tracks
// it lists, the boxes drawn, and where a source moment is in the redacted video.

const track = (id: number, label: string, startS: number, endS: number, extra: { text?: string } = {}) => ({
  id, label, startS, endS, maxScore: 0.9, hits: 3, ...extra,
  trajectory: [[startS, 0, 0, 10, 10, 0.9], [(startS + endS) / 2, 0, 0, 10, 10, 0.9], [endS, 0, 0, 10, 10, 0.9]] as Array<[number, number, number, number, number, number]>,
});

describe('the redaction request the panel sends', () => {
  it('is what the panel shows: targets in the contract order, kept ids sorted, boxes with their ends; the server schema takes it as sent', () => {
    const draft = emptyRedactionDraft();
    draft.targets = new Set(['faces', 'persons']);
    draft.style = 'fill';
    draft.span = 'confirmed';
    draft.audio = false;
    draft.keep = new Set([7, FACE_TRACK_ID_BASE + 2, 3]);
    draft.boxes.push(drawnBox(boxBetween([0.4, 0.5], [0.1, 0.2])!, 1.234, 12));
    const request = redactionRequest(draft);
    expect(request).toEqual({
      targets: ['persons', 'faces'], style: 'fill', span: 'confirmed', audio: false, keep: [3, 7, FACE_TRACK_ID_BASE + 2],
      boxes: [{ timeS: 1.23, endS: 4.23, track: true, box: { x: 0.1, y: 0.2, width: 0.3, height: 0.3 } }],
    });
    expect(redactionRequestSchema.parse(request)).toMatchObject(request);
    // The request is a copy: a box changed in the panel afterwards does not change a request sent.
    draft.boxes[0].box.x = 0.5;
    expect(request.boxes[0].box.x).toBe(0.1);
  });

  it('a fresh panel hides persons and text with a blur over the whole video, sound kept, nothing kept or drawn', () => {
    expect(redactionRequest(emptyRedactionDraft())).toEqual({ targets: ['persons', 'text'], style: 'blur', span: 'all', audio: true, keep: [], boxes: [] });
  });
});

describe('boxes drawn on the frame', () => {
  it.each([
    { from: [0.1, 0.2], to: [0.4, 0.5], box: { x: 0.1, y: 0.2, width: 0.3, height: 0.3 } },
    { from: [0.4, 0.5], to: [0.1, 0.2], box: { x: 0.1, y: 0.2, width: 0.3, height: 0.3 } },
    { from: [0.123456, 0.9], to: [0.5, 0.3], box: { x: 0.1235, y: 0.3, width: 0.3765, height: 0.6 } },
    { from: [-0.2, 0.5], to: [1.3, 0.6], box: { x: 0, y: 0.5, width: 1, height: 0.1 } },
  ] as const)('from $from to $to is $box', ({ from, to, box }) => {
    expect(boxBetween(from, to)).toEqual(box);
  });

  it('a click without a drag (no width or no height) is no box', () => {
    expect(boxBetween([0.3, 0.3], [0.3, 0.6])).toBeUndefined();
    expect(boxBetween([0.3, 0.3], [0.6, 0.3])).toBeUndefined();
  });

  it('is followed and masked from the player time for 3 s, or to the end of the video', () => {
    const box = { x: 0, y: 0, width: 0.5, height: 0.5 };
    expect(drawnBox(box, 2, 12)).toEqual({ timeS: 2, endS: 5, track: true, box });
    expect(drawnBox(box, 10.5, 12)).toEqual({ timeS: 10.5, endS: 12, track: true, box });
  });
});

describe('the tracks the panel lists', () => {
  it('lists the person tracks, then the text tracks, in time order; other labels are not redaction targets', () => {
    const tracks = [track(1, 'car', 0, 2), track(2, 'person', 5, 7), track(3, 'text', 1, 3, { text: 'AB 123' }), track(4, 'person', 1, 2)];
    expect(jobRedactionTracks(tracks, 12).map((t) => [t.trackId, t.target])).toEqual([[4, 'persons'], [2, 'persons'], [3, 'text']]);
  });

  it('pictures a track at its middle sample, on the frames route grid (a multiple of 100 ms, inside the video)', () => {
    expect(seenAtMs(track(1, 'person', 4, 8.06), 12)).toBe(6000);
    expect(seenAtMs({ startS: 4.01, endS: 4.08, trajectory: [[4.04, 0, 0, 1, 1, 1]] }, 12)).toBe(4000);
    expect(seenAtMs({ startS: 11.9, endS: 12.3, trajectory: [[12.26, 0, 0, 1, 1, 1]] }, 12.05)).toBe(12000);
    expect(seenAtMs({ startS: 2, endS: 3 }, 12)).toBe(2500);
  });

  it('adds the face tracks of an audit (ids from FACE_TRACK_ID_BASE), not its job tracks again', () => {
    const audit = { tracks: [
      { trackId: 2, label: 'person', startS: 4, endS: 8, kept: false },
      { trackId: FACE_TRACK_ID_BASE + 1, label: 'face', startS: 1, endS: 2, kept: true, trajectory: [[1.5, 0, 0, 5, 5, 0.8]] as Array<[number, number, number, number, number, number]> },
    ] };
    expect(auditFaceTracks(audit, 12)).toEqual([{ trackId: FACE_TRACK_ID_BASE + 1, label: 'face', startS: 1, endS: 2, target: 'faces', seenMs: 1500 }]);
  });
});

describe('where a source moment is in the redacted video', () => {
  const spans = [{ sourceStartS: 2, sourceEndS: 4, outputStartS: 0, frames: 20 }, { sourceStartS: 10, sourceEndS: 11, outputStartS: 2, frames: 10 }];
  it.each([
    { sourceS: 3, spans: undefined, at: 3 },
    { sourceS: 2.5, spans, at: 0.5 },
    { sourceS: 10.25, spans, at: 2.25 },
    { sourceS: 6, spans, at: undefined },
    { sourceS: 12, spans, at: undefined },
  ])('$sourceS s is at $at s', ({ sourceS, spans, at }) => {
    expect(outputTimeOf(sourceS, spans)).toBe(at);
  });
});
