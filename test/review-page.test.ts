import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { pictureRect, toFrame } from '../src/web/picture-rect.js';
import { addPoint, emptyDraft, finishShape, parsePoints, renameShape } from '../src/web/profile-draft.js';
import { fieldInWords } from '../src/web/re-review.js';
import { postFile, rawHttp, startTestServer } from './helpers/server.js';
import { knownTruthVideo, twoEventsVideo, twoTextsVideo } from './helpers/videos.js';

// Debian's Chromium (npm test installs it when missing: scripts/test-deps.mjs); playwright's own download cannot work here.
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
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package (npm test does, as root)`);
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
    // The cue lane: the video's two cuts (4 s, 8 s), and its three still shots as frozen spans.
    expect(await page.locator('#cue-lane .cue.shot').evaluateAll((els) => els.map((e) => e.getAttribute('title')))).toEqual(['shot at 0:04', 'shot at 0:08']);
    expect(await page.locator('#cue-lane .cue.frozen').count()).toBe(3);
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

describe('reviewing a video with the keyboard only', () => {
  const player = (page: import('playwright-core').Page) => page.evaluate(() => {
    const v = document.getElementById('player') as HTMLVideoElement;
    return { t: v.currentTime, paused: v.paused, ready: v.readyState };
  });

  it('confirms one segment, dismisses one, marks a missed range; a reload keeps it all; a segment plays to its end and stops', async () => {
    await twoEventsVideo(join(dir, 'two.mp4'));
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForSelector('#model option[value^="object-detector/"]', { state: 'attached' });
    await page.fill('#labels', 'person');
    await page.setInputFiles('#file', join(dir, 'two.mp4'));
    await page.locator('#cards .card').nth(1).waitFor({ timeout: 60_000 });
    const jobId = /#\/jobs\/(.+)$/.exec(page.url())![1];
    await expect.poll(async () => (await player(page)).ready).toBeGreaterThanOrEqual(1);

    // At 1280x800 the player, the timeline and the cards are all on screen without scrolling.
    await page.evaluate(() => window.scrollTo(0, 0));
    const inView = await page.evaluate(() => ['#player', '#timeline', '#cards .card'].map((sel) => {
      const r = document.querySelector(sel)!.getBoundingClientRect();
      return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0;
    }));
    expect(inView).toEqual([true, true, true]);

    const key = (k: string) => page.keyboard.press(k);
    await key('y'); // the first segment is active
    await expect.poll(() => page.getAttribute('#cards .card[data-segment="0"]', 'data-decision')).toBe('confirmed');
    await key('n');
    await expect.poll(async () => (await player(page)).t).toBeCloseTo(Number(await page.getAttribute('#cards .card[data-segment="1"]', 'data-segment-start')), 1);
    await key('x');
    await expect.poll(() => page.getAttribute('#cards .card[data-segment="1"]', 'data-decision')).toBe('dismissed');
    // From the second segment's start (11 s): +5 s +1 s = 17 s, mark; +2 s = 19 s, mark.
    await key('Shift+ArrowRight');
    await key('ArrowRight');
    await key('m');
    await key('ArrowRight');
    await key('ArrowRight');
    await key('m');
    await page.waitForSelector('#missed li');
    expect(await page.getAttribute('#review-state', 'data-status')).toBe('reviewed');
    await expect.poll(async () => (await player(page)).ready).toBeGreaterThanOrEqual(2); // the seek has landed
    await page.screenshot({ path: `${ARTIFACTS}/review-flow-desktop.png` });
    // The README's picture (a palette PNG, a third of the bytes): UPDATE_SCREENSHOTS=1 npx vitest run test/review-page.test.ts renews it.
    if (process.env.UPDATE_SCREENSHOTS === '1') await sharp(`${ARTIFACTS}/review-flow-desktop.png`).png({ palette: true }).toFile('docs/images/review-page.png');

    const review = await (await fetch(`${server.url}/v1/jobs/${jobId}/review`)).json();
    expect(review.segments.map((s: any) => s.decision?.decision)).toEqual(['confirmed', 'dismissed']);
    expect(review.missed).toHaveLength(1);
    expect(review.missed[0].startS).toBeCloseTo(17, 0);
    expect(review.missed[0].endS).toBeCloseTo(19, 0);

    await page.reload();
    await page.locator('#cards .card').nth(1).waitFor();
    expect(await page.getAttribute('#cards .card[data-segment="0"]', 'data-decision')).toBe('confirmed');
    expect(await page.getAttribute('#cards .card[data-segment="1"]', 'data-decision')).toBe('dismissed');
    expect(await page.locator('#missed li').count()).toBe(1);
    expect(await page.getAttribute('#review-state', 'data-status')).toBe('reviewed');

    // Play the first segment alone, at 3x: it stops within 0.5 s of its end.
    await expect.poll(async () => (await player(page)).ready).toBeGreaterThanOrEqual(1);
    const end = review.segments[0].endS;
    await key(']');
    await key(']');
    await key(']');
    expect(await page.textContent('#speed')).toBe('3x');
    await key('n'); // the second segment (after the reload the first is active)
    await key('p'); // back to the first
    await key('Enter');
    await expect.poll(async () => (await player(page)).t, { timeout: 15_000 }).toBeGreaterThan(review.segments[0].startS + 0.5);
    await expect.poll(async () => (await player(page)).paused, { timeout: 15_000 }).toBe(true);
    expect(Math.abs((await player(page)).t - end)).toBeLessThanOrEqual(0.5);
    expect(errors).toEqual([]);
    await page.close();

    // A phone opens the same job by its link.
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.goto(`${server.url}/#/jobs/${jobId}`);
    await phone.locator('#cards .card').nth(1).waitFor();
    expect(await phone.getAttribute('#cards .card[data-segment="0"]', 'data-decision')).toBe('confirmed');
    await phone.screenshot({ path: `${ARTIFACTS}/review-flow-phone.png`, fullPage: true });
    // And the jobs list shows it reviewed.
    await phone.goto(`${server.url}/#/jobs`);
    await expect.poll(() => phone.locator(`#jobs-table a[href="#/jobs/${jobId}"]`).count()).toBe(1);
    expect(await phone.locator(`#jobs-table tr:has(a[href="#/jobs/${jobId}"]) td`).last().textContent()).toBe('reviewed');
    await phone.close();
  });
});

