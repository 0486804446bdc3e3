import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { mediaToolVersions } from '../../media/ffmpeg.js';
import type { RedactedVideo } from '../../media/redact.js';
import type { JobResult } from '../../shared/job-result.js';
import { targetHidesTrack } from '../../shared/redaction-tracks.js';
import type { RedactionAudit, RedactionRecord, RedactionRequest } from '../../shared/redaction.js';
import { TEXT_MIN_MARGIN, type PassTracks } from './detect-pass.js';
import type { RedactionTarget } from './plan.js';

// What a redaction masks (and keeps), and the audit it writes beside its video: the same
// whether it ran in one process or in chunks on several workers.

/** A track a redaction may mask: one of the job's, or a face track of its own detect pass. */
interface CandidateTrack extends RedactionTarget {
  startS: number;
  endS: number;
  /** Face tracks are listed with their trajectory: the job's result does not keep them. */
  auditTrajectory: boolean;
}

const jobCandidate = (t: JobResult['tracks'][number]): CandidateTrack => ({
  trackId: t.id, label: t.label, trajectory: t.trajectory, startS: t.startS, endS: t.endS, auditTrajectory: false, ...(targetHidesTrack('text', t) ? { minMarginShare: TEXT_MIN_MARGIN } : {}),
});
/** A drawn box's path, listed in the audit like a face track's (the job's result does not keep it). */
const addedCandidate = (t: RedactionTarget): CandidateTrack => ({ ...t, startS: t.trajectory[0][0], endS: t.trajectory.at(-1)![0], auditTrajectory: true });
const passCandidates = (found: Pick<PassTracks, 'targets' | 'spans'>): CandidateTrack[] =>
  found.targets.map((t, i) => ({ ...t, startS: found.spans[i].startS, endS: found.spans[i].endS, auditTrajectory: true }));

/**
 * The tracks to mask (and those kept): the job's chosen tracks, the tracks of the redaction's
 * own passes (faces from FACE_TRACK_ID_BASE, text from TEXT_TRACK_ID_BASE), and the reviewer's
 * boxes (`added`, from addedBoxTargets: ids -1, -2, ...).
 */
export function redactionTargets(
  result: Pick<JobResult, 'tracks'>,
  request: Pick<RedactionRequest, 'targets' | 'keep'>,
  passes: ReadonlyArray<Pick<PassTracks, 'targets' | 'spans'>> = [],
  added: readonly RedactionTarget[] = [],
): { targets: RedactionTarget[]; tracks: RedactionAudit['tracks'] } {
  const chosen = [
    ...result.tracks.filter((t) => request.targets.some((target) => targetHidesTrack(target, t))).map(jobCandidate),
    ...passes.flatMap(passCandidates),
  ];
  const kept = new Set(request.keep);
  return {
    targets: [...chosen.filter((t) => !kept.has(t.trackId)).map(({ trackId, label, trajectory, minMarginPx, minMarginShare }) => ({ trackId, label, trajectory, minMarginPx, minMarginShare })), ...added],
    tracks: [...chosen, ...added.map(addedCandidate)].map((t) => ({
      trackId: t.trackId, label: t.label, startS: t.startS, endS: t.endS, kept: kept.has(t.trackId), ...(t.auditTrajectory ? { trajectory: [...t.trajectory] } : {}),
    })),
  };
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** What the audit says of the detect passes and the tracks, decided before encoding. */
export type AuditPlan = Pick<RedactionAudit, 'tracks' | 'faces' | 'text'> & { detectS: number; trackS: number };

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** The audit of a finished redaction whose video is at `out`. */
export async function auditOf(
  record: RedactionRecord,
  result: Pick<JobResult, 'model'>,
  request: RedactionRequest,
  plan: AuditPlan,
  frames: RedactedVideo,
  encodeS: number,
  output: { path: string; audio: boolean },
  parts?: RedactionAudit['parts'],
): Promise<RedactionAudit> {
  return {
    jobId: record.jobId, redactionId: record.redactionId, createdAt: record.createdAt, finishedAt: new Date().toISOString(),
    model: result.model, settings: request, tracks: plan.tracks,
    frames: { decoded: frames.framesDecoded, encoded: frames.framesEncoded, masked: frames.framesMasked, masks: frames.masks, fps: frames.fps },
    spans: frames.spans,
    ...(plan.faces ? { faces: plan.faces } : {}),
    ...(plan.text ? { text: plan.text } : {}),
    timings: { detectS: round3(plan.detectS), trackS: round3(plan.trackS), encodeS: round3(encodeS) },
    output: { file: 'video.mp4', bytes: (await stat(output.path)).size, sha256: await sha256Of(output.path), audio: output.audio },
    ...(parts ? { parts } : {}),
    ffmpeg: (await mediaToolVersions()).ffmpeg,
  };
}
