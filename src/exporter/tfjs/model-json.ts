import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { decodeWeights, type DecodedWeight, type WeightGroup } from './weights.js';

/** A TF GraphDef node as TF.js stores it in model.json. */
export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

export interface TfAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { i?: Array<string | number>; s?: string[]; f?: number[] };
  shape?: { dim?: Array<{ size: string | number }>; unknownRank?: boolean };
}

export interface TfGraphModel {
  nodes: TfNode[];
  weights: Map<string, DecodedWeight>;
  signature?: {
    inputs?: Record<string, { name: string; tensorShape?: { dim?: Array<{ size: string }> } }>;
    outputs?: Record<string, { name: string }>;
  };
  /** sha256 over model.json followed by its weight shards, in manifest order. */
  sha256: string;
}

/** Reads a TF.js graph model (model.json plus its weight shards) from disk. */
export async function readTfjsGraphModel(modelJsonPath: string): Promise<TfGraphModel> {
  const jsonBytes = await readFile(modelJsonPath);
  const json = JSON.parse(jsonBytes.toString('utf8'));
  if (json.format !== 'graph-model' || !json.modelTopology?.node) {
    throw new Error(`${modelJsonPath} is not a TF.js graph model (format '${json.format}')`);
  }
  const hash = createHash('sha256').update(jsonBytes);
  const weights = new Map<string, DecodedWeight>();
  for (const group of (json.weightsManifest ?? []) as WeightGroup[]) {
    const shards = await Promise.all(group.paths.map((p) => readFile(join(dirname(modelJsonPath), p))));
    shards.forEach((s) => hash.update(s));
    for (const [name, w] of decodeWeights(group.weights, Buffer.concat(shards))) weights.set(name, w);
  }
  return { nodes: json.modelTopology.node, weights, signature: json.signature, sha256: hash.digest('hex') };
}

/** Decodes base64 string attributes (padding, data_format, fused_ops). */
export const attrString = (a: TfAttr | undefined): string | undefined => (a?.s === undefined ? undefined : Buffer.from(a.s, 'base64').toString('utf8'));
export const attrInts = (a: TfAttr | undefined): number[] => (a?.list?.i ?? []).map(Number);
export const attrStrings = (a: TfAttr | undefined): string[] => (a?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
export const attrBool = (a: TfAttr | undefined, fallback = false): boolean => a?.b ?? fallback;
