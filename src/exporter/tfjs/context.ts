import type { OnnxBuilder } from '../onnx/builder.js';
import type { TfNode } from './model-json.js';
import type { DecodedWeight } from './weights.js';

/** What a per-op mapping function sees: the TF node, its inputs as ONNX names, the builder. */
export interface OpContext {
  readonly b: OnnxBuilder;
  readonly node: TfNode;
  /** ONNX name of the node's first output (same as the TF node name). */
  readonly output: string;
  /** Number of data (non-control) inputs. */
  readonly inputCount: number;
  /** ONNX tensor name of data input i; constants become initializers. */
  input(i: number): string;
  /** The constant value behind data input i; throws if it is computed. */
  constInput(i: number): DecodedWeight;
  /** Throws an importer error naming this node and op. */
  fail(message: string): never;
}

export type OpMapper = (ctx: OpContext) => void;

export class UnsupportedGraphError extends Error {
  constructor(readonly nodeName: string, readonly op: string, message: string) {
    super(`node '${nodeName}' (op ${op}): ${message}`);
    this.name = 'UnsupportedGraphError';
  }
}

/** NHWC <-> NCHW permutations: TF graphs are NHWC, ONNX Conv/Pool/Resize are NCHW. */
export const TO_NCHW = [0, 3, 1, 2];
export const TO_NHWC = [0, 2, 3, 1];
