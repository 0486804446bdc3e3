// `npm run build` compiles the TypeScript to dist/ and stamps it: the server (tsconfig.build.json,
// no DOM) and the review page (src/web/tsconfig.json, DOM and no Node), into one dist/ layout. With --if-stale (what
// `npm start` runs) it compiles only when a source, a tsconfig or package.json is newer than
// the stamp: a restart with no change skips the compiler's seconds.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const STAMP = 'dist/.build-stamp';
const INPUTS = ['src', 'preprocessing', 'tsconfig.json', 'tsconfig.build.json', 'src/web/tsconfig.json', 'package.json'];

/** The newest modification time under these paths. */
function newest(paths) {
  let latest = 0;
  for (const path of paths) {
    const info = statSync(path);
    latest = Math.max(latest, info.mtimeMs);
    if (info.isDirectory()) latest = Math.max(latest, newest(readdirSync(path).map((name) => join(path, name))));
  }
  return latest;
}

/**
 * The review page's modules, written to dist/src/web/modules.json for src/http/web.ts to serve:
 * every module the entry (app.js) loads at run time, found by following the compiled imports, so
 * a type-only import (the zod schemas of src/shared) is not in it. A module outside
 * dist/src/web and dist/src/shared, or a bare specifier (a package the browser cannot load), fails the build.
 */
function writePageModules() {
  const served = resolve('dist/src');
  const roots = ['web', 'shared'].map((root) => join(served, root));
  const seen = new Set();
  const pending = [join(served, 'web', 'app.js')];
  while (pending.length > 0) {
    const file = pending.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      const target = resolve(dirname(file), fileName);
      if (!fileName.startsWith('.') || !roots.some((root) => dirname(target) === root) || !existsSync(target)) {
        throw new Error(`${relative('.', file)} imports '${fileName}' at run time: the page may load only dist/src/web and dist/src/shared modules (import other things as types)`);
      }
      pending.push(target);
    }
  }
  const modules = [...seen].map((file) => relative(served, file).split('\\').join('/')).sort();
  writeFileSync(join(served, 'web', 'modules.json'), `${JSON.stringify({ modules }, null, 2)}\n`);
}

if (process.argv.includes('--if-stale') && existsSync(STAMP) && newest(INPUTS) <= statSync(STAMP).mtimeMs) process.exit(0);
const tsc = (project) => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], { stdio: 'inherit' });
tsc('tsconfig.build.json');
tsc('src/web/tsconfig.json');
writePageModules();
// tsc writes files without the executable bit; `npx framewatch` runs the bin file itself.
for (const path of Object.values(JSON.parse(readFileSync('package.json', 'utf8')).bin ?? {})) chmodSync(path, 0o755);
mkdirSync('dist', { recursive: true });
writeFileSync(STAMP, `${new Date().toISOString()}\n`);
