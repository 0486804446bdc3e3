import express from 'express';
import { FramewatchError } from '../errors/index.js';
import type { AppDeps } from './deps.js';
import { bodyIdleTimeout } from './body-timeout.js';
import { errorHandler, notFound } from './error-handler.js';
import { requestLog } from './request-log.js';
import { securityHeaders } from './security.js';
import { createWebRoutes } from './web.js';
import { createRoutes } from './routes.js';
import { createQueueDashboard } from './queue-dashboard.js';

/** Builds the Express app; src/cli/serve wires it to a port. */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestLog(deps.logger));
  app.use(securityHeaders);
  app.use(bodyIdleTimeout(deps.config.bodyIdleTimeoutMs));
  // While draining, probes answer 503 and new work is refused; in-flight requests finish.
  app.use((req, _res, next) => {
    if (!deps.draining() || /^\/(healthz|readyz|metrics|v2\/health\/)/.test(req.path)) return next();
    next(new FramewatchError('MODEL_NOT_READY', 'the server is shutting down'));
  });
  app.use(createWebRoutes());
  app.use(createQueueDashboard(deps));
  app.use(createRoutes(deps));
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
