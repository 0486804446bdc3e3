import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../logging/logger.js';
import { metrics } from '../metrics/index.js';

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
      const labels = { route, method: req.method, status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, durationMs / 1000);
      logger.info('request', {
        requestId: id,
        method: req.method,
        path: req.originalUrl.split('?')[0],
        route,
        status: res.statusCode,
        durationMs: Math.round(durationMs * 100) / 100,
        aborted: !res.writableFinished,
      });
    });
    next();
  };
}
