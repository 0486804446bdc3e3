// The page's client of this server's API: one function per call it makes, each answering a
// typed Answer. Types come from the shared contract (src/shared) as types only: the browser
// loads no zod, so a body is trusted to be what the server's own schemas made it.
import type { ErrorCode } from '../shared/error-catalogue.js';
import type { Detection, JobRecord, JobView, ReviewSummary, RuleEvent, VideoSegment } from '../shared/job-result.js';
import type { Profile, ProfileInput } from '../shared/profile.js';
import type { RedactionRecord } from '../shared/redaction.js';

/** An error as the server's error handler writes it: `{ error: ApiError }`. */
export interface ApiError { code: ErrorCode; message: string; details?: unknown }

/** A call's answer: the body when it succeeded, else the HTTP status and the error, if the body held one. */
export type Answer<T> = { ok: true; body: T } | { ok: false; status: number; error?: ApiError };

/** `GET /v1/models`, the parts the page reads. */
export interface ModelListing {
  models: Array<{ name: string; versions: Array<{ version: number; status: string; task: string; review?: { labels?: string[] } }> }>;
}

export type DecisionKind = 'confirmed' | 'dismissed';
export interface Decision { decision: DecisionKind; label?: string; note?: string }

/** A job's review report (src/review's reviewReport), the parts the page reads. */
export interface Review {
  status: 'unreviewed' | 'in-progress' | 'reviewed';
  activeS: number;
  timeSaved: number | null;
  segments: Array<{ index: number; decision?: Decision }>;
  missed: Array<{ id: number; startS: number; endS: number }>;
  counts: { undecided: number };
}

/** `GET /v1/search?text=`: finished jobs whose segments show the text. */
export interface SearchAnswer {
  results: Array<{ jobId: string; filename?: string; segments: Array<{ startS: number; endS: number; texts: string[] }> }>;
}

/** `GET /v1/profiles`: each stored profile's name, newest version and number of rules. */
export interface ProfileListing { profiles: Array<{ name: string; version: number; rules: number }> }

/** `POST /v1/jobs/:id/evaluate` (src/pipeline/rules/re-review.ts): what a profile flags in a finished job, from its stored tracks. */
export interface Evaluation {
  jobId: string;
  profile: { name: string; version?: number };
  events: RuleEvent[];
  /** `thumbnail`: the best frame's picture, cut when fetched (only with a kept video); `overlaps`: the job's own segments each overlaps. */
  segments: Array<VideoSegment & { overlaps: number[]; thumbnail?: string }>;
  review: ReviewSummary;
}

/** A redaction as its routes serve it: the record and where it (and, once succeeded, its video and audit) is. */
export type ServedRedaction = RedactionRecord & { links: { self: string; video?: string; audit?: string } };

/** A synchronous image prediction, the parts the page reads. */
export interface ImagePrediction { detections: Detection[]; image: { width: number; height: number } }

/** What predict answers: a video job's id (async mode) or an image's detections. */
export type PredictAnswer = { jobId: string } | ImagePrediction;

const errorOf = (body: unknown): ApiError | undefined =>
  typeof body === 'object' && body !== null && 'error' in body ? (body as { error: ApiError }).error : undefined;

async function answer<T>(res: Response): Promise<Answer<T>> {
  if (!res.ok) return { ok: false, status: res.status, error: errorOf(await res.json().catch(() => undefined)) };
  return { ok: true, body: (await res.json()) as T };
}

