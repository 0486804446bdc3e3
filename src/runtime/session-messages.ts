/** The protocol between a ModelSession (main thread) and its inference worker thread. */

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

export type Provider = 'cuda' | 'cpu';

/** What the worker needs to open its session (its workerData). */
export interface SessionWorkerData {
  modelPath: string;
  /** Tried in order; the first that opens wins. */
  providers: Provider[];
  /** ONNX Runtime session options, without the execution providers. */
  sessionOptions: Record<string, unknown>;
}

/** Main thread to worker. */
export type ToWorker =
  | { type: 'run'; id: number; feeds: Record<string, PlainTensor> }
  | { type: 'release' };

/** Worker to main thread. */
export type FromWorker =
  | { type: 'ready'; provider: Provider; failures: string[]; inputs: TensorInfo[]; outputs: TensorInfo[] }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; outputs: Record<string, PlainTensor> }
  | { type: 'error'; id: number; message: string }
  | { type: 'released' };
