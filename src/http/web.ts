import { Router, static as serveStatic, type RequestHandler } from 'express';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../config/index.js';

/**
 * The modules the review page loads, as the build found them (scripts/build.mjs follows the
 * compiled imports from dist/src/web/app.js): paths under dist/src such as `web/app.js` and
 * `shared/label-layout.js`. Without a build there are none, and the page cannot start, as
 * it could not without its compiled script anyway.
 */
function pageModules(): Set<string> {
  const manifest = join(PACKAGE_ROOT, 'dist', 'src', 'web', 'modules.json');
  if (!existsSync(manifest)) return new Set();
  return new Set((JSON.parse(readFileSync(manifest, 'utf8')) as { modules: string[] }).modules);
}

/**
 * The review page: HTML and CSS from src/web/static, and the page's compiled modules: its own
 * at /assets/<name>.js (dist/src/web) and the src/shared ones it imports at run time at
 * /shared/<name>.js (dist/src/shared), which is where `../shared/<name>.js` from /assets/
 * resolves. Only the modules the build listed are served; nothing is loaded from elsewhere.
 */
export function createWebRoutes(): Router {
  const router = Router();
  const staticDir = join(PACKAGE_ROOT, 'src', 'web', 'static');
  const modules = pageModules();
  const serveModule = (folder: 'web' | 'shared'): RequestHandler<{ module: string }> => (req, res, next) => {
    // The name is looked up, never joined as given: `..` or an encoded slash matches no entry.
    const file = `${folder}/${req.params.module}.js`;
    if (!modules.has(file)) return next();
    res.type('text/javascript').sendFile(join(PACKAGE_ROOT, 'dist', 'src', file));
  };
  router.get('/', (_req, res) => res.sendFile(join(staticDir, 'index.html')));
  router.get('/assets/:module.js', serveModule('web'));
  router.get('/shared/:module.js', serveModule('shared'));
  router.use('/assets', serveStatic(staticDir, { index: false, fallthrough: true }));
  return router;
}
