import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { ERROR_CATALOGUE, FramewatchError, formatError, isFramewatchError } from '../errors/index.js';
import type { Logger } from '../logging/logger.js';

/** The one place that turns an error code into an HTTP status. */
export const statusFor = (err: FramewatchError): number => ERROR_CATALOGUE[err.code].status;

/** Maps any thrown error to the wire format; 4xx log at info, 5xx at error, no stack leaks out. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const known = toFramewatchError(err);
    const status = statusFor(known);
    logRequestError((res.locals.logger as Logger | undefined) ?? logger, known, err);
    if (res.headersSent) {
      res.locals.serverAborted = true; // logged as a server fault, not as a client that left
      return void req.socket.destroy();
    }
    setErrorHeaders(known, req, res);
    res.status(status).json(formatError(known));
  };
}

/** Headers every error answer carries, whatever its body's shape (v1 or KServe v2). */
export function setErrorHeaders(known: FramewatchError, req: Request, res: Response): void {
  const retryAfter = (known.details as { retryAfterS?: number } | undefined)?.retryAfterS;
  if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
  // A body we stopped reading would keep the connection busy: close it after the answer.
  if (!req.complete) res.setHeader('Connection', 'close');
}

/** Stacks only for real faults; load shedding and readiness answers are expected traffic. */
export function logRequestError(log: Logger, known: FramewatchError, err: unknown): void {
  if (known.code === 'INTERNAL' || known.code === 'INFERENCE_FAILED') log.error('request failed', { code: known.code, error: (err as Error)?.stack ?? String(err) });
  else if (statusFor(known) >= 500) log.warn('request refused', { code: known.code, reason: known.message });
  else log.info('request rejected', { code: known.code, reason: known.message });
}

export function toFramewatchError(err: unknown): FramewatchError {
  if (isFramewatchError(err)) return err;
  const e = err as { type?: string; status?: number; message?: string };
  // Errors from express' own body parsers.
  if (e?.type === 'entity.too.large') return new FramewatchError('PAYLOAD_TOO_LARGE', 'the request body is too large');
  if (e?.type === 'entity.parse.failed') return new FramewatchError('INVALID_INPUT', 'the JSON body is malformed');
  // The router decodes path parameters; a bad percent-escape (/v1/models/%ff) is the client's.
  if (err instanceof URIError) return new FramewatchError('INVALID_INPUT', 'the URL has a malformed percent-escape');
  if (e?.type === 'request.aborted') return new FramewatchError('INVALID_INPUT', 'the client aborted the request');
  return new FramewatchError('INTERNAL', 'internal error');
}

export const notFound: RequestHandler = (req, _res, next) =>
  next(new FramewatchError('NOT_FOUND', `no route for ${req.method} ${req.path}`));
