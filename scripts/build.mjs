// `npm run build` compiles the TypeScript to dist/ and stamps it: the server (tsconfig.build.json,
// no DOM) and the review page (src/web/tsconfig.json, DOM and no Node), into one dist/ layout. With --if-stale (what
// `npm start` runs) it compiles only when a source, a tsconfig or package.json is newer than
// the stamp: a restart with no change skips the compiler's seconds.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

if (process.argv.includes('--if-stale') && existsSync(STAMP) && newest(INPUTS) <= statSync(STAMP).mtimeMs) process.exit(0);
const tsc = (project) => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], { stdio: 'inherit' });
tsc('tsconfig.build.json');
tsc('src/web/tsconfig.json');
// tsc writes files without the executable bit; `npx framewatch` runs the bin file itself.
for (const path of Object.values(JSON.parse(readFileSync('package.json', 'utf8')).bin ?? {})) chmodSync(path, 0o755);
mkdirSync('dist', { recursive: true });
writeFileSync(STAMP, `${new Date().toISOString()}\n`);
