import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PreprocessSpec } from '../../preprocessing/index.js';
import { GOLDEN_INDEX, type ImageDecoder } from '../registry/index.js';
import { runSingle, type ModelSession } from '../runtime/index.js';

export { GOLDEN_INDEX, type ImageDecoder };

export interface GoldenOutput {
  name: string;
  dims: number[];
  dtype: string;
  file: string;
}

export interface GoldenRecord {
  input: string;
  outputs: GoldenOutput[];
}

/** Runs each golden input through the serving path's decode and preprocessing and ORT; stores raw outputs. */
export async function writeGoldenOutputs(
  versionDir: string,
  inputs: readonly string[],
  session: ModelSession,
  spec: PreprocessSpec,
  decode: ImageDecoder,
): Promise<GoldenRecord[]> {
  await mkdir(join(versionDir, 'golden', 'outputs'), { recursive: true });
  const records: GoldenRecord[] = [];
  for (const [i, input] of inputs.entries()) {
    const outputs = await runSingle(session, (await decode(await readFile(join(versionDir, input)), spec)).input);
    const stored: GoldenOutput[] = [];
    for (const [name, tensor] of Object.entries(outputs)) {
      const file = `golden/outputs/${i}.${name.replace(/[^\w.-]/g, '_')}.bin`;
      const data = tensor.data as unknown as ArrayBufferView;
      await writeFile(join(versionDir, file), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      stored.push({ name, dims: [...tensor.dims], dtype: tensor.type, file });
    }
    records.push({ input, outputs: stored });
  }
  await writeFile(join(versionDir, GOLDEN_INDEX), `${JSON.stringify(records, null, 2)}\n`);
  return records;
}
