import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJsonl, runCli } from './helpers/cli.js';
import { startTestServer } from './helpers/server.js';
import { knownTruthVideo, textVideo } from './helpers/videos.js';

const cli = (args: string[]) => runCli(['score', ...args], { FRAMEWATCH_LOG_LEVEL: 'warn' });

let dir: string;
let mixed: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-score-'));
  mixed = join(dir, 'mixed');
  await mkdir(join(mixed, 'nested'), { recursive: true });
  await copyFile('test/fixtures/messi5.jpg', join(mixed, 'messi5.jpg'));
  await copyFile('test/fixtures/fruits.jpg', join(mixed, 'nested', 'fruits.jpg'));
  await textVideo(join(mixed, 'clip.mp4'), 4, 1, 3);
  await writeFile(join(mixed, 'broken.jpg'), (await readFile('test/fixtures/home.jpg')).subarray(0, 3000));
  await writeFile(join(mixed, 'notes.txt'), 'a text file that is not an image\n'.repeat(5));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('framewatch score', () => {
  it('scores a folder of images, a video, a corrupt file and a text file into JSONL', async () => {
    const out = join(dir, 'r.jsonl');
    const first = await cli([mixed, '--model', 'object-detector', '--out', out]);
    expect(first.code).toBe(1); // two files failed
    const records = await readJsonl(out);
    const byName = Object.fromEntries(records.map((r) => [r.path.split('/').pop(), r]));
    expect(Object.keys(byName).sort()).toEqual(['broken.jpg', 'clip.mp4', 'fruits.jpg', 'messi5.jpg', 'notes.txt']);
    expect(byName['messi5.jpg'].detections.map((d: any) => d.label)).toContain('person');
    expect(byName['messi5.jpg'].model).toEqual({ name: 'object-detector', version: 2 });
    expect(byName['messi5.jpg'].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(byName['clip.mp4']).toMatchObject({ kind: 'video', frames: 8, review: { totalS: expect.closeTo(4, 1) } });
    expect(byName['broken.jpg'].error.code).toBe('INVALID_INPUT');
    expect(byName['notes.txt'].error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(first.stderr).toMatch(/5 files scored, 0 already in r\.jsonl, \d+ frames, \d+ detections or segments, 2 failed/);

    const again = await cli([mixed, '--model', 'object-detector@2', '--out', out, '--allow-failures']);
    const missing = await cli([mixed, '--model', 'object-detector@9', '--out', out]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/VERSION_NOT_FOUND/);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/0 files scored, 5 already in r\.jsonl/);
    expect(await readJsonl(out)).toHaveLength(5);
  });

  it('--profile makes a video\'s segments from the profile\'s rules, and refuses a bad profile naming its field', async () => {
    const video = join(dir, 'truth.mp4');
    await knownTruthVideo(video);
    const profile = join(dir, 'people.json');
    await writeFile(profile, JSON.stringify({ name: 'people', rules: [{ name: 'anyone', kind: 'match', labels: ['person'], alert: true }] }));
    const out = join(dir, 'profile.jsonl');
    const run = await cli([video, '--model', 'object-detector', '--out', out, '--profile', profile]);
    expect(run.code).toBe(0);
    const [record] = await readJsonl(out);
    expect(record.events.map((e: any) => e.rule)).toContain('anyone');
    expect(record.segments.length).toBeGreaterThan(0);
    for (const s of record.segments) expect(s).toMatchObject({ rules: ['anyone'], alert: true });
    // The person (messi5.jpg) is on screen from 4 to 8 s.
    expect(record.segments[0].startS).toBeGreaterThanOrEqual(2.5);
    expect(record.segments[0].endS).toBeLessThanOrEqual(9.5);

    await writeFile(profile, JSON.stringify({ name: 'people', zones: [{ name: 'z', polygon: [[0, 0], [2, 0], [1, 1]] }], rules: [{ name: 'r', kind: 'zone', zone: 'z' }] }));
    const bad = await cli([video, '--model', 'object-detector', '--profile', profile]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("'zones.0.polygon.1.0'");
  });

  it('writes valid CSV, one row per detection or segment, with what a text reader read', async () => {
    const out = join(dir, 'r.csv');
    const { code } = await cli([join(mixed, '*.jpg'), join(mixed, 'clip.mp4'), '--model', 'text-reader', '--out', out, '--allow-failures']);
    expect(code).toBe(0);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('path,sha256,model,version,kind,label,score,x,y,width,height,startS,endS,error,text');
    for (const line of lines.slice(1)) expect(line.split(',')).toHaveLength(15);
    // The clip shows 'REVIEW THIS PART' from 1 to 3 s: one segment row carries it (the
    // recognizer may drop the spaces of this wide font; search and query= fold spacing).
    expect(lines.some((l) => l.includes('clip.mp4') && /,text-reader,1,video,text,[\d.]+,,,,,[\d.]+,[\d.]+,,REVIEW ?THIS ?PART$/.test(l)), lines.join('\n')).toBe(true);
    expect(lines.some((l) => l.includes('broken.jpg') && l.endsWith(',INVALID_INPUT,'))).toBe(true);
  });

  it('samples videos as the server does, in process and with --server alike: auto takes the keyframes where they are close enough, --sampling exact the grid', async () => {
    const video = join(dir, 'gop1s.mp4');
    await knownTruthVideo(video, 10); // a keyframe every second; the person from 4 to 8 s
    const server = await startTestServer({ modelsDir: 'models', dataDir: join(dir, 'server-data') });
    const scoreAt = async (args: string[]) => {
      const out = join(dir, `sampling-${args.join('').replace(/\W/g, '')}.jsonl`);
      const { code, stderr } = await cli([video, '--model', 'object-detector', '--out', out, ...args]);
      expect(code, stderr).toBe(0);
      return (await readJsonl(out))[0];
    };
    /** In process, then the same through the server: the same frames, sampling, gate and segments. */
    const score = async (...args: string[]) => {
      const [local, remote] = [await scoreAt(args), await scoreAt([...args, '--server', server.url])];
      const summary = (r: any) => ({ frames: r.frames, sampling: r.sampling, motion: r.motion, segments: r.segments.map((g: any) => [g.startS, g.endS]) });
      expect(summary(remote)).toEqual(summary(local));
      return local;
    };
    try {
      // At 0.5 fps the keyframes (1 s apart) are close enough: all 12 decoded, none of the grid's.
      const [auto, exact] = [await score('--fps', '0.5'), await score('--fps', '1', '--sampling', 'exact', '--motion')];
      expect(auto).toMatchObject({ frames: 12, sampling: { mode: 'keyframes', requested: 'auto', keyframeIntervalS: 1 } });
      expect(exact).toMatchObject({ frames: 12, sampling: { mode: 'exact', requested: 'exact' }, motion: { enabled: true, maxSkipS: 5 } });
      expect(auto.motion).toEqual({ enabled: false, framesInferred: 12, framesSkipped: 0 });
      // Three still pictures: the gate sends their first frames (and one forced every 5 s), skips the rest.
      expect(exact.motion.framesSkipped).toBeGreaterThanOrEqual(6);
      expect(exact.motion.framesInferred + exact.motion.framesSkipped).toBe(12);
      for (const record of [auto, exact]) {
        expect(record.segments.map((s: any) => s.labels.map((l: any) => l.label))).toEqual([['person']]);
        expect(record.segments[0].startS).toBeLessThanOrEqual(4);
        expect(record.segments[0].endS).toBeGreaterThanOrEqual(8);
      }
    } finally {
      await server.close();
    }
    const wrong = await cli([video, '--model', 'object-detector', '--sampling', 'often']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--sampling must be one of auto, exact, keyframes, got 'often'/);
  });

  it('an interrupted run over a folder, resumed, gives each file exactly once', async () => {
    const many = join(dir, 'many');
    await mkdir(many);
    for (let i = 0; i < 12; i++) {
      await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: i * 20, g: 100, b: 200 - i * 10 } } }).png().toFile(join(many, `img-${i}.png`));
    }
    const out = join(dir, 'many.jsonl');
    const child = spawn(process.execPath, ['dist/src/cli/main.js', 'score', many, '--model', 'object-detector', '--out', out, '--concurrency', '1'], { stdio: 'ignore' });
    await new Promise<void>((resolve) => {
      const poll = setInterval(async () => {
        const text = await readFile(out, 'utf8').catch(() => '');
        if (text.split('\n').filter(Boolean).length >= 3) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
    });
    await new Promise((r) => child.once('exit', r));
    const partial = (await readFile(out, 'utf8')).split('\n').filter(Boolean).length;
    expect(partial).toBeLessThan(12);
    const resumed = await cli([many, '--model', 'object-detector', '--out', out]);
    expect(resumed.code).toBe(0);
    const paths = (await readJsonl(out)).map((r) => r.path.split('/').pop()).sort();
    expect(paths).toEqual(Array.from({ length: 12 }, (_, i) => `img-${i}.png`).sort());
  });
});
