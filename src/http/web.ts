import { Router, static as serveStatic } from 'express';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../config/index.js';

/**
 * The review page: HTML and CSS from src/web/static, the page's modules compiled by the
 * project's build to dist/src/web/ (app.js and what it imports). Nothing is loaded from elsewhere.
 */
const PAGE_MODULES = new Set(['app.js']);
/** Modules the page shares with the server (src/shared), which the page imports as ../shared/<name>.js. */
const SHARED_MODULES = new Set(['label-layout.js', 'text-match.js']);

export function createWebRoutes(): Router {
  const router = Router();
  const staticDir = join(PACKAGE_ROOT, 'src', 'web', 'static');
  router.get('/', (_req, res) => res.sendFile(join(staticDir, 'index.html')));
  router.get('/assets/:module.js', (req, res, next) => {
    const file = `${req.params.module}.js`;
    if (!PAGE_MODULES.has(file)) return next();
    res.type('text/javascript').sendFile(join(PACKAGE_ROOT, 'dist', 'src', 'web', file));
  });
  router.get('/shared/:module.js', (req, res, next) => {
    const file = `${req.params.module}.js`;
    if (!SHARED_MODULES.has(file)) return next();
    res.type('text/javascript').sendFile(join(PACKAGE_ROOT, 'dist', 'src', 'shared', file));
  });
  router.use('/assets', serveStatic(staticDir, { index: false, fallthrough: true }));
  return router;
}
