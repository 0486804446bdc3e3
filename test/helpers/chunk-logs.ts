import { expect } from 'vitest';
import { WORKER_ID } from '../../src/pipeline/index.js';
import type { LogLine } from './server.js';

/** Both modes log each chunk's start and finish at info, with job, chunk, frames, duration and this worker. */
export function expectChunkLogs(lines: readonly LogLine[], jobId: string, chunks: number[], frames: number): void {
  const started = lines.filter((l) => l.msg === 'video chunk started' && l.jobId === jobId);
  const finished = lines.filter((l) => l.msg === 'video chunk finished' && l.jobId === jobId);
  expect(started.map((l) => l.chunk).sort()).toEqual(chunks);
  expect(finished.map((l) => l.chunk).sort()).toEqual(chunks);
  for (const l of [...started, ...finished]) expect(l).toMatchObject({ level: 'info', worker: WORKER_ID });
  expect(finished.reduce((n, l) => n + (l.frames as number), 0)).toBe(frames);
  for (const l of finished) expect(l.durationMs).toBeGreaterThan(0);
}
