import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { memoryLogger, startTestServer, type LogLine } from './helpers/server.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-first-hour-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('quiet, clear starts', () => {
  it('npm start compiles only when a source changed: with none, the build stamp is left as it is', async () => {
    const before = statSync('dist/.build-stamp').mtimeMs;
    await promisify(execFile)(process.execPath, ['scripts/build.mjs', '--if-stale']);
    expect(statSync('dist/.build-stamp').mtimeMs).toBe(before);
  });

  it('bound beyond loopback without a token, the server says so loudly; with one, or on loopback, it does not; no CUDA line per model', async () => {
    const starts = async (overrides: Record<string, unknown>) => {
      const lines: LogLine[] = [];
      const server = await startTestServer({ modelsDir: 'models', dataDir: join(dir, `data-${Object.keys(overrides).join('-')}`), ...overrides }, memoryLogger(lines));
      await server.close();
      return lines;
    };
    const open = await starts({ host: '0.0.0.0' });
    expect(open.filter((l) => l.level === 'warn' && /^NO API TOKEN: listening on 0\.0\.0\.0/.test(l.msg))).toHaveLength(1);
    expect(open.some((l) => /CUDA execution provider not installed/.test(l.msg))).toBe(false);
    expect(open.find((l) => l.msg === 'listening')).toMatchObject({ device: 'auto', provider: 'cpu' });
    expect((await starts({ host: '0.0.0.0', apiToken: 'a-long-enough-token-0123456789' })).some((l) => /NO API TOKEN/.test(l.msg))).toBe(false);
    expect((await starts({})).some((l) => /NO API TOKEN/.test(l.msg))).toBe(false);
  });

  it('framewatch verify names an unknown model or version plainly', async () => {
    const unknown = await runCli(['verify', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no model 'nope' in /);
    const version = await runCli(['verify', 'object-detector@9']);
    expect(version.stderr).toMatch(/'object-detector' has no version 9; it has 2/);
  });
});
