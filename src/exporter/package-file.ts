import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FramewatchError } from '../errors/index.js';

/**
 * Finds a file inside an installed npm package by walking up node_modules folders, as Node
 * does. Packages' `exports` maps often hide model assets from require.resolve.
 */
export function resolvePackageFile(pkg: string, path: string, from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', pkg, path);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new FramewatchError('EXPORT_FAILED', `cannot find '${path}' in the npm package '${pkg}'; run npm ci`);
}
