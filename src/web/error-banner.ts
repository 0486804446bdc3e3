import type { ErrorCode } from '../shared/error-catalogue.js';
import type { ApiError } from './api.js';
import type { PageElements } from './elements.js';

/** Codes the page itself gives a failure that no API answer named: a network failure, a failed job without its error, a bare HTTP status. */
export type PageErrorCode = 'NETWORK' | 'UNAVAILABLE' | 'FAILED' | `HTTP_${number}`;

/** Plain words for an API error code; the code itself is shown too. Keyed by the catalogue, so a misspelt code fails typecheck. */
const PLAIN: Partial<Record<ErrorCode | PageErrorCode, string>> = {
  UNSUPPORTED_MEDIA_TYPE: 'This file is not a video or image framewatch can read.',
  PAYLOAD_TOO_LARGE: 'This file is too large for the server.',
  IMAGE_TOO_LARGE: 'This image has too many pixels.',
  INVALID_MEDIA: 'The video could not be read; it may be truncated or corrupt.',
  NO_VIDEO_STREAM: 'This file has no video in it (audio only?).',
  MODEL_NOT_READY: 'The model is not ready yet. Try again in a moment.',
  QUEUE_FULL: 'The server is busy. Try again in a moment.',
  INVALID_INPUT: 'The request was not valid.',
  CANCELLED: 'The job was cancelled.',
  JOB_NOT_FOUND: 'This job does not exist any more (jobs expire).',
  NO_CONFIRMED_SEGMENTS: 'No segment is confirmed yet: confirm the ones to hand on, or redact the whole video.',
  REDACTION_TOO_LARGE: 'The redacted video grew past the server\'s size limit.',
  REDACTION_TIMEOUT: 'The redaction took longer than the server allows.',
  MODEL_NOT_FOUND: 'The server does not serve the model this needs.',
  UNAUTHORIZED: 'This server needs an API token. Enter it above and pick the file again.',
};

/** Shows the error in plain words with its code and message; an UNAUTHORIZED answer opens the token field. */
export function showError(els: PageElements, code: ErrorCode | PageErrorCode, message: string) {
  if (code === 'UNAUTHORIZED') {
    els.tokenField.hidden = false;
    els.token.focus();
  }
  els.error.hidden = false;
  els.error.textContent = `${PLAIN[code] ?? 'Something went wrong.'} (${code}: ${message})`;
  els.status.hidden = true;
}

/** An API answer that failed: its error code and message, or the HTTP status and what was being done. */
export function showApiError(els: PageElements, failed: { status: number; error?: ApiError }, doing: string) {
  showError(els, failed.error?.code ?? `HTTP_${failed.status}`, failed.error?.message ?? doing);
}
