import type { ErrorCode } from '../shared/error-catalogue.js';

export { ERROR_CATALOGUE, ERROR_CODES, type ErrorCode } from '../shared/error-catalogue.js';

/** The one error type inner layers throw; http/ maps its code to a status. */
export class FramewatchError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FramewatchError';
  }
}

export const isFramewatchError = (err: unknown): err is FramewatchError => err instanceof FramewatchError;

/** Wire format of an error: `{"error": {"code", "message", "details"?}}`. */
export function formatError(err: FramewatchError): { error: { code: ErrorCode; message: string; details?: unknown } } {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.details === undefined ? {} : { details: err.details }),
    },
  };
}
