import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Loads a TF.js graph model from disk into @tensorflow/tfjs' pure-JS CPU backend (the reference). */
export async function loadTfjsReference(modelJsonPath: string): Promise<tf.GraphModel> {
  await tf.setBackend('cpu');
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8'));
  const group = json.weightsManifest[0];
  const shards = await Promise.all(group.paths.map((p: string) => readFile(join(dirname(modelJsonPath), p))));
  const bin = Buffer.concat(shards);
  return tf.loadGraphModel({
    load: async () => ({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights),
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
      format: json.format,
      signature: json.signature,
    }),
  });
}

/** Runs the reference on one NHWC float32 input and returns the named outputs. */
export async function runTfjsReference(model: tf.GraphModel, input: Float32Array, dims: number[], outputs: string[]) {
  const x = tf.tensor(input, dims);
  const result = model.execute(x, outputs) as tf.Tensor[];
  const values = await Promise.all(result.map(async (t) => ({ data: (await t.data()) as Float32Array, dims: t.shape as number[], type: 'float32' })));
  tf.dispose([x, ...result]);
  return Object.fromEntries(outputs.map((name, i) => [name, values[i]]));
}
