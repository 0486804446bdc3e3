import { randomUUID } from 'node:crypto';
import type { Response, RequestHandler } from 'express';
import type { Logger } from '../logging/logger.js';
import { metrics } from '../metrics/index.js';

/** nginx's status for a client that closed the connection before the answer was sent. */
export const CLIENT_CLOSED_REQUEST = 499;

/**
 * The outcome as logs and metrics show it: the status sent; the parser's answer when Node's
 * HTTP parser refused the body; 500 when the server cut an answer it had started; 499 when
 * the client went away first.
 */
const outcomeStatus = (res: Response): number => {
  if (res.writableFinished) return res.statusCode;
  if (res.locals.parserStatus) return res.locals.parserStatus as number;
  return res.locals.serverAborted ? 500 : CLIENT_CLOSED_REQUEST;
};

/** Gives each request an id (X-Request-Id, honoured when sent) and logs one JSON line when it ends. */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && /^[\w.-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    const start = process.hrtime.bigint();
    res.setHeader('X-Request-Id', id);
    res.locals.requestId = id;
    res.locals.logger = logger.child({ requestId: id });
    res.on('close', () => {
      const durationMs = Number(process.hrtime.bigint() - start) / 1e6;
      // The route pattern, never the raw URL, keeps label cardinality bounded.
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      const status = outcomeStatus(res);
      const labels = { route, method: req.method, status: String(status) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, durationMs / 1000);
      // Probes come every few seconds from every kubelet: debug, or they drown the log.
      const probe = /^\/(healthz|readyz)$/.test(req.path) && status < 400;
      logger[probe ? 'debug' : 'info']('request', {
        requestId: id,
        method: req.method,
        path: req.originalUrl.split('?')[0],
        route,
        status,
        durationMs: Math.round(durationMs * 100) / 100,
        ...(status === CLIENT_CLOSED_REQUEST ? { outcome: 'client closed the connection', sentStatus: res.headersSent ? res.statusCode : null } : {}),
      });
    });
    next();
  };
}