describe('searching text on the page (text-reader)', () => {
  it('filters a result\'s segments by their text, and finds jobs by text on the jobs page', async () => {
    await twoTextsVideo(join(dir, 'texts.mp4'), 'GATE 14B', 'EXIT NORTH');
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(server.url);
    await page.waitForSelector('#model option[value^="text-reader/"]', { state: 'attached' });
    await page.selectOption('#model', { value: 'text-reader/versions/1' });
    await page.setInputFiles('#file', join(dir, 'texts.mp4'));
    await page.locator('#cards .card').nth(1).waitFor({ timeout: 60_000 });
    expect(await page.textContent('#cards .card[data-segment="0"] .labels')).toContain('GATE 14B');
    await page.fill('#search', 'exit north');
    await expect.poll(() => page.locator('#cards .card:visible').count()).toBe(1);
    expect(await page.textContent('#cards .card:visible .labels')).toContain('EXIT NORTH');
    await page.fill('#search', '');
    await expect.poll(() => page.locator('#cards .card:visible').count()).toBe(2);

    await page.goto(`${server.url}/#/jobs`);
    await page.fill('#search-text', 'gate 14b');
    await page.press('#search-text', 'Enter');
    await expect.poll(() => page.locator('#search-results li a').count()).toBeGreaterThanOrEqual(1);
    expect(await page.textContent('#search-results li')).toContain('GATE 14B');
    await page.close();
  });
});

