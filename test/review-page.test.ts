import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { startTestServer } from './helpers/server.js';
import { knownTruthVideo } from './helpers/videos.js';

// Debian's Chromium (installed by .ci/run when missing); playwright's own download cannot work here.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = 'test/artifacts';

let dir: string;
let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-page-'));
  await mkdir(ARTIFACTS, { recursive: true });
  await knownTruthVideo(join(dir, 'truth.mp4'));
  server = await startTestServer({ modelsDir: 'models', dataDir: join(dir, 'data') });
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package (.ci/run does)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe.each([
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
])('review page at $name size ($width x $height)', ({ name, width, height }) => {
  it('uploads the known-truth video, shows the person segment, and a click seeks the player to it', async () => {
    const page = await browser.newPage({ viewport: { width, height } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForSelector('#model option[value^="object-detector/"]', { state: 'attached' });
    await page.fill('#labels', 'person');
    await page.setInputFiles('#file', join(dir, 'truth.mp4'));
    const range = page.locator('#timeline .range[data-segment-start]');
    await range.first().waitFor({ timeout: 60_000 });
    expect(await range.count()).toBe(1);
    const start = Number(await range.first().getAttribute('data-segment-start'));
    expect(start).toBeGreaterThanOrEqual(2.5);
    expect(start).toBeLessThanOrEqual(4);
    await expect.poll(() => page.textContent('#summary')).toMatch(/^Watch 0:0\d of 0:1\d \(\d+%\) — 1 segment$/);
    const card = page.locator('#cards .card[data-segment-start]').first();
    await expect.poll(() => card.locator('img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    await card.click();
    await expect.poll(() => page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).currentTime)).toBeGreaterThanOrEqual(start - 0.5);
    const t = await page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).currentTime);
    expect(Math.abs(t - start)).toBeLessThanOrEqual(0.5);
    await page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).pause());
    await page.screenshot({ path: `${ARTIFACTS}/review-video-${name}.png`, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('an image upload shows its boxes and a table of detections', async () => {
    const page = await browser.newPage({ viewport: { width, height } });
    await page.goto(server.url);
    await page.waitForSelector('#model option[value^="object-detector/"]', { state: 'attached' });
    await page.setInputFiles('#file', 'test/fixtures/messi5.jpg');
    await page.waitForSelector('#image-canvas[data-boxes]');
    expect(Number(await page.getAttribute('#image-canvas', 'data-boxes'))).toBeGreaterThan(0);
    const labels = await page.locator('#detections tbody tr td:first-child').allTextContents();
    expect(labels).toContain('person');
    await page.screenshot({ path: `${ARTIFACTS}/review-image-${name}.png`, fullPage: true });
    await page.close();
  });
});

describe('review page errors', () => {
  it('shows an API error in plain words with its code, never a blank page', async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForSelector('#model option', { state: 'attached' });
    await page.setInputFiles('#file', { name: 'notes.mp4', mimeType: 'video/mp4', buffer: Buffer.from('not a video at all, just text '.repeat(10)) });
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error')).toMatch(/not a video or image framewatch can read.*UNSUPPORTED_MEDIA_TYPE/);
    await page.close();
  });
});

describe('review page with an API token', () => {
  const token = 'review-page-token-0123456789';
  let secured: RunningServer;
  beforeAll(async () => {
    secured = await startTestServer({ modelsDir: 'models', dataDir: join(dir, 'data-token'), apiToken: token });
  });
  afterAll(() => secured?.close());

  it('asks for the token on 401, then uploads, polls the job and loads thumbnails with it, and keeps it on reload', async () => {
    const page = await browser.newPage();
    await page.goto(secured.url);
    await page.waitForSelector('#model option[value^="object-detector/"]', { state: 'attached' });
    expect(await page.isVisible('#token')).toBe(false);
    await page.setInputFiles('#file', 'test/fixtures/messi5.jpg');
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error')).toMatch(/needs an API token.*UNAUTHORIZED/);
    expect(await page.isVisible('#token')).toBe(true);

    await page.fill('#token', token);
    await page.fill('#labels', 'person');
    await page.setInputFiles('#file', join(dir, 'truth.mp4'));
    const card = page.locator('#cards .card[data-segment-start]').first();
    await card.waitFor({ timeout: 60_000 });
    await expect.poll(() => card.locator('img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    expect(await page.isVisible('#error')).toBe(false);

    await page.reload();
    expect(await page.inputValue('#token')).toBe(token);
    await page.close();
  });
});