/** The API client; `token` is read at each call, so a token typed in later applies at once. */
export function createApi(token: () => string) {
  /** The bearer header for protected routes, when a token was entered. */
  const authHeaders = (): Record<string, string> => (token() ? { Authorization: `Bearer ${token()}` } : {});
  const call = (url: string, init: Omit<RequestInit, 'headers'> & { headers?: Record<string, string> } = {}) =>
    fetch(url, { ...init, headers: { ...authHeaders(), ...init.headers } });
  // keepalive: activity and decisions sent as the tab closes still arrive.
  const sendJson = (url: string, method: string, body: unknown) =>
    call(url, { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, keepalive: true });
  const decisionUrl = (jobId: string, n: number) => `/v1/jobs/${jobId}/segments/${n}/decision`;

  return {
    models: async () => answer<ModelListing>(await fetch('/v1/models')),
    job: async (jobId: string) => answer<JobView>(await call(`/v1/jobs/${jobId}`)),
    cancel: (jobId: string) => call(`/v1/jobs/${jobId}`, { method: 'DELETE' }),
    jobs: async () => answer<{ jobs: JobRecord[] }>(await call('/v1/jobs')),
    review: async (jobId: string) => answer<Review>(await call(`/v1/jobs/${jobId}/review`)),
    decide: async (jobId: string, n: number, decision: DecisionKind) => answer<Review>(await sendJson(decisionUrl(jobId, n), 'PUT', { decision })),
    undecide: async (jobId: string, n: number) => answer<Review>(await call(decisionUrl(jobId, n), { method: 'DELETE' })),
    addMissed: async (jobId: string, range: { startS: number; endS: number }) =>
      answer<{ review: Review }>(await sendJson(`/v1/jobs/${jobId}/missed`, 'POST', range)),
    /** Active review time; a slice that does not arrive is dropped, not retried. */
    reportActivity: (jobId: string, activeMs: number) =>
      sendJson(`/v1/jobs/${jobId}/review/activity`, 'POST', { activeMs }).then(() => undefined, () => undefined),
    profiles: async () => answer<ProfileListing>(await call('/v1/profiles')),
    profile: async (name: string) => answer<Profile & { version: number }>(await call(`/v1/profiles/${encodeURIComponent(name)}`)),
    /** Stores the profile as its name's next version; the server's schema judges it (400 INVALID_INPUT names the field). */
    saveProfile: async (profile: ProfileInput) => answer<Profile & { version: number }>(await sendJson('/v1/profiles', 'POST', profile)),
    /** Re-reviews the job with a stored profile: from its tracks, without inference. */
    evaluate: async (jobId: string, profile: { profile: string; version?: number }) => answer<Evaluation>(await sendJson(`/v1/jobs/${jobId}/evaluate`, 'POST', profile)),
    /** Whether the server kept the job's video (a redaction needs it): a HEAD of its file. */
    keptVideo: async (jobId: string) => (await call(`/v1/jobs/${jobId}/video`, { method: 'HEAD' })).ok,
    /** Starts a redaction (202 with its record); the server's schema judges the request. */
    redact: async (jobId: string, request: unknown) => answer<ServedRedaction>(await sendJson(`/v1/jobs/${jobId}/redact`, 'POST', request)),
    redaction: async (jobId: string, redactionId: string) => answer<ServedRedaction>(await call(`/v1/jobs/${jobId}/redactions/${redactionId}`)),
    cancelRedaction: async (jobId: string, redactionId: string) => answer<ServedRedaction>(await call(`/v1/jobs/${jobId}/redactions/${redactionId}`, { method: 'DELETE' })),
    /** The job's redactions, newest first. */
    redactions: async (jobId: string) => answer<{ redactions: ServedRedaction[] }>(await call(`/v1/jobs/${jobId}/redactions`)),
    search: async (text: string) => answer<SearchAnswer>(await call(`/v1/search?text=${encodeURIComponent(text)}`)),
    /** Protected files (thumbnails, the video) cannot load by URL with a token: fetch, then show a blob. */
    async protectedUrl(url: string): Promise<string | undefined> {
      if (!authHeaders().Authorization) return url;
      const res = await call(url);
      return res.ok ? URL.createObjectURL(await res.blob()) : undefined;
    },
    /** POSTs the file with upload progress (XMLHttpRequest reports it; fetch does not). */
    upload(file: File, url: string, onProgress: (percent: number) => void): Promise<Answer<PredictAnswer>> {
      return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open('POST', url);
        for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
        xhr.upload.onprogress = (e) => {
          if (e.lengthComputable) onProgress((e.loaded / e.total) * 100);
        };
        xhr.onload = () => {
          let body: unknown;
          try {
            body = JSON.parse(xhr.responseText);
          } catch {
            return reject(new Error(`HTTP ${xhr.status}`));
          }
          const error = errorOf(body);
          resolve(xhr.status >= 400 || error ? { ok: false, status: xhr.status, error } : { ok: true, body: body as PredictAnswer });
        };
        xhr.onerror = () => reject(new Error('the upload failed'));
        const form = new FormData();
        form.append('file', file);
        xhr.send(form);
      });
    },
  };
}

export type Api = ReturnType<typeof createApi>;
