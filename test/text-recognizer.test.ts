import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planResize } from '../preprocessing/index.js';
import type { RunningServer } from '../src/cli/serve.js';
import { ctcGreedyDecode } from '../src/tasks/ctc-text-recognition.js';
import { postRaw, startTestServer } from './helpers/server.js';
import { editDistance, renderedSet } from './helpers/text-lines.js';

let server: RunningServer;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-text-'));
  server = await startTestServer({ modelsDir: 'models', dataDir: dir });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('CTC greedy decoding', () => {
  const labels = ['blank', 'a', 'b', 'l'];
  const steps = (classes: number[], p = 0.9) => ({ dims: [1, classes.length, 4], data: classes.flatMap((c) => labels.map((_, j) => (j === c ? p : (1 - p) / 3))) });
  it('collapses repeats, drops blanks, and a blank between two equal classes keeps both', () => {
    expect(ctcGreedyDecode(steps([1, 1, 0, 2, 2, 3, 0, 3, 0]), labels).text).toBe('abll');
    expect(ctcGreedyDecode(steps([0, 0, 0]), labels)).toEqual({ text: '', confidence: 0 });
    expect(ctcGreedyDecode(steps([1], 0.8), labels).confidence).toBeCloseTo(0.8, 6);
  });
  it('refuses a dictionary that does not match the output', () => {
    expect(() => ctcGreedyDecode(steps([1]), labels.slice(0, 3))).toThrow(/4 classes/);
  });
});

describe('fit-height preprocessing', () => {
  const spec = { mode: 'fit-height' as const, height: 48, maxWidth: 960, widthMultipleOf: 64, padValue: 128 };
  it('keeps the aspect ratio at height 48 and pads the width to a bucket, bounded', () => {
    const plan = planResize(spec, 420, 64); // 315 x 48, padded to 320
    expect([plan.contentWidth, plan.contentHeight, plan.transform.inputWidth, plan.pad.right]).toEqual([315, 48, 320, 5]);
    expect(planResize(spec, 5000, 40).transform.inputWidth).toBe(960);
    // Lines of similar width share an input width, so they share a batch.
    expect(planResize(spec, 400, 60).transform.inputWidth).toBe(planResize(spec, 410, 62).transform.inputWidth);
  });
});

describe('text-recognizer on rendered lines', () => {
  it('reads the rendered set: character error rate at most 5%, at least 90% of lines exactly', async () => {
    const set = await renderedSet();
    const read: Array<(typeof set)[number] & { got: string }> = [];
    // Four at a time: the batcher groups lines of one width bucket, within its queue limit.
    for (let i = 0; i < set.length; i += 4) {
      read.push(...(await Promise.all(set.slice(i, i + 4).map(async (line) => {
        const { status, body } = await postRaw(`${server.url}/v1/models/text-recognizer/predict`, line.png, 'image/png');
        expect(status, JSON.stringify(body)).toBe(200);
        return { ...line, got: (body.detections[0]?.text as string | undefined) ?? '' };
      }))));
    }
    const errors = read.reduce((sum, r) => sum + editDistance(r.got, r.text), 0);
    const chars = read.reduce((sum, r) => sum + r.text.length, 0);
    const exact = read.filter((r) => r.got === r.text).length;
    const cer = errors / chars;
    console.log(`text-recognizer: ${read.length} lines, CER ${(cer * 100).toFixed(2)}%, exact ${exact}/${read.length}; misread: ${JSON.stringify(read.filter((r) => r.got !== r.text).map((r) => [r.text, r.got, r.style]))}`);
    expect(cer).toBeLessThanOrEqual(0.05);
    expect(exact / read.length).toBeGreaterThanOrEqual(0.9);
  });
});
