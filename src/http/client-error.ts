import type { Socket } from 'node:net';
import { FramewatchError, formatError } from '../errors/index.js';
import type { Logger } from '../logging/logger.js';
import { statusFor } from './error-handler.js';
import { metrics } from '../metrics/index.js';

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/** Node's HTTP parser errors, in the catalogue's terms. */
function fromParserError(err: NodeJS.ErrnoException): FramewatchError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new FramewatchError('HEADERS_TOO_LARGE', 'the request line or headers are too large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new FramewatchError('REQUEST_TIMEOUT', 'the request took longer than the server allows');
    default:
      return new FramewatchError('INVALID_INPUT', `malformed HTTP request (${err.code ?? 'parse error'})`);
  }
}

/**
 * The server's 'clientError' handler: requests Node's parser refuses (oversize headers, a
 * malformed chunked body, a request timeout) get the documented JSON error, not an empty
 * body, and are counted and logged like any other answer.
 */
export function clientErrorHandler(logger: Logger) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    // A request already handed to Express (a malformed chunked body) has a response in flight.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean; locals?: Record<string, unknown> } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) return void socket.destroy();
    const known = fromParserError(err);
    const status = statusFor(known);
    const body = JSON.stringify(formatError(known));
    if (inFlight?.locals) inFlight.locals.parserStatus = status; // its request log line carries this status
    else metrics.httpRequests.inc({ route: 'unparsed', method: 'unknown', status: String(status) });
    logger.info('request rejected by the HTTP parser', { code: known.code, parserCode: err.code, status });
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  };
}