describe('a job reviewed with a profile', () => {
  it("each segment card says which rule fired, and that it is an alert", async () => {
    const rules = { name: 'people', rules: [{ name: 'anyone', kind: 'match', labels: ['person'], alert: true }] };
    const res = await postFile(`${server.url}/v1/models/object-detector/predict?mode=sync`, await readFile(join(dir, 'truth.mp4')), 'truth.mp4', 'video/mp4', { rules: JSON.stringify(rules) });
    expect(res.status).toBe(200);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${server.url}/#/jobs/${res.body.jobId}`);
    const card = page.locator('#cards .card[data-segment-start] .rules.alert');
    await card.first().waitFor({ timeout: 30_000 });
    expect(await card.allTextContents()).toEqual(res.body.segments.map(() => 'Alert: anyone'));
    await page.close();
  });
});

describe('what the page\'s routes serve', () => {
  it.each([
    ['/assets/app.js', 200],
    ['/assets/dom.js', 200],
    ['/shared/label-layout.js', 200],
    // Shared modules the page imports as types only, and server modules, are not the page's.
    ['/shared/job-result.js', 404],
    ['/shared/error-catalogue.js', 404],
    ['/assets/deps.js', 404],
    ['/assets/modules.json', 404],
    ['/assets/app.js.map', 404],
  ])('GET %s is %i', async (path, status) => {
    const res = await fetch(`${server.url}${path}`);
    expect(res.status).toBe(status);
    if (status === 200) expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it.each([
    ['/assets/app.js', 200],
    ['/assets/../config.js', 404],
    ['/assets/..%2Fshared%2Fjob-result.js', 404],
    ['/shared/..%2Fcli%2Fmain.js', 404],
    ['/assets/%2e%2e/%2e%2e/package.json', 404],
  ])('GET %s, sent as written (a client would normalise it), is %i', async (path, status) => {
    // The server closes after answering; ending our side first would drop the request.
    const { reply } = rawHttp(server.url, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, { end: false });
    expect((await reply).split(' ', 2)[1]).toBe(String(status));
  });
});

describe('rules drawn over the player: zones, lines and track paths (issue 24)', () => {
  type Pt = [number, number];
  type PwPage = import('playwright-core').Page;
  /** A finished person job on the known-truth video (the person stands 4-8 s), shared by these tests. */
  let job: any;
  beforeAll(async () => {
    const res = await postFile(`${server.url}/v1/models/object-detector/predict?mode=sync&labels=person`, await readFile(join(dir, 'truth.mp4')), 'truth.mp4', 'video/mp4');
    expect(res.status).toBe(200);
    job = res.body;
  });

  /** The person track with the most samples, and its bottom-centres as shares of the frame. */
  const personTrack = () => {
    const track = job.tracks.filter((t: any) => t.label === 'person').sort((a: any, b: any) => b.trajectory.length - a.trajectory.length)[0];
    const feet = track.trajectory.map(([t, x, y, w, h]: number[]) => ({ t, at: [(x + w / 2) / job.video.width, (y + h) / job.video.height] as Pt }));
    return { track, feet };
  };

  async function openJob(page: PwPage) {
    await page.goto(`${server.url}/#/jobs/${job.jobId}`);
    await page.locator('#cards .card').first().waitFor({ timeout: 30_000 });
    await expect.poll(() => page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).readyState)).toBeGreaterThanOrEqual(1);
  }

  /** Where the picture is on screen: the player's box with the letterbox maths (object-fit: contain). */
  const pictureOnScreen = (page: PwPage) => page.evaluate(({ width, height }) => {
    const box = document.getElementById('player')!.getBoundingClientRect();
    const scale = Math.min(box.width / width, box.height / height);
    const [w, h] = [width * scale, height * scale];
    return { left: box.left, top: box.top, x: (box.width - w) / 2, y: (box.height - h) / 2, width: w, height: h };
  }, job.video);

  /** Clicks frame-relative points on the player (scrolled into view first). */
  async function clickFrame(page: PwPage, points: Pt[]) {
    await page.locator('#player').scrollIntoViewIfNeeded();
    const p = await pictureOnScreen(page);
    for (const [fx, fy] of points) await page.mouse.click(p.left + p.x + fx * p.width, p.top + p.y + fy * p.height);
  }

  async function addRule(page: PwPage, rule: { kind: string; shape: string; name: string; label?: string; alert?: boolean }) {
    await page.selectOption('#rule-kind', rule.kind);
    await page.selectOption('#rule-shape', rule.shape);
    if (rule.label) await page.check(`#rule-labels input[value="${rule.label}"]`);
    if (rule.alert) await page.check('#rule-alert');
    await page.fill('#rule-name', rule.name);
    await page.click('#rule-form button[type="submit"]');
    await page.locator(`#rule-list li[data-rule="${rule.name}"]`).waitFor();
  }

  /** A square around the person's feet, clamped inside the frame. */
  const zoneAroundFeet = (): Pt[] => {
    const [fx, fy] = personTrack().feet[0].at;
    const [a, b, c, d] = [fx - 0.2, fy - 0.2, fx + 0.2, fy + 0.05].map((v) => Math.min(0.98, Math.max(0.02, Math.round(v * 100) / 100)));
    return [[a, b], [c, b], [c, d], [a, d]];
  };
  const evaluate = async (body: unknown) => (await fetch(`${server.url}/v1/jobs/${job.jobId}/evaluate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<any>;

  describe.each([
    { size: 'desktop', width: 1280, height: 800 },
    { size: 'phone', width: 390, height: 844 },
  ])('at $size size', ({ size, width, height }) => {
    it('a zone clicked on the frame and a person rule, saved and re-reviewed, flag what evaluate does with the same profile', async () => {
      const page = await browser.newPage({ viewport: { width, height } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await openJob(page);
      await page.click('#rules summary');
      await page.click('#draw-zone');
      const zone = zoneAroundFeet();
      await clickFrame(page, [...zone, zone[0]]); // the first corner again closes the zone
      const nameInput = page.locator('#shapes input.shape-name');
      await expect.poll(() => nameInput.inputValue()).toBe('zone-1');
      expect(await page.isVisible('#cancel-shape')).toBe(false);
      await nameInput.fill('feet');
      await nameInput.press('Tab');
      await addRule(page, { kind: 'zone', shape: 'feet', name: 'person-at-feet', label: 'person', alert: true });
      const profileName = `page-zone-${size}`;
      await page.fill('#profile-name', profileName);
      await page.click('#save-profile');
      await expect.poll(() => page.textContent('#summary')).toContain(`re-reviewed with ${profileName} v1`);

      const profile = { name: profileName, zones: [{ name: 'feet', polygon: zone }], rules: [{ name: 'person-at-feet', kind: 'zone', zone: 'feet', labels: ['person'], alert: true }] };
      const direct = await evaluate(profile);
      expect(direct.segments.length).toBeGreaterThan(0);
      const cards = await page.locator('#cards .card').evaluateAll((els) => els.map((e) => ({ startS: Number((e as HTMLElement).dataset.segmentStart), endS: Number((e as HTMLElement).dataset.segmentEnd), rules: e.querySelector('.rules')!.textContent })));
      expect(cards).toHaveLength(direct.segments.length);
      for (const [i, s] of direct.segments.entries()) {
        expect(Math.abs(cards[i].startS - s.startS)).toBeLessThanOrEqual(0.05);
        expect(Math.abs(cards[i].endS - s.endS)).toBeLessThanOrEqual(0.05);
        expect(cards[i].rules).toBe('Alert: person-at-feet');
      }
      expect(await page.locator('#timeline .range').count()).toBe(direct.segments.length);
      // Each card shows its best frame, cut by the server when the card asks for it.
      expect(await page.locator('#cards .card img').count()).toBe(direct.segments.length);
      await expect.poll(() => page.locator('#cards .card img').evaluateAll((imgs) => imgs.every((i) => (i as HTMLImageElement).naturalWidth > 0))).toBe(true);

      const listed = (await (await fetch(`${server.url}/v1/profiles`)).json()).profiles;
      expect(listed).toContainEqual({ name: profileName, version: 1, rules: 1 });
      const stored = await (await fetch(`${server.url}/v1/profiles/${profileName}`)).json();
      expect(stored.zones[0].name).toBe('feet');
      stored.zones[0].polygon.forEach(([x, y]: Pt, i: number) => {
        expect(Math.abs(x - zone[i][0])).toBeLessThanOrEqual(0.01);
        expect(Math.abs(y - zone[i][1])).toBeLessThanOrEqual(0.01);
      });
      await page.screenshot({ path: `${ARTIFACTS}/review-rules-${size}.png`, fullPage: true });
      expect(errors).toEqual([]);
      await page.close();
    });

    it("draws each track's path in its label's colour at its boxes' bottom-centres, and the toggle hides them", async () => {
      const page = await browser.newPage({ viewport: { width, height } });
      await openJob(page);
      // A sample far from every best frame, so no box is drawn there: only the path and its dot.
      const bestTimes = job.segments.map((s: any) => s.bestFrame.timeS);
      const far = (t: number) => Math.min(...bestTimes.map((b: number) => Math.abs(b - t)));
      const sample = personTrack().feet.sort((a: any, b: any) => far(b.t) - far(a.t))[0];
      expect(far(sample.t)).toBeGreaterThan(0.6);
      await page.evaluate((t) => {
        const player = document.getElementById('player') as HTMLVideoElement;
        player.pause();
        player.currentTime = t;
      }, sample.t);
      await expect.poll(() => page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).seeking)).toBe(false);
      const colour = await page.locator('#timeline .range').first().evaluate((el) => getComputedStyle(el).backgroundColor);
      const [r, g, b] = colour.match(/\d+/g)!.map(Number);
      /** Overlay pixels in the person colour within 4 px of the sample's bottom-centre (same letterbox maths). */
      const colouredNear = () => page.evaluate(({ at: [fx, fy], video, rgb }) => {
        const canvas = document.getElementById('overlay') as HTMLCanvasElement;
        const scale = Math.min(canvas.width / video.width, canvas.height / video.height);
        const [x0, y0] = [(canvas.width - video.width * scale) / 2, (canvas.height - video.height * scale) / 2];
        const [px, py] = [Math.round(x0 + fx * video.width * scale), Math.round(y0 + fy * video.height * scale)];
        const pixels = canvas.getContext('2d')!.getImageData(px - 4, py - 4, 9, 9).data;
        let n = 0;
        for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 3] > 200 && [0, 1, 2].every((k) => Math.abs(pixels[i + k] - rgb[k]) < 40)) n++;
        return n;
      }, { at: sample.at, video: job.video, rgb: [r, g, b] });
      await expect.poll(colouredNear).toBeGreaterThan(0);
      await page.uncheck('#show-paths');
      await expect.poll(colouredNear).toBe(0);
      await page.check('#show-paths');
      await expect.poll(colouredNear).toBeGreaterThan(0);
      await page.close();
    });
  });

  it('match, text and cue rules with attributes, set in the form, are stored as written and re-review as evaluate does', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await openJob(page);
    await page.click('#rules summary');
    await page.selectOption('#rule-kind', 'match');
    expect(await page.isVisible('#rule-shape')).toBe(false);
    await page.check('#rule-labels input[value="person"]');
    await page.fill('#rule-min-score', '0.3');
    await page.fill('#rule-min-track-s', '1');
    await page.fill('#rule-max-size', '80');
    await page.check('#rule-alert');
    await page.click('#rule-form button[type="submit"]');
    await page.locator('#rule-list li[data-rule="any-person"]').waitFor();
    expect(await page.textContent('#rule-list li[data-rule="any-person"]')).toMatch(/^any-person: person anywhere \(score 0\.3\+, tracked 1 s\+, size 0%-80% of the frame\) \(alert\)/);
    await page.selectOption('#rule-kind', 'cue');
    expect(await page.isVisible('#rule-labels')).toBe(false);
    await page.selectOption('#rule-cue', 'speech');
    await page.selectOption('#rule-during', 'any-person');
    await page.uncheck('#rule-alert');
    await page.click('#rule-form button[type="submit"]');
    await page.locator('#rule-list li[data-rule="speech"]').waitFor();
    await page.selectOption('#rule-kind', 'text');
    await page.fill('#rule-query', 'Exit, AB 123');
    await page.click('#rule-form button[type="submit"]');
    await page.locator('#rule-list li[data-rule="reads-exit"]').waitFor();
    await page.fill('#profile-name', 'page-kinds');
    await page.click('#save-profile');
    await expect.poll(() => page.textContent('#summary')).toContain('re-reviewed with page-kinds v1');

    const stored = await (await fetch(`${server.url}/v1/profiles/page-kinds`)).json();
    expect(stored.rules).toEqual([
      { name: 'any-person', kind: 'match', labels: ['person'], minScore: 0.3, minTrackS: 1, maxSize: 0.8, alert: true, enabled: true },
      { name: 'speech', kind: 'cue', cue: 'speech', during: 'any-person', alert: false, enabled: true },
      { name: 'reads-exit', kind: 'text', query: ['Exit', 'AB 123'], minScore: 0.3, minTrackS: 1, maxSize: 0.8, alert: false, enabled: true },
    ]);
    const direct = await evaluate(stored);
    expect(direct.segments.length).toBeGreaterThan(0);
    expect(await page.locator('#cards .card').count()).toBe(direct.segments.length);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a bad zone (crossing itself, or two corners) shows the server's INVALID_INPUT naming the zone, and stores nothing", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await openJob(page);
    await page.click('#rules summary');
    await page.click('#draw-zone');
    await clickFrame(page, [[0.2, 0.2], [0.8, 0.7], [0.8, 0.2], [0.3, 0.8]]); // a bow tie
    await page.click('#finish-shape');
    await addRule(page, { kind: 'zone', shape: 'zone-1', name: 'in-bow-tie', label: 'person' });
    await page.fill('#profile-name', 'page-bad-zone');
    await page.click('#save-profile');
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error')).toMatch(/INVALID_INPUT: the profile was not saved: zone 'zone-1' \(polygon\): intersects itself\)$/);

    // Two corners: removed with its rule, drawn again, closed by the button.
    await page.click('#shapes button');
    expect(await page.locator('#rule-list li').count()).toBe(0);
    await page.click('#draw-zone');
    await clickFrame(page, [[0.2, 0.2], [0.8, 0.8]]);
    await page.click('#finish-shape');
    await addRule(page, { kind: 'zone', shape: 'zone-1', name: 'in-two-corners' });
    await page.click('#save-profile');
    await expect.poll(() => page.textContent('#error')).toMatch(/INVALID_INPUT: the profile was not saved: zone 'zone-1' \(polygon\): .*3/);
    const listed = (await (await fetch(`${server.url}/v1/profiles`)).json()).profiles;
    expect(listed.map((p: any) => p.name)).not.toContain('page-bad-zone');
    expect((await fetch(`${server.url}/v1/profiles/page-bad-zone`)).status).toBe(404);
    await page.close();
  });

  it("a stored profile loads from the select, draws its zone and line, and a decision on its segment goes to the job's segment under it", async () => {
    const zone = zoneAroundFeet();
    const profile = {
      name: 'page-stored',
      zones: [{ name: 'feet', polygon: zone }],
      lines: [{ name: 'across', points: [[0.1, 0.5], [0.9, 0.5]] }],
      rules: [{ name: 'anyone-at-feet', kind: 'zone', zone: 'feet', labels: ['person'] }, { name: 'crossing', kind: 'line', line: 'across' }],
    };
    expect((await fetch(`${server.url}/v1/profiles`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(profile) })).status).toBe(201);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await openJob(page);
    await page.click('#rules summary');
    await expect.poll(() => page.locator('#stored-profiles option[value="page-stored"]').count()).toBe(1);
    await page.selectOption('#stored-profiles', 'page-stored');
    await expect.poll(() => page.textContent('#summary')).toContain('re-reviewed with page-stored v1');
    expect(await page.locator('#shapes input.shape-name').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value))).toEqual(['feet', 'across']);
    expect(await page.locator('#rule-list li').count()).toBe(2);
    expect(await page.inputValue('#profile-name')).toBe('page-stored');

    const direct = await evaluate({ profile: 'page-stored' });
    const first = direct.segments[0];
    expect(first.overlaps.length).toBeGreaterThan(0);
    await page.locator('#cards .card[data-segment="0"] button[data-decision="confirmed"]').click();
    await expect.poll(() => page.getAttribute('#cards .card[data-segment="0"]', 'data-decision')).toBe('confirmed');
    const review = await (await fetch(`${server.url}/v1/jobs/${job.jobId}/review`)).json();
    for (const n of first.overlaps) expect(review.segments[n].decision?.decision).toBe('confirmed');

    await page.click('#own-segments');
    await expect.poll(() => page.textContent('#summary')).not.toContain('re-reviewed');
    expect(await page.getAttribute(`#cards .card[data-segment="${first.overlaps[0]}"]`, 'data-decision')).toBe('confirmed');
    expect(await page.locator('#cards .card img').count()).toBe(job.segments.length);
    // Taken back, so the other tests see the job undecided.
    await page.locator(`#cards .card[data-segment="${first.overlaps[0]}"] button[data-decision="confirmed"]`).click();
    await expect.poll(() => page.getAttribute(`#cards .card[data-segment="${first.overlaps[0]}"]`, 'data-decision')).toBe('');
    await page.close();
  });
});

