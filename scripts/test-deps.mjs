// `npm test` runs this first: the Debian packages the tests drive for real, Chromium (the
// review page's browser tests), redis-server (the shared-mode tests start their own) and curl
// (the README's quickstart), espeak-ng and sox (the audio tests build their clips with them).
// Missing ones are installed when this runs as root with apt-get (as CI does); otherwise it
// stops at once and names the one command to run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
if (process.env.CHROMIUM_PATH && !existsSync(process.env.CHROMIUM_PATH)) {
  console.error(`npm test: CHROMIUM_PATH=${process.env.CHROMIUM_PATH} does not exist; unset it to use Debian's chromium`);
  process.exit(1);
}
const missing = [];
if (!process.env.CHROMIUM_PATH && !has('chromium')) missing.push('chromium');
if (!has('redis-server')) missing.push('redis-server');
// The README's quickstart is run as written (test/readme.test.ts).
if (!has('curl')) missing.push('curl');
// test/audio.test.ts speaks and mixes its clips.
if (!has('espeak-ng')) missing.push('espeak-ng');
if (!has('sox')) missing.push('sox');
if (missing.length === 0) process.exit(0);

const command = `apt-get install -y ${missing.join(' ')}`;
if (process.getuid?.() === 0 && has('apt-get')) {
  console.error(`npm test: installing ${missing.join(', ')} (Debian packages the tests use) ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
  process.exit(0);
}
console.error(`npm test needs ${missing.join(', ')} (Debian packages the tests drive for real). Run:\n\n  sudo ${command}\n`);
process.exit(1);
