import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs the built CLI (dist/, built by pretest); resolves with exit code, stdout and stderr. */
export const runCli = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['dist/src/cli/main.js', ...args], { env: { ...process.env, ...env } }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
  );

/** The records of a JSON-lines file (what `framewatch score --out` writes). */
export const readJsonl = async (path: string): Promise<any[]> => (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
