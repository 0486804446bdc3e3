import type { ModelInput } from '../../preprocessing/index.js';
import { sessionPool, type LazySession } from '../registry/index.js';
import { createBatcher, createSession, type Device, type GraphSettings, type ModelSession } from '../runtime/index.js';

/** One set of settings `tune` measures: ONNX Runtime's graph and threads, the batcher's batch and instances, and the model file. */
export interface Candidate {
  id: string;
  graph: Required<GraphSettings>;
  /** The first session's intra-op threads. */
  intraOpThreads: number;
  /** Sessions (CPU: one per instance, as the server runs them); each after the first on instanceThreads. */
  instances: number;
  instanceThreads: number;
  maxBatchSize: number;
  variant: 'copy' | 'int8';
}

export interface Figures {
  imagesPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Process CPU (every thread) per image. */
  cpuMsPerImage: number;
  /** images/s of each round, in order: the spread shows the noise. */
  rounds: number[];
}

export interface MeasureSettings {
  device: Device;
  /** Requests in flight at once, as HTTP clients would keep them. */
  concurrency: number;
  secondsPerRound: number;
  rounds: number;
}

/** A candidate opened for measuring: its session behind a batcher with its settings. */
export interface OpenCandidate {
  candidate: Candidate;
  session: ModelSession;
  run(input: ModelInput): Promise<unknown>;
}

/** An open session as a member of a session pool (registry/session-pool.ts). */
const alreadyOpen = (session: ModelSession): LazySession => ({ open: () => undefined, current: () => session, release: () => session.release() });

/** Opens a candidate as the server would serve it: on CPU one session per instance, all opened now. */
export async function openCandidate(candidate: Candidate, modelPath: string, device: Device): Promise<OpenCandidate> {
  const openOne = (threads: number) => createSession(modelPath, { device, threads, graph: candidate.graph });
  const first = await openOne(candidate.intraOpThreads);
  const more = first.provider === 'cpu' ? await Promise.all(Array.from({ length: candidate.instances - 1 }, () => openOne(candidate.instanceThreads))) : [];
  const session = more.length > 0 ? sessionPool(first, more.map(alreadyOpen)) : first;
  const batcher = createBatcher(session, {
    maxBatchSize: candidate.maxBatchSize, bulkMaxBatchSize: 1, maxQueueDelayMs: 2, maxQueueSize: 1024, timeoutMs: 0, instances: candidate.instances,
  });
  return { candidate, session, run: (input) => batcher.run(input) };
}

const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/** One round: `concurrency` callers each send the next input as soon as their last one is answered. */
async function round(open: OpenCandidate, inputs: readonly ModelInput[], concurrency: number, seconds: number) {
  const latencies: number[] = [];
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const started = performance.now();
      await open.run(inputs[next++ % inputs.length]);
      latencies.push(performance.now() - started);
    }
  }));
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { latencies, wallS, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * Measures candidates side by side: every round runs each of them in turn (in a rotating
 * order), so the machine's noise falls on all of them alike. Figures are the median round's
 * images/s and the latencies of all rounds together.
 */
export async function measureSideBySide(opened: readonly OpenCandidate[], inputs: readonly ModelInput[], s: MeasureSettings): Promise<Figures[]> {
  for (const o of opened) for (const input of inputs.slice(0, 2)) await o.run(input); // warm-up
  const runs = opened.map(() => ({ latencies: [] as number[], rounds: [] as number[], cpuMs: 0, images: 0 }));
  for (let r = 0; r < s.rounds; r++) {
    for (let k = 0; k < opened.length; k++) {
      const i = (k + r) % opened.length;
      const got = await round(opened[i], inputs, s.concurrency, s.secondsPerRound);
      runs[i].latencies.push(...got.latencies);
      runs[i].rounds.push(got.latencies.length / got.wallS);
      runs[i].cpuMs += got.cpuMs;
      runs[i].images += got.latencies.length;
    }
  }
  return runs.map((run) => {
    const sorted = [...run.latencies].sort((a, b) => a - b);
    const rounds = [...run.rounds].sort((a, b) => a - b);
    return {
      imagesPerS: quantile(rounds, 0.5),
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
      cpuMsPerImage: run.cpuMs / Math.max(1, run.images),
      rounds: run.rounds,
    };
  });
}
