import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page as PwPage } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { probeVideo, sampleFrames } from '../src/media/ffmpeg.js';
import { postFile, startTestServer } from './helpers/server.js';
import { knownTruthVideo } from './helpers/videos.js';

// The review page's redaction panel (issue 25, "In the page"), in Chromium against the real
// server, on one person job of the known-truth clip (12 s, the people of messi5.jpg 4-8 s).

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let dir: string;
let server: RunningServer;
let browser: Browser;
let job: any;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-redact-page-'));
  await knownTruthVideo(join(dir, 'truth.mp4'));
  server = await startTestServer({ modelsDir: 'models', dataDir: join(dir, 'data') });
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package (npm test does, as root)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const res = await postFile(`${server.url}/v1/models/object-detector/predict?mode=sync&labels=person`, await readFile(join(dir, 'truth.mp4')), 'truth.mp4', 'video/mp4');
  expect(res.status).toBe(200);
  job = res.body;
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Opens the job's review with the redaction panel open and its tracks listed. */
async function openRedactPanel(page: PwPage) {
  await page.goto(`${server.url}/#/jobs/${job.jobId}`);
  await page.locator('#redact:not([hidden]) summary').click();
  await page.locator('#redact-tracks li[data-track-id]').first().waitFor({ timeout: 30_000 });
}

/** Where the picture is on screen: the player's box with the letterbox maths (object-fit: contain). */
const pictureOnScreen = (page: PwPage) => page.evaluate(({ width, height }) => {
  const box = document.getElementById('player')!.getBoundingClientRect();
  const scale = Math.min(box.width / width, box.height / height);
  const [w, h] = [width * scale, height * scale];
  return { left: box.left + (box.width - w) / 2, top: box.top + (box.height - h) / 2, width: w, height: h };
}, job.video);

const redactions = async () => (await (await fetch(`${server.url}/v1/jobs/${job.jobId}/redactions`)).json()).redactions;

