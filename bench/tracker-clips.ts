// Person tracks on real clips with the real detector (issue 24): posts each clip to a real
// `framewatch serve` at the API's defaults and prints how many person tracks come back and how
// long they last. `BENCH_TRACKER_FRAMES=dir` also writes each answer's frames and tracks there.
// Run: `tsc -p bench/tsconfig.tracker.json && node dist/bench/tracker-clips.js`.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { startServer } from './processes.js';

const CLIPS = ['test/fixtures/crossings.mp4', 'test/fixtures/Megamind.avi', 'test/fixtures/busy-campus.mp4'];

interface Answer {
  frames: Array<{ timeS: number; detections: Array<{ label: string; score: number }> }>;
  tracks: Array<{ id: number; label: string; startS: number; endS: number; hits: number }>;
  segments: unknown[];
}

/** Posts one clip as multipart and returns the parsed answer. */
async function predict(url: string, path: string): Promise<Answer> {
  const form = new FormData();
  form.append('file', new Blob([await readFile(path)]), basename(path));
  const res = await fetch(`${url}/v1/models/object-detector/predict?labels=person`, { method: 'POST', body: form });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Answer;
}

const quantiles = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]?.toFixed(1) ?? '-';
  return `min ${at(0)} / median ${at(0.5)} / max ${at(1)} s`;
};

export async function trackerClips(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'framewatch-tracker-bench-'));
  const server = await startServer({ FRAMEWATCH_DATA_DIR: join(dir, 'data') });
  try {
    for (const clip of CLIPS) {
      const answer = await predict(server.url, clip);
      const people = answer.tracks.filter((t) => t.label === 'person');
      const scores = answer.frames.flatMap((f) => f.detections.filter((d) => d.label === 'person').map((d) => d.score));
      console.log(
        `${basename(clip)}: ${answer.frames.length} frames, ${people.length} person tracks (${quantiles(people.map((t) => t.endS - t.startS))}),` +
          ` ${answer.tracks.length} tracks of any label, ${answer.segments.length} person segments; person scores ${quantiles(scores).replace(/ s$/, '')}`,
      );
      for (const t of people) console.log(`  person #${t.id}: ${t.startS}-${t.endS} s, ${t.hits} hits`);
      const out = process.env.BENCH_TRACKER_FRAMES;
      if (out) await writeFile(join(out, `${basename(clip)}.json`), JSON.stringify(answer));
    }
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await trackerClips();
