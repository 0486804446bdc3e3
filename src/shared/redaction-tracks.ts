// Which tracks a redaction target hides, and how face tracks are told apart: pure and
// without zod, so the page lists the same tracks the server masks (src/pipeline/redaction)
// and can load this at run time.

/**
 * persons: the job's person tracks; text: its text tracks (a text reader's job: number
 * plates, signs, screens), or where the job has none, the lines the served text-detector
 * finds in the video; faces: faces the served face-detector finds in the video.
 */
export const REDACTION_TARGETS = ['persons', 'text', 'faces'] as const;
export type RedactionTargetName = (typeof REDACTION_TARGETS)[number];

/**
 * Face tracks' ids are this plus the redaction's own tracker id (1, 2, ...): a job's track
 * ids count from 1 per job and the reviewer's boxes are negative, so neither reaches them.
 */
export const FACE_TRACK_ID_BASE = 1_000_000_000;

/** Text tracks of a redaction's own text pass (a job without text tracks): this plus the tracker's id. */
export const TEXT_TRACK_ID_BASE = 2_000_000_000;

/** A face track of a redaction's own detect pass (the job's tracks never reach its ids). */
export const isFaceTrackId = (trackId: number) => trackId >= FACE_TRACK_ID_BASE && trackId < TEXT_TRACK_ID_BASE;

/** Whether a target hides one of the job's tracks (faces hide none of them: they come from the detect pass). */
export function targetHidesTrack(target: RedactionTargetName, track: { label: string; text?: string }): boolean {
  if (target === 'persons') return track.label === 'person';
  if (target === 'text') return track.text !== undefined || track.label === 'text';
  return false;
}
