import { Router, static as serveStatic } from 'express';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../config/index.js';

/**
 * The review page: HTML and CSS from src/web/static, the page's script compiled by the
 * project's build to dist/src/web/app.js. Nothing is loaded from elsewhere.
 */
export function createWebRoutes(): Router {
  const router = Router();
  const staticDir = join(PACKAGE_ROOT, 'src', 'web', 'static');
  router.get('/', (_req, res) => res.sendFile(join(staticDir, 'index.html')));
  router.get('/assets/app.js', (_req, res) => res.type('text/javascript').sendFile(join(PACKAGE_ROOT, 'dist', 'src', 'web', 'app.js')));
  router.use('/assets', serveStatic(staticDir, { index: false, fallthrough: true }));
  return router;
}
