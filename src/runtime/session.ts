import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logging/logger.js';
import { SESSION_WORKER_SOURCE } from './session-worker-source.js';

export type Device = 'auto' | 'cpu' | 'cuda';
export type Provider = 'cuda' | 'cpu';

export interface TensorInfo {
  name: string;
  dtype: string;
  /** -1 for dynamic dimensions. */
  shape: number[];
}

/** A tensor crossing to or from the inference worker. */
export interface PlainTensor {
  readonly type: string;
  readonly data: Float32Array | Uint8Array | Uint16Array | Int32Array | BigInt64Array;
  readonly dims: readonly number[];
}

export interface SessionOptions {
  device: Device;
  /** Intra-op threads; 0 lets ONNX Runtime choose. */
  threads: number;
  /** Idle intra-op threads spin before sleeping (ONNX Runtime's default); default false. */
  spinning?: boolean;
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
export function ortSessionOptions(threads: number, spinning = false) {
  return {
    graphOptimizationLevel: 'all' as const,
    interOpNumThreads: 1,
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
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
  if (wantsCuda && !cudaPresent) {
    options.logger?.warn('CUDA execution provider not installed, using CPU', { model: modelPath, device: options.device });
  }
  const worker = new Worker(SESSION_WORKER_SOURCE, {
    eval: true,
    workerData: {
      ortPath: require.resolve('onnxruntime-node'),
      modelPath,
      providers: cudaPresent ? ['cuda', 'cpu'] : ['cpu'],
      sessionOptions: ortSessionOptions(options.threads, options.spinning),
    },
  });
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
    worker.once('message', (msg) => {
      worker.off('error', reject);
      if (msg.type === 'ready') resolve(msg);
      else reject(new Error(msg.message));
    });
  }).catch(async (err) => {
    await worker.terminate();
    throw err;
  });
  if (wantsCuda && cudaPresent && ready.provider !== 'cuda') {
    options.logger?.warn('CUDA execution provider unavailable, falling back to CPU', { model: modelPath, reason: ready.failures.join('; ') });
  }

  worker.on('message', (msg) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.type === 'result') p.resolve(msg.outputs);
    else p.reject(new Error(msg.message));
  });
  worker.on('error', (err) => failAll(err));
  worker.on('exit', (code) => failAll(new Error(`inference worker exited (code ${code})`)));

  return {
    provider: ready.provider,
    inputs: ready.inputs,
    outputs: ready.outputs,
    run(feeds, transfer = []) {
      if (dead) return Promise.reject(dead);
      return new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        worker.postMessage({ type: 'run', id, feeds }, [...transfer]);
      });
    },
    async release() {
      if (dead) return;
      await new Promise<void>((resolve) => {
        // Results of runs still in flight may arrive first: wait for 'released' itself.
        const onMessage = (msg: { type: string }) => msg.type === 'released' && done();
        const done = () => {
          worker.off('message', onMessage);
          resolve();
        };
        worker.on('message', onMessage);
        worker.once('exit', done);
        worker.postMessage({ type: 'release' });
      });
      await worker.terminate();
    },
  };
}