describe('the redaction panel', () => {
  it('shows NO_CONFIRMED_SEGMENTS in the error banner for the confirmed segments of a job whose review confirmed none, and starts nothing', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await openRedactPanel(page);
    await page.selectOption('#redact-span', 'confirmed');
    await page.click('#start-redaction');
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error')).toMatch(/No segment is confirmed yet.*NO_CONFIRMED_SEGMENTS/);
    expect(await redactions()).toEqual([]);
    await page.close();
  });

  it('keeps an unticked track, hides a drawn box with a fill, previews the result and links its video and audit; a reload finds it again', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await openRedactPanel(page);
    // Every person track of the job is listed, each with a picture from the frames route.
    const persons = job.tracks.filter((t: any) => t.label === 'person');
    expect(persons.length).toBeGreaterThan(0);
    const rows = page.locator('#redact-tracks li[data-track-id]');
    expect((await rows.evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.trackId)))).sort()).toEqual(persons.map((t: any) => t.id).sort());
    await expect.poll(() => rows.locator('img').evaluateAll((imgs) => imgs.every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0)), { timeout: 30_000 }).toBe(true);
    const kept = persons[0].id;
    await page.uncheck(`#redact-tracks li[data-track-id="${kept}"] input[type=checkbox]`);
    await page.selectOption('#redact-style', 'fill');

    // Paused at 1 s (no one in the frame), a box is dragged from (0.1, 0.2) to (0.4, 0.5) of the frame.
    await page.evaluate(() => {
      const player = document.getElementById('player') as HTMLVideoElement;
      player.pause();
      player.currentTime = 1;
    });
    await expect.poll(() => page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).currentTime)).toBe(1);
    await page.click('#draw-box');
    await page.locator('#player').scrollIntoViewIfNeeded();
    const p = await pictureOnScreen(page);
    const at = (fx: number, fy: number) => [p.left + fx * p.width, p.top + fy * p.height] as const;
    await page.mouse.move(...at(0.1, 0.2));
    await page.mouse.down();
    await page.mouse.move(...at(0.25, 0.35), { steps: 4 });
    await page.mouse.move(...at(0.4, 0.5), { steps: 4 });
    await page.mouse.up();
    await expect.poll(() => page.locator('#redact-boxes li').count()).toBe(1);

    await page.click('#start-redaction');
    await page.locator('#redact-result:not([hidden])').waitFor({ timeout: 60_000 });
    expect(await page.isVisible('#error')).toBe(false);

    // The request the server stored: the unticked track kept, the others hidden, the box where it was drawn.
    const [record] = await redactions();
    expect(record.status).toBe('succeeded');
    const { settings, tracks } = record.audit;
    expect(settings).toMatchObject({ targets: ['persons', 'text'], style: 'fill', span: 'all', audio: true, keep: [kept] });
    expect(tracks.filter((t: any) => t.kept).map((t: any) => t.trackId)).toEqual([kept]);
    expect(tracks.filter((t: any) => !t.kept && t.label === 'person').length).toBe(persons.length - 1);
    // persons and text on an object detector's job: the redaction found the text itself (ids from TEXT_TRACK_ID_BASE).
    expect(record.audit.text?.model.name).toBe('text-detector');
    // The drawn box is followed (the page's boxes are tracked), and listed as a track of its own.
    expect(tracks.filter((t: any) => t.label === 'added').map((t: any) => t.trackId)).toEqual([-1]);
    expect(settings.boxes).toHaveLength(1);
    expect(settings.boxes[0].track).toBe(true);
    const [drawn] = settings.boxes;
    const seen = JSON.stringify(drawn);
    for (const [got, want] of [[drawn.box.x, 0.1], [drawn.box.y, 0.2], [drawn.box.width, 0.3], [drawn.box.height, 0.3]]) expect(Math.abs(got - want), seen).toBeLessThanOrEqual(0.02);
    expect(drawn.timeS, seen).toBeCloseTo(1, 1);
    expect(drawn.endS, seen).toBeCloseTo(4, 1);

    // The preview decodes a frame; the links answer with the video and the audit.
    await expect.poll(() => page.evaluate(() => (document.getElementById('redact-preview') as HTMLVideoElement).readyState), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    const links = await page.evaluate(() => ['redact-video-link', 'redact-audit-link'].map((id) => (document.getElementById(id) as HTMLAnchorElement).href));
    const [video, audit] = await Promise.all(links.map((href) => fetch(href)));
    expect([video.status, video.headers.get('content-type')]).toEqual([200, 'video/mp4']);
    expect([audit.status, audit.headers.get('content-type')?.split(';')[0]]).toEqual([200, 'application/json']);
    expect((await audit.json()).redactionId).toBe(record.redactionId);

    // The drawn box is black in the output at 2 s (inside its 1-4 s); below it the frame is the source's.
    const out = join(dir, 'redacted.mp4');
    await writeFile(out, Buffer.from(await video.arrayBuffer()));
    const info = await probeVideo(out);
    const frameAt = async (path: string) => (await sampleFrames(path, info, { fps: 10, startS: 2, maxFrames: 1 }).next()).value!.image.data;
    const [source, redacted] = [await frameAt(join(dir, 'truth.mp4')), await frameAt(out)];
    /** The mean of a frame's channel values over a frame-relative rectangle. */
    const meanIn = (frame: Uint8Array, [x0, y0, x1, y1]: number[]) => {
      let [sum, n] = [0, 0];
      for (let y = Math.round(y0 * info.height); y < Math.round(y1 * info.height); y++) {
        for (let x = Math.round(x0 * info.width); x < Math.round(x1 * info.width); x++, n += 3) sum += frame[(y * info.width + x) * 3] + frame[(y * info.width + x) * 3 + 1] + frame[(y * info.width + x) * 3 + 2];
      }
      return sum / n;
    };
    const [inside, below] = [[0.15, 0.25, 0.35, 0.45], [0.15, 0.75, 0.35, 0.95]];
    expect(meanIn(source, inside)).toBeGreaterThan(30);
    expect(meanIn(redacted, inside)).toBeLessThan(10);
    expect(Math.abs(meanIn(redacted, below) - meanIn(source, below))).toBeLessThan(8);

    // "As redacted": the cards' pictures become the thumbnails masked as this redaction masked the video, and plain again when unticked.
    const firstCard = () => page.evaluate(() => {
      const img = document.querySelector('#cards .card img') as HTMLImageElement;
      return { src: img.src, loaded: img.complete && img.naturalWidth > 0 };
    });
    const plainCard = await firstCard();
    await page.check('#redact-pictures');
    await expect.poll(async () => (await firstCard()).src).toContain(`redaction=${record.redactionId}`);
    await expect.poll(async () => (await firstCard()).loaded).toBe(true);
    const [plainPicture, redactedPicture] = await Promise.all([plainCard.src, (await firstCard()).src].map(async (src) => Buffer.from(await (await fetch(src)).arrayBuffer())));
    expect(redactedPicture.equals(plainPicture)).toBe(false);
    await page.uncheck('#redact-pictures');
    await expect.poll(async () => (await firstCard()).src).toBe(plainCard.src);

    // A reload finds the redaction again: its preview, and its settings (the kept track unticked).
    await page.reload();
    await page.locator('#redact-result:not([hidden])').waitFor({ timeout: 30_000 });
    expect(await page.isChecked(`#redact-tracks li[data-track-id="${kept}"] input[type=checkbox]`)).toBe(false);
    expect(await page.inputValue('#redact-style')).toBe('fill');
    expect(await page.locator('#redact-boxes li').count()).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  });
});
