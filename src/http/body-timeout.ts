import type { RequestHandler } from 'express';
import { FramewatchError } from '../errors/index.js';

const hasBody = (headers: Record<string, string | string[] | undefined>) =>
  headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;

/**
 * Cuts a request body that stops arriving: after `idleMs` without a byte, the request stream
 * errors with REQUEST_TIMEOUT, whoever reads it answers 408 and the connection closes. The
 * timer is the socket's idle timer, so it runs only while the body is still being read;
 * the time spent on inference afterwards is not limited by it.
 */
export function bodyIdleTimeout(idleMs: number): RequestHandler {
  return (req, _res, next) => {
    if (req.complete || !hasBody(req.headers)) return next();
    // Readers may have stopped listening after an earlier failure; an error must not crash.
    req.on('error', () => undefined);
    const stop = () => req.setTimeout(0);
    req.setTimeout(idleMs, () => {
      stop();
      if (req.complete) return;
      req.emit('error', new FramewatchError('REQUEST_TIMEOUT', `no body bytes arrived for ${idleMs} ms`, { idleMs }));
    });
    // Only the body's end clears it: clearing on the response's close would also clear the
    // keep-alive timeout Node sets on the socket by then. A body left unread closes the
    // connection (Connection: close), and the timer goes with the socket.
    req.once('end', stop);
    next();
  };
}
