import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { readJsonl } from './helpers/cli.js';
import { startTestServer } from './helpers/server.js';

// The README's quickstart, run as a new user runs it: each shell command as written (the
// server's port put in place of 8080), each answer compared with the abridged one shown.

interface Step { command: string; shown?: unknown }

/** The quickstart's shell commands, each with the JSON block shown after it, if any. */
export function quickstartSteps(readme: string): Step[] {
  const start = readme.indexOf('<!-- quickstart');
  const end = readme.indexOf('<!-- end of quickstart -->');
  const blocks = [...readme.slice(start, end).matchAll(/```(sh|json)\n([\s\S]*?)```/g)];
  const steps: Step[] = [];
  for (const [, lang, body] of blocks) {
    if (lang === 'sh') steps.push(...body.trim().split('\n').map((command) => ({ command })));
    else steps[steps.length - 1].shown = JSON.parse(body);
  }
  return steps;
}

/**
 * `shown` is an abridged `actual`: every key it has, `actual` has with a matching value; every
 * element of a shown array matches a distinct element of the actual one; whole numbers in the
 * answer (versions, counts, sizes) are shown exactly; other numbers agree within 0.02 below 1
 * (scores, ratios) and within 5% or 1 above (box pixels, seconds); strings are equal.
 */
export function abridges(shown: unknown, actual: unknown, path = '$'): string[] {
  if (typeof shown === 'number') {
    const tolerance = Number.isInteger(actual) ? 0 : Math.abs(shown) < 1 ? 0.02 : Math.max(1, 0.05 * Math.abs(shown));
    return typeof actual === 'number' && Math.abs(actual - shown) <= tolerance ? [] : [`${path}: shown ${shown}, got ${JSON.stringify(actual)}`];
  }
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual)) return [`${path}: shown an array, got ${JSON.stringify(actual)}`];
    const free = [...actual];
    return shown.flatMap((item, i) => {
      const at = free.findIndex((a) => abridges(item, a).length === 0);
      if (at < 0) return [`${path}[${i}]: ${JSON.stringify(item)} is not in the answer`];
      free.splice(at, 1);
      return [];
    });
  }
  if (shown && typeof shown === 'object') {
    if (!actual || typeof actual !== 'object') return [`${path}: shown an object, got ${JSON.stringify(actual)}`];
    return Object.entries(shown).flatMap(([k, v]) => abridges(v, (actual as Record<string, unknown>)[k], `${path}.${k}`));
  }
  return shown === actual ? [] : [`${path}: shown ${JSON.stringify(shown)}, got ${JSON.stringify(actual)}`];
}

const readme = readFileSync('README.md', 'utf8');
const steps = quickstartSteps(readme);
let server: RunningServer;
let dataDir: string;
/** Where the score command writes instead of the working tree's results.jsonl (a user's own may be there). */
const scoreOut = () => join(dataDir, 'results.jsonl');

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'framewatch-readme-'));
  server = await startTestServer({ modelsDir: 'models', dataDir });
});
afterAll(async () => {
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the README quickstart', () => {
  it('shows curl answers for a photo, a video and text, and a score command', () => {
    expect(steps.filter((s) => s.command.startsWith('curl ') && s.shown)).toHaveLength(3);
    expect(steps.some((s) => s.command.startsWith('npx framewatch score '))).toBe(true);
  });

  it.each(steps.filter((s) => s.command.startsWith('curl ')).map((s) => [s.command, s] as const))('%s gives what the README shows', async (_, step) => {
    const command = step.command.replaceAll('localhost:8080', new URL(server.url).host);
    const { stdout } = await promisify(execFile)('bash', ['-c', `${command} --silent --show-error --fail-with-body`], { maxBuffer: 16 << 20 });
    expect(abridges(step.shown, JSON.parse(stdout))).toEqual([]);
  });

  it('the score command writes one JSON line per file: the photos\' detections, the video\'s two segments', async () => {
    const step = steps.find((s) => s.command.startsWith('npx framewatch score '))!;
    expect(step.command).toContain('--out results.jsonl');
    await promisify(execFile)('bash', ['-c', step.command.replace('--out results.jsonl', `--out ${scoreOut()}`)], { env: { ...process.env, FRAMEWATCH_LOG_LEVEL: 'warn' } });
    const lines = await readJsonl(scoreOut());
    const byName = new Map(lines.map((l) => [String(l.path).split('/').pop(), l]));
    expect([...byName.keys()].sort()).toEqual(['crossings.mp4', 'fruits.jpg', 'home.jpg', 'licenseplate_motion.jpg', 'messi5.jpg']);
    expect(byName.get('messi5.jpg').detections.some((d: { label: string }) => d.label === 'person')).toBe(true);
    expect(byName.get('crossings.mp4').segments).toHaveLength(2);
  });
});

describe('the README itself', () => {
  it('introduces in at most about 150 lines, with the screenshot the browser test makes', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(160);
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('](docs/images/review-page.png)');
    expect(existsSync('docs/images/review-page.png')).toBe(true);
  });
});
