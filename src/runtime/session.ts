import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Logger } from '../logging/logger.js';

export type Device = 'auto' | 'cpu' | 'cuda';
export type Provider = 'cuda' | 'cpu';

export interface TensorInfo {
  name: string;
  dtype: string;
  /** -1 for dynamic dimensions. */
  shape: number[];
}

export interface SessionOptions {
  device: Device;
  /** Intra-op threads; 0 lets ONNX Runtime choose. */
  threads: number;
  logger?: Logger;
}

/** One ONNX Runtime session and the execution provider it actually runs on. */
export interface ModelSession {
  readonly provider: Provider;
  readonly inputs: TensorInfo[];
  readonly outputs: TensorInfo[];
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

function describe(meta: readonly ort.InferenceSession.ValueMetadata[]): TensorInfo[] {
  return meta.map((m) =>
    m.isTensor
      ? { name: m.name, dtype: m.type, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) }
      : { name: m.name, dtype: 'non-tensor', shape: [] },
  );
}

/** True when onnxruntime-node was installed with its CUDA provider libraries (the GPU image). */
export function cudaProviderInstalled(): boolean {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    const bin = join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
    return existsSync(join(bin, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

/**
 * Opens a session. With device 'auto' or 'cuda' it tries the CUDA provider first and
 * falls back to CPU with a logged warning when CUDA is not available.
 */
export async function createSession(modelPath: string, options: SessionOptions): Promise<ModelSession> {
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    interOpNumThreads: 1,
    ...(options.threads > 0 ? { intraOpNumThreads: options.threads } : {}),
  };
  let session: ort.InferenceSession | undefined;
  let provider: Provider = 'cpu';
  if (options.device !== 'cpu' && !cudaProviderInstalled()) {
    options.logger?.warn('CUDA execution provider not installed, using CPU', { model: modelPath, device: options.device });
  } else if (options.device !== 'cpu') {
    try {
      session = await ort.InferenceSession.create(modelPath, { ...base, executionProviders: ['cuda'] });
      provider = 'cuda';
    } catch (err) {
      options.logger?.warn('CUDA execution provider unavailable, falling back to CPU', {
        model: modelPath,
        device: options.device,
        reason: (err as Error).message,
      });
    }
  }
  session ??= await ort.InferenceSession.create(modelPath, { ...base, executionProviders: ['cpu'] });
  const handle = session;
  return {
    provider,
    inputs: describe(handle.inputMetadata),
    outputs: describe(handle.outputMetadata),
    run: (feeds) => handle.run(feeds) as Promise<Record<string, ort.Tensor>>,
    release: () => handle.release(),
  };
}

export { ort };
