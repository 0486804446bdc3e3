import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The framewatch package root, found from this file in src/ or dist/src/ alike. */
export const PACKAGE_ROOT: string = (() => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'framewatch') return dir;
  }
  throw new Error('cannot find the framewatch package root');
})();

export const FRAMEWATCH_VERSION: string = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;

/**
 * The compiled JavaScript of a module under the package root (a worker thread's entry): the
 * file beside the caller when the caller runs from dist/, else dist's copy, as when vitest
 * runs the TypeScript sources. `npm run build` makes it either way.
 */
export function compiledModule(callerUrl: string, sibling: string, fromRoot: string): URL {
  const beside = new URL(sibling, callerUrl);
  if (existsSync(fileURLToPath(beside))) return beside;
  return pathToFileURL(join(PACKAGE_ROOT, 'dist', fromRoot));
}