describe("the rules panel's pure parts", () => {
  it.each([
    // A 640x480 picture in a 920x470 player: pillarboxed, 626.7 px wide from x = 146.7.
    [{ width: 920, height: 470 }, { width: 640, height: 480 }, [146.7 + 313.3, 235], [0.5, 0.5]],
    [{ width: 920, height: 470 }, { width: 640, height: 480 }, [10, 10], [0, 10 / 470]], // a click on the bar: the picture's edge
    // A 640x360 picture in a 400x400 player: letterboxed, 225 px high from y = 87.5.
    [{ width: 400, height: 400 }, { width: 640, height: 360 }, [100, 87.5 + 225], [0.25, 1]],
  ] as const)('a click at %j in a %j player of a %j picture lands at frame point %j', (box, source, [px, py], expected) => {
    const [fx, fy] = toFrame(pictureRect(box, source), px, py);
    expect(fx).toBeCloseTo(expected[0], 3);
    expect(fy).toBeCloseTo(expected[1], 3);
  });

  it('a line ends at its second click; a rename carries its rules along; typed points parse or are refused', () => {
    const draft = emptyDraft();
    draft.drawing = { kind: 'line', points: [] };
    expect(addPoint(draft, [0.1, 0.5])).toBeUndefined();
    expect(addPoint(draft, [0.912345, 0.5])).toBe('line');
    expect(draft.lines).toEqual([{ name: 'line-1', points: [[0.1, 0.5], [0.9123, 0.5]] }]);
    draft.drawing = { kind: 'line', points: [[0.2, 0.2]] };
    expect(finishShape(draft)).toBeUndefined(); // one end is no line
    draft.rules.push({ name: 'crosses', kind: 'line', line: 'line-1' });
    renameShape(draft, 'line', 'line-1', 'door');
    expect(draft.rules[0]).toMatchObject({ line: 'door' });
    expect(parsePoints('0.1,0.2  0.3,0.4')).toEqual([[0.1, 0.2], [0.3, 0.4]]);
    expect(parsePoints('0.1,0.2 0.3')).toBeUndefined();
    expect(fieldInWords(draft, 'lines.0.points')).toBe("line 'door' (points)");
    expect(fieldInWords(draft, 'name')).toBe('the profile name');
    expect(fieldInWords(draft, 'rules')).toBe('the rules');
  });
});
