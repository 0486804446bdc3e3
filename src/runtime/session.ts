import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { compiledModule } from '../config/paths.js';
import { FramewatchError } from '../errors/index.js';
import type { Logger } from '../logging/logger.js';
import { metrics } from '../metrics/index.js';
import type { FromWorker, PlainTensor, Provider, SessionWorkerData, TensorInfo, ToWorker } from './session-messages.js';

export type Device = 'auto' | 'cpu' | 'cuda';
export type { PlainTensor, Provider, TensorInfo } from './session-messages.js';

/** ONNX Runtime graph and scheduling settings a version was tuned with (unset: framewatch's defaults). */
export interface GraphSettings {
  graphOptimizationLevel?: 'basic' | 'extended' | 'all';
  executionMode?: 'sequential' | 'parallel';
  interOpThreads?: number;
}

export interface SessionOptions {
  device: Device;
  /** Intra-op threads; unset lets ONNX Runtime choose. */
  threads?: number;
  /** Idle intra-op threads spin before sleeping (ONNX Runtime's default); default false. */
  spinning?: boolean;
  graph?: GraphSettings;
  logger?: Logger;
}

/** One ONNX Runtime session, in its own worker thread, and the provider it actually runs on. */
export interface ModelSession {
  readonly provider: Provider;
  readonly inputs: TensorInfo[];
  readonly outputs: TensorInfo[];
  /**
   * Runs the model. Feeds are copied to the worker, except the buffers listed in `transfer`:
   * those move without a copy and are unusable (detached) here afterwards.
   */
  run(feeds: Record<string, PlainTensor>, transfer?: readonly ArrayBuffer[]): Promise<Record<string, PlainTensor>>;
  release(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** True when onnxruntime-node was installed with its CUDA provider libraries (the GPU image). */
export function cudaProviderInstalled(): boolean {
  try {
    const bin = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
    return existsSync(join(bin, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

/** The ONNX Runtime session options every framewatch session gets (the bench reuses them). */
export function ortSessionOptions(threads?: number, spinning = false, graph: GraphSettings = {}) {
  return {
    graphOptimizationLevel: graph.graphOptimizationLevel ?? 'all',
    executionMode: graph.executionMode ?? 'sequential',
    interOpNumThreads: graph.interOpThreads ?? 1,
    ...(threads ? { intraOpNumThreads: threads } : {}),
    ...(spinning ? {} : { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
  };
}

/**
 * Opens a session in a worker thread. With device 'auto' or 'cuda' it tries the CUDA provider
 * first and falls back to CPU with a logged warning when CUDA is not available.
 */
export async function createSession(modelPath: string, options: SessionOptions): Promise<ModelSession> {
  const wantsCuda = options.device !== 'cpu';
  const cudaPresent = wantsCuda && cudaProviderInstalled();
  // Asked for by name: say so per model. With 'auto', the start-up line says it once.
  if (options.device === 'cuda' && !cudaPresent) {
    options.logger?.warn('CUDA execution provider not installed, using CPU', { model: modelPath, device: options.device });
  }
  const workerData: SessionWorkerData = {
    modelPath,
    providers: cudaPresent ? ['cuda', 'cpu'] : ['cpu'],
    sessionOptions: ortSessionOptions(options.threads, options.spinning, options.graph),
  };
  const worker = new Worker(compiledModule(import.meta.url, './session-worker.js', 'src/runtime/session-worker.js'), { workerData });
  // Counted from the thread's start to its exit, whatever ends it: a leaked session shows.
  metrics.sessionsOpen.inc();
  worker.once('exit', () => metrics.sessionsOpen.dec());
  const post = (msg: ToWorker, transfer: readonly ArrayBuffer[] = []) => worker.postMessage(msg, [...transfer]);
  const pending = new Map<number, { resolve(v: Record<string, PlainTensor>): void; reject(e: Error): void }>();
  let nextId = 0;
  let dead: Error | undefined;
  const failAll = (err: Error) => {
    dead = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  const ready = await new Promise<{ provider: Provider; failures: string[]; inputs: TensorInfo[]; outputs: TensorInfo[] }>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (msg: FromWorker) => {
      worker.off('error', reject);
      if (msg.type === 'ready') resolve(msg);
      else reject(new FramewatchError('MODEL_NOT_READY', msg.type === 'failed' ? msg.message : `unexpected '${msg.type}' from the inference worker`));
    });
  }).catch(async (err: Error) => {
    await worker.terminate();
    throw err instanceof FramewatchError ? err : new FramewatchError('MODEL_NOT_READY', `the inference worker did not start: ${err.message}`, undefined, { cause: err });
  });
  if (wantsCuda && cudaPresent && ready.provider !== 'cuda') {
    options.logger?.warn('CUDA execution provider unavailable, falling back to CPU', { model: modelPath, reason: ready.failures.join('; ') });
  }

  worker.on('message', (msg: FromWorker) => {
    if (msg.type !== 'result' && msg.type !== 'error') return;
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.type === 'result') p.resolve(msg.outputs);
    else p.reject(new FramewatchError('INFERENCE_FAILED', msg.message));
  });
  worker.on('error', (err) => failAll(new FramewatchError('INFERENCE_FAILED', `inference worker failed: ${err.message}`, undefined, { cause: err })));
  worker.on('exit', (code) => failAll(new FramewatchError('INFERENCE_FAILED', `inference worker exited (code ${code})`)));

  return {
    provider: ready.provider,
    inputs: ready.inputs,
    outputs: ready.outputs,
    run(feeds, transfer = []) {
      if (dead) return Promise.reject(dead);
      return new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        post({ type: 'run', id, feeds }, transfer);
      });
    },
    async release() {
      if (dead) return;
      await new Promise<void>((resolve) => {
        // Results of runs still in flight may arrive first: wait for 'released' itself.
        const onMessage = (msg: FromWorker) => msg.type === 'released' && done();
        const done = () => {
          worker.off('message', onMessage);
          resolve();
        };
        worker.on('message', onMessage);
        worker.once('exit', done);
        post({ type: 'release' });
      });
      await worker.terminate();
    },
  };
}
