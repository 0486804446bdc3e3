import { readFileSync } from 'node:fs';

/** framewatch's version from package.json (two levels up from src/cli and dist/src/cli alike). */
export const FRAMEWATCH_VERSION: string = (() => {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8'));
      if (pkg.name === 'framewatch') return pkg.version as string;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
})();
